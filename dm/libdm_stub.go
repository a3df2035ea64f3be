//go:build !(linux && cgo)

package dm

// Without cgo (or off Linux) there is no libdevmapper: every device call
// fails with ErrUnsupported, and the pure-Go table helpers still work.

func libInit()                       {}
func libRelease()                    {}
func libSetUdevSync(bool) bool       { return false }
func libCreate(string, string) error { return ErrUnsupported }
func libLoad(string, []Target, bool) error {
	return ErrUnsupported
}
func libResume(string, bool) (uint32, error)       { return 0, ErrUnsupported }
func libRemove(string, bool, bool) (uint32, error) { return 0, ErrUnsupported }
func libUdevWaitImmediate(uint32) (bool, error)    { return true, nil }
func libUdevAbandon(uint32)                        {}
func libUdevFlush()                                {}
func libMknodes(string) error                      { return ErrUnsupported }
func libInfo(string) (Info, error)                 { return Info{}, ErrUnsupported }
func libTable(string, bool) ([]Target, error)      { return nil, ErrUnsupported }
func libList() ([]DeviceEntry, error)              { return nil, ErrUnsupported }
func libVersions() ([]TargetVersion, error)        { return nil, ErrUnsupported }
