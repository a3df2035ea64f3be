package caamc

import "fmt"

// Kind tells a black key from a blob. The tag's blob bit cannot: the driver
// gives a blob the type of its key, so ParseObject decides by length, which
// is unambiguous because for a given red length and encryption the two
// formulas never agree (a blob is always at least 48 bytes larger).
type Kind uint8

const (
	// KindBlackKey is a tagged black key: what dm-crypt's tk(cbc(aes)) takes
	// through a logon key. Valid only until the next power-on reset.
	KindBlackKey Kind = iota + 1
	// KindBlob is a tagged blob: the durable form, imported at every boot.
	KindBlob
)

// String is "black-key" or "blob".
func (k Kind) String() string {
	switch k {
	case KindBlackKey:
		return "black-key"
	case KindBlob:
		return "blob"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Object is a validated tagged object: a header and the bytes it covers.
type Object struct {
	Tag  Tag
	Data []byte // ObjLen bytes, a copy of the input
}

// ParseObject validates b as a whole tagged black key or blob file: header
// present, magic and version right, red key length 16..64, black color,
// obj_len equal to the bytes that follow, and obj_len equal to the black key
// formula or the blob formula for that red length and encryption. Every
// failure wraps ErrBadTag and says which check failed.
func ParseObject(b []byte) (*Object, error) {
	t, err := checkObject(b)
	if err != nil {
		return nil, err
	}
	data := make([]byte, len(b)-TagSize)
	copy(data, b[TagSize:])
	return &Object{Tag: t, Data: data}, nil
}

// checkObject validates b as ParseObject does and returns its tag. It
// copies nothing, so checking a black key leaves no copy of it behind.
func checkObject(b []byte) (Tag, error) {
	t, err := ParseTag(b)
	if err != nil {
		return Tag{}, err
	}
	if t.Magic != TagMagic {
		return Tag{}, fmt.Errorf("%w: bad tag magic %#08x, want %#08x (\"TagO\"): not a CAAM black key or blob",
			ErrBadTag, t.Magic, TagMagic)
	}
	if t.Version != 0 {
		return Tag{}, fmt.Errorf("%w: unsupported tag version %d, want 0", ErrBadTag, t.Version)
	}
	if t.RedKeyLen < MinKeySize || t.RedKeyLen > MaxKeySize {
		return Tag{}, fmt.Errorf("%w: red key length %d in tag, want %d..%d", ErrBadTag, t.RedKeyLen, MinKeySize, MaxKeySize)
	}
	if !t.Type.Black() {
		return Tag{}, fmt.Errorf("%w: object is tagged red (type %v): caam-keygen makes only black keys and blobs",
			ErrBadTag, t.Type)
	}
	body := len(b) - TagSize
	switch {
	case uint64(body) < uint64(t.ObjLen):
		return Tag{}, fmt.Errorf("%w: tagged object truncated: %d bytes, header says %d",
			ErrBadTag, len(b), uint64(t.ObjLen)+TagSize)
	case uint64(body) > uint64(t.ObjLen):
		return Tag{}, fmt.Errorf("%w: tagged object has %d bytes after its end: %d bytes, header says %d",
			ErrBadTag, uint64(body)-uint64(t.ObjLen), len(b), uint64(t.ObjLen)+TagSize)
	}
	if _, err := kindOf(t); err != nil {
		return Tag{}, err
	}
	return t, nil
}

// kindOf decides key or blob from obj_len and checks it against the formulas.
func kindOf(t Tag) (Kind, error) {
	l := int(t.RedKeyLen)
	enc := t.Type.Encryption()
	keySize, blobSize := BlackKeySize(enc, l), BlobSize(l)
	switch {
	case t.Type.Blob() && int64(t.ObjLen) != int64(blobSize):
		return 0, fmt.Errorf("%w: blob of a %d-byte key is %d bytes, want %d", ErrBadTag, l, t.ObjLen, blobSize)
	case int64(t.ObjLen) == int64(blobSize):
		return KindBlob, nil
	case int64(t.ObjLen) == int64(keySize):
		return KindBlackKey, nil
	}
	return 0, fmt.Errorf("%w: object of %d bytes fits neither a %d-byte %s black key (%d) nor its blob (%d)",
		ErrBadTag, t.ObjLen, l, enc, keySize, blobSize)
}

// Kind is KindBlackKey or KindBlob (0 for an Object not from ParseObject
// whose sizes break the formulas).
func (o *Object) Kind() Kind {
	k, _ := kindOf(o.Tag)
	return k
}

// Encryption is the black key's encryption (for a blob: of the key inside).
func (o *Object) Encryption() Encryption { return o.Tag.Type.Encryption() }

// Bytes encodes the object as a file: tag then data. For an object from
// ParseObject this returns the input bytes again.
func (o *Object) Bytes() []byte {
	b := make([]byte, 0, TagSize+len(o.Data))
	return append(o.Tag.AppendTo(b), o.Data...)
}
