package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"

	"github.com/caamcrypt/caamcrypt/dm"
	"github.com/caamcrypt/caamcrypt/internal/keyring"
	"golang.org/x/sys/unix"
)

// tableFlags are the flags shared by map and load.
type tableFlags struct {
	name, device, desc, cipher string
	sectorSize                 int
}

func (t *tableFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&t.name, "name", "", "device-mapper name")
	fs.StringVar(&t.device, "device", "", "backing block device")
	fs.StringVar(&t.desc, "desc", "", "logon key description (\"prefix:rest\")")
	// A software cipher: the rig has no CAAM unless the simulator is loaded.
	fs.StringVar(&t.cipher, "cipher", "capi:cbc(aes)-plain64", "dm-crypt cipher")
	fs.IntVar(&t.sectorSize, "sector-size", 512, "encryption sector size")
}

// create loads a crypt table over the whole device naming logon key desc
// of keyLen bytes, then checks the node exists the moment Create returns.
func (t *tableFlags) create(keyLen int) error {
	if t.name == "" || t.device == "" || t.desc == "" {
		return fmt.Errorf("-name, -device and -desc are required")
	}
	sectors, err := deviceSectors(t.device)
	if err != nil {
		return err
	}
	p := dm.CryptParams{
		Cipher: t.cipher, Key: dm.LogonKeySpec(keyLen, t.desc),
		Device: t.device, Options: []string{"sector_size:" + strconv.Itoa(t.sectorSize)},
	}
	if err := p.Validate(); err != nil {
		return err
	}
	fmt.Printf("dmcheck: table: 0 %d crypt %s\n", sectors, p.Redacted())
	if err := dm.Create(t.name, []dm.Target{{Start: 0, Length: sectors, Type: "crypt", Params: p.String()}}, dm.CreateOptions{}); err != nil {
		return fmt.Errorf("create %s: %w", t.name, err)
	}
	fmt.Printf("dmcheck: created %s\n", t.name)
	return checkNode(t.name)
}

// checkNode reports whether /dev/mapper/<name> is a block device right now:
// the promise dm.Create makes with or without udev (docs/caam-abi.md §7).
func checkNode(name string) error {
	var st unix.Stat_t
	node := dm.NodePath(name)
	if err := unix.Stat(node, &st); err != nil {
		return fmt.Errorf("node %s missing after create returned: %w", node, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return fmt.Errorf("node %s is not a block device (mode %o)", node, st.Mode)
	}
	fmt.Printf("dmcheck: node-present %s %d:%d\n", node, unix.Major(st.Rdev), unix.Minor(st.Rdev))
	return nil
}

// deviceSectors returns the size of a block device in 512-byte sectors
// (BLKGETSIZE64 gives bytes).
func deviceSectors(dev string) (uint64, error) {
	fd, err := unix.Open(dev, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", dev, err)
	}
	defer unix.Close(fd)
	var size uint64
	if err := ioctlGetSize64(fd, &size); err != nil {
		return 0, fmt.Errorf("size of %s: %w", dev, err)
	}
	return size / 512, nil
}

func cmdMap(args []string) error {
	fs := flag.NewFlagSet("map", flag.ExitOnError)
	var t tableFlags
	t.register(fs)
	keyFile := fs.String("key-file", "", "file holding the raw key bytes")
	ringName := fs.String("ring", "@u", "keyring for the key")
	keep := fs.Bool("keep-key", false, "leave the key in the keyring after the load")
	fs.Parse(args)
	ring, err := keyring.ParseRing(*ringName)
	if err != nil {
		return err
	}
	key, err := os.ReadFile(*keyFile)
	if err != nil {
		return err
	}
	defer clear(key)
	id, err := keyring.AddLogon(t.desc, key, ring)
	if err != nil {
		return err
	}
	fmt.Printf("dmcheck: key %s added to %s\n", t.desc, ring)
	if err := t.create(len(key)); err != nil {
		return err
	}
	if *keep {
		return nil
	}
	// dm-crypt holds its own copy of the key once the table is loaded.
	if err := keyring.Unlink(id, ring); err != nil {
		return fmt.Errorf("unlink key %s: %w", t.desc, err)
	}
	fmt.Printf("dmcheck: key %s unlinked from %s\n", t.desc, ring)
	return nil
}

func cmdLoad(args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	var t tableFlags
	t.register(fs)
	keySize := fs.Int("key-size", 32, "payload length of the key named by -desc")
	fs.Parse(args)
	if _, err := keyring.Lookup("logon", t.desc); err != nil {
		fmt.Printf("dmcheck: lookup %s from this process: %v\n", t.desc, err)
	} else {
		fmt.Printf("dmcheck: lookup %s from this process: found\n", t.desc)
	}
	return t.create(*keySize)
}

func cmdUnmap(args []string) error {
	fs := flag.NewFlagSet("unmap", flag.ExitOnError)
	name := fs.String("name", "", "device-mapper name")
	fs.Parse(args)
	if err := dm.Remove(*name, dm.RemoveOptions{}); err != nil {
		return err
	}
	if _, err := os.Stat(dm.NodePath(*name)); err == nil {
		return fmt.Errorf("node %s still present after remove", dm.NodePath(*name))
	}
	fmt.Printf("dmcheck: removed %s\n", *name)
	return nil
}

func cmdInfo(args []string) error {
	fs := flag.NewFlagSet("info", flag.ExitOnError)
	name := fs.String("name", "", "device-mapper name")
	fs.Parse(args)
	info, err := dm.GetInfo(*name)
	if err != nil {
		return err
	}
	fmt.Printf("dmcheck: info exists=%v open=%d targets=%d\n", info.Exists, info.OpenCount, info.TargetCount)
	if !info.Exists {
		return nil
	}
	table, err := dm.Table(*name)
	if err != nil {
		return err
	}
	for _, tg := range table {
		fmt.Printf("dmcheck: table %d %d %s %s\n", tg.Start, tg.Length, tg.Type, tg.Params)
	}
	return nil
}
