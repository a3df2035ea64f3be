package volume

import "github.com/caamcrypt/caamcrypt/dm"

// dmMapper is Mapper over package dm (libdevmapper; it traces its calls).
type dmMapper struct{}

func (dmMapper) Create(name string, targets []dm.Target, opts dm.CreateOptions) error {
	return dm.Create(name, targets, opts)
}
func (dmMapper) Remove(name string, opts dm.RemoveOptions) error { return dm.Remove(name, opts) }
func (dmMapper) Info(name string) (dm.Info, error)               { return dm.GetInfo(name) }
func (dmMapper) Table(name string) ([]dm.Target, error)          { return dm.Table(name) }
func (dmMapper) List() ([]dm.DeviceEntry, error)                 { return dm.List() }
func (dmMapper) NodePath(name string) string                     { return dm.NodePath(name) }
