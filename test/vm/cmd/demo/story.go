package main

import "github.com/caamcrypt/caamcrypt/test/vm"

// The seed's story (../seed/encrypted-storage-on-imx.txt, facts §1), as the
// commands a field engineer types on the board, one boot per power-on.
// caamcrypt's `key create` / `key import` stand in for NXP's caam-keygen
// (same ioctls, same files); the rest are the seed's own commands.
//
// To extend the demo, edit this list: steps marked NeedsCAAM run only when
// the CAAM simulator module is loaded (see main.go, -sim), and the demo
// stops at the first of them otherwise.

// demoStep is one command of the story.
type demoStep struct {
	Say       string // what the step is for, printed as a comment
	Cmd       string // exactly what the engineer types (busybox sh in the guest)
	NeedsCAAM bool   // needs /dev/caam-keygen and the tk() ciphers
	MayFail   bool   // a failure is part of the story, not a demo failure
	// Only, when set, runs the step in that flavour only.
	Only vm.Flavour
}

// demoBoot is one power-on.
type demoBoot struct {
	Title string
	Steps []demoStep
}

// Names the seed uses; literal values so every printed command can be
// typed as is.
const (
	dataDev  = "/dev/vdb" // the board's persistent partition holding /data/caam
	cryptDev = "/dev/vda" // the partition to encrypt
)

var story = []demoBoot{
	{
		Title: "first power-on: make a CAAM key and an encrypted volume",
		Steps: []demoStep{
			{Say: "(board preparation, not part of the seed) a persistent /data partition for the key files",
				Cmd: "mkfs.ext4 -q -L data " + dataDev + " && mkdir -p /data && mount " + dataDev + " /data && mkdir -p /data/caam"},
			{Say: "which kernel, and which device-mapper targets does it have?",
				Cmd: "uname -r && dmsetup targets"},
			{Say: "is there a CAAM key generator with tagged-key (tk) ciphers?",
				Cmd: "ls -l /dev/caam-keygen && grep -E '^(name|driver) *: tk' /proc/crypto", MayFail: true},
			{Say: "make a random 16-byte key: black key + blob (seed: caam-keygen create randomkey ecb -s 16)",
				Cmd: "caamcrypt --key-dir /data/caam key create --enc ecb -s 16 randomkey && ls -l /data/caam", NeedsCAAM: true},
			{Say: "load the black key into the kernel keyring (the seed uses @s, which only works inside a login session: facts §6)",
				Cmd: "cat /data/caam/randomkey | keyctl padd logon logkey: @u", NeedsCAAM: true},
			{Say: "map the partition with the CAAM cipher; :36: is the tagged key's length",
				Cmd: `dmsetup -v create encrypted --table "0 $(blockdev --getsz ` + cryptDev + `) crypt capi:tk(cbc(aes))-plain :36:logon:logkey: 0 ` + cryptDev + ` 0 1 sector_size:512"`, NeedsCAAM: true},
			{Say: "no udev on this image: dmsetup made the mapping but no /dev/mapper node (facts §7); make it",
				Cmd: "dmsetup mknodes encrypted && ls -l /dev/mapper/encrypted", Only: vm.NoUdev, NeedsCAAM: true},
			{Say: "make a filesystem and mount it",
				Cmd: "mkfs.ext4 -q -L secure /dev/mapper/encrypted && mkdir -p /mnt/secure && mount /dev/mapper/encrypted /mnt/secure", NeedsCAAM: true},
			{Say: "write some data",
				Cmd: "echo 'meter reading 4711' > /mnt/secure/hello.txt && cat /mnt/secure/hello.txt", NeedsCAAM: true},
			{Say: "tear down",
				Cmd: "umount /mnt/secure && dmsetup remove encrypted && keyctl clear @u && umount /data", NeedsCAAM: true},
		},
	},
	{
		Title: "cold boot: the black key from the last boot is useless; import it from the blob",
		Steps: []demoStep{
			{Say: "mount the persistent partition", Cmd: "mkdir -p /data && mount " + dataDev + " /data && ls -l /data/caam", NeedsCAAM: true},
			{Say: "import the blob into a fresh black key (seed: caam-keygen import /data/caam/randomkey.bb imported)",
				Cmd: "caamcrypt --key-dir /data/caam key import /data/caam/randomkey.bb imported && ls -l /data/caam", NeedsCAAM: true},
			{Say: "load it", Cmd: "cat /data/caam/imported | keyctl padd logon logkey: @u", NeedsCAAM: true},
			{Say: "map the partition again",
				Cmd: `dmsetup -v create encrypted --table "0 $(blockdev --getsz ` + cryptDev + `) crypt capi:tk(cbc(aes))-plain :36:logon:logkey: 0 ` + cryptDev + ` 0 1 sector_size:512"`, NeedsCAAM: true},
			{Say: "no udev on this image: dmsetup made the mapping but no /dev/mapper node (facts §7); make it",
				Cmd: "dmsetup mknodes encrypted && ls -l /dev/mapper/encrypted", Only: vm.NoUdev, NeedsCAAM: true},
			{Say: "mount and read the data written before the power cycle",
				Cmd: "mkdir -p /mnt/secure && mount /dev/mapper/encrypted /mnt/secure && cat /mnt/secure/hello.txt", NeedsCAAM: true},
		},
	},
}
