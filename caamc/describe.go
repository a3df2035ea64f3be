package caamc

// Description is the JSON-friendly summary of an Object, for
// `caamcrypt key info --json`. It holds sizes and type fields only, never
// object bytes.
type Description struct {
	Kind          string `json:"kind"`       // "black-key" or "blob"
	Color         string `json:"color"`      // "black" or "red"
	Encryption    string `json:"encryption"` // "ecb" or "ccm"
	KEK           string `json:"kek"`        // "JDKEK" or "TDKEK"
	Memory        string `json:"memory"`     // "general" or "secure"
	SecurityState uint8  `json:"security_state"`
	Type          uint32 `json:"type"` // raw tag type word
	RedKeyLen     int    `json:"red_key_len"`
	ObjectLen     int    `json:"object_len"`
	FileLen       int    `json:"file_len"`
	// DMKeyLen is the <len> of a dm-crypt ":<len>:logon:<desc>" key for a
	// black key: the whole tagged key (36 for a 16-byte ECB key, not 32).
	// Zero for a blob, which dm-crypt cannot use.
	DMKeyLen int `json:"dm_key_len,omitempty"`
}

// Describe summarizes o.
func (o *Object) Describe() Description {
	t := o.Tag.Type
	d := Description{
		Kind:          o.Kind().String(),
		Color:         t.colorName(),
		Encryption:    t.Encryption().String(),
		KEK:           t.kekName(),
		Memory:        t.memoryName(),
		SecurityState: t.SecState(),
		Type:          uint32(t),
		RedKeyLen:     int(o.Tag.RedKeyLen),
		ObjectLen:     int(o.Tag.ObjLen),
		FileLen:       TagSize + len(o.Data),
	}
	if o.Kind() == KindBlackKey {
		d.DMKeyLen = d.FileLen
	}
	return d
}
