package dm

// GetInfo returns the state of device name; a missing device gives
// Info{Exists: false} and no error.
func GetInfo(name string) (Info, error) {
	if err := validateName(name); err != nil {
		return Info{}, &Error{Op: "get info of", Name: name, Err: err}
	}
	end := begin()
	defer end()
	in, err := libInfo(name)
	if err != nil {
		return Info{}, &Error{Op: "get info of", Name: name, Err: err}
	}
	return in, nil
}

// Table returns the live table of device name, with the keys of crypt
// targets redacted (RedactParams): the kernel prints hex keys in full.
// A missing device is an error wrapping ErrNotFound.
func Table(name string) ([]Target, error) {
	return table(name, false)
}

// Status returns the status line of each target of device name (what
// "dmsetup status" prints); it holds no keys. A missing device is an error
// wrapping ErrNotFound.
func Status(name string) ([]Target, error) {
	return table(name, true)
}

func table(name string, status bool) ([]Target, error) {
	op := "get table of"
	if status {
		op = "get status of"
	}
	if err := validateName(name); err != nil {
		return nil, &Error{Op: op, Name: name, Err: err}
	}
	end := begin()
	defer end()
	tbl, err := libTable(name, status)
	if err != nil {
		return nil, &Error{Op: op, Name: name, Err: err}
	}
	if !status {
		for i := range tbl {
			tbl[i] = redactTarget(tbl[i])
		}
	}
	return tbl, nil
}

// List returns every device-mapper device.
func List() ([]DeviceEntry, error) {
	end := begin()
	defer end()
	l, err := libList()
	if err != nil {
		return nil, &Error{Op: "list devices", Err: err}
	}
	return l, nil
}

// Versions returns the target types the kernel has loaded, with their
// versions. A type whose module is not loaded yet (dm-crypt before its
// first table) is missing here although the kernel loads it on demand.
func Versions() ([]TargetVersion, error) {
	end := begin()
	defer end()
	v, err := libVersions()
	if err != nil {
		return nil, &Error{Op: "list target versions", Err: err}
	}
	return v, nil
}

// FindTarget returns the entry of target type name in versions.
func FindTarget(versions []TargetVersion, name string) (TargetVersion, bool) {
	for _, v := range versions {
		if v.Name == name {
			return v, true
		}
	}
	return TargetVersion{}, false
}
