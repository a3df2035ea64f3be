package main

import "github.com/caamcrypt/caamcrypt/test/vm"

// The seed's story (../seed/encrypted-storage-on-imx.txt, docs/caam-abi.md §1), as the
// commands a field engineer types on the board, one boot per power-on.
// caamcrypt's `key create` / `key import` stand in for NXP's caam-keygen
// (same ioctls, same files); keyctl, dmsetup, mkfs and mount are the seed's
// own commands. After the seed's steps, each power-on shows the same job
// done by caamcrypt's volume commands (format, open, status, close) on a
// disk of its own, so the seed's part never depends on them.
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
	// Cmdline is added to the kernel command line of this power-on, e.g.
	// caamsim.otpmk=... to stand for another board (another fused key).
	Cmdline string
	Steps   []demoStep
}

// Names the seed uses; literal values so every printed command can be
// typed as is.
const (
	cryptDev = "/dev/vda" // the partition to encrypt with the seed's commands
	dataDev  = "/dev/vdb" // the board's persistent partition holding /data/caam
	vaultDev = "/dev/vdc" // a partition for caamcrypt's own volume commands
	fieldDev = "/dev/vdd" // a plain data partition of a board already in the field
)

// fieldMarker is a line of the field partition's files, to look for on
// the raw partition before and after the encrypt.
const fieldMarker = "meter log of board 17, not for other eyes"

// seedTable is the seed's dm-crypt table for the logon key desc.
func seedTable(name, desc string) string {
	return `dmsetup -v create ` + name + ` --table "0 $(blockdev --getsz ` + cryptDev + `) crypt capi:tk(cbc(aes))-plain :36:logon:` + desc + `: 0 ` + cryptDev + ` 0 1 sector_size:512"`
}

// mknodes is the step a board without udev needs after dmsetup create.
func mknodes(name string) demoStep {
	return demoStep{Say: "no udev on this image: dmsetup made the mapping but no /dev/mapper node (docs/caam-abi.md §7); make it",
		Cmd: "dmsetup mknodes " + name + " && ls -l /dev/mapper/" + name, Only: vm.NoUdev, NeedsCAAM: true}
}

// anotherBoard is the fused master key of the board in power-on 3.
const anotherBoard = "caamsim.otpmk=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

var story = []demoBoot{
	{
		Title: "first power-on: make a CAAM key and an encrypted volume",
		Steps: []demoStep{
			{Say: "(board preparation, not part of the seed) a persistent /data partition for the key files",
				Cmd: "mkfs.ext4 -q -L data " + dataDev + " && mkdir -p /data && mount " + dataDev + " /data"},
			{Say: "is this board ready for CAAM-keyed dm-crypt? (CAAM key generator, tk() ciphers, dm-crypt, keyring, udev, tools)",
				Cmd: "caamcrypt doctor", MayFail: true},
			{Say: "make a random 16-byte key: black key + blob in /data/caam (seed: caam-keygen create randomkey ecb -s 16)",
				Cmd: "caamcrypt key create randomkey --enc ecb -s 16 && ls -l /data/caam", NeedsCAAM: true},
			{Say: "what is in the key file, and which key length dm-crypt needs (:36:, not :32:)",
				Cmd: "caamcrypt key info /data/caam/randomkey", NeedsCAAM: true},
			{Say: "caam-keygen would overwrite the blob (the only way back to the data) without a word; caamcrypt refuses (exit 4)",
				Cmd: "caamcrypt key create randomkey --enc ecb -s 16", NeedsCAAM: true, MayFail: true},
			{Say: "load the black key into the kernel keyring (the seed uses @s, which only works inside a login session: docs/caam-abi.md §6)",
				Cmd: "cat /data/caam/randomkey | keyctl padd logon logkey: @u", NeedsCAAM: true},
			{Say: "map the partition with the CAAM cipher",
				Cmd: seedTable("encrypted", "logkey"), NeedsCAAM: true},
			mknodes("encrypted"),
			{Say: "make a filesystem and mount it",
				Cmd: "mkfs.ext4 -q -L secure /dev/mapper/encrypted && mkdir -p /mnt/secure && mount /dev/mapper/encrypted /mnt/secure", NeedsCAAM: true},
			{Say: "write some data",
				Cmd: "echo 'meter reading 4711' > /mnt/secure/hello.txt && cat /mnt/secure/hello.txt", NeedsCAAM: true},
			{Say: "tear down",
				Cmd: "umount /mnt/secure && dmsetup remove encrypted && keyctl clear @u", NeedsCAAM: true},
			{Say: "the same with caamcrypt: one command makes the key, a header holding the blob, the mapping, the filesystem and the mount",
				Cmd: "caamcrypt format " + vaultDev + " --name vault --label vault --mount /mnt/vault && echo 'meter reading 4712' > /mnt/vault/hello.txt", NeedsCAAM: true},
			{Say: "what is open", Cmd: "caamcrypt status", NeedsCAAM: true},
			{Say: "close it: unmount, unmap, drop the key", Cmd: "caamcrypt close vault && umount /data", NeedsCAAM: true},
		},
	},
	{
		Title: "cold boot: the black key from the last boot is stale; import it from the blob",
		Steps: []demoStep{
			{Say: "mount the persistent partition", Cmd: "mkdir -p /data && mount " + dataDev + " /data && ls -l /data/caam", NeedsCAAM: true},
			{Say: "what goes wrong without the import: the old ECB black key still loads and maps (it has no integrity check)...",
				Cmd: "cat /data/caam/randomkey | keyctl padd logon stale: @u && " + seedTable("stale", "stale"), NeedsCAAM: true},
			mknodes("stale"),
			{Say: "...but the CAAM's key changed at power-on, so it decrypts to garbage: no filesystem",
				Cmd: "mkdir -p /mnt/secure && mount -o ro /dev/mapper/stale /mnt/secure", NeedsCAAM: true, MayFail: true},
			{Say: "(never mkfs here: that would destroy the data) unmap it", Cmd: "dmsetup remove stale && keyctl clear @u", NeedsCAAM: true},
			{Say: "import the blob into a fresh black key (seed: caam-keygen import /data/caam/randomkey.bb imported)",
				Cmd: "caamcrypt key import /data/caam/randomkey.bb imported && ls -l /data/caam", NeedsCAAM: true},
			{Say: "load it", Cmd: "cat /data/caam/imported | keyctl padd logon logkey: @u", NeedsCAAM: true},
			{Say: "map the partition again", Cmd: seedTable("encrypted", "logkey"), NeedsCAAM: true},
			mknodes("encrypted"),
			{Say: "mount and read the data written before the power cycle",
				Cmd: "mount /dev/mapper/encrypted /mnt/secure && cat /mnt/secure/hello.txt", NeedsCAAM: true},
			{Say: "tear down", Cmd: "umount /mnt/secure && dmsetup remove encrypted && keyctl clear @u", NeedsCAAM: true},
			{Say: "caamcrypt opens the seed's headerless volume too, from the blob (--type plain: the seed's exact table)",
				Cmd: "caamcrypt open " + cryptDev + " --type plain --key randomkey --name encrypted --mount /mnt/secure && cat /mnt/secure/hello.txt", NeedsCAAM: true},
			{Say: "and its own volume: the blob is in the header, the key is checked before anything is mapped",
				Cmd: "caamcrypt open " + vaultDev + " --mount /mnt/vault && cat /mnt/vault/hello.txt", NeedsCAAM: true},
			{Say: "what is open", Cmd: "caamcrypt status", NeedsCAAM: true},
			{Say: "close everything", Cmd: "caamcrypt close encrypted && caamcrypt close vault && umount /data", NeedsCAAM: true},
		},
	},
	{
		Title: "a board in the field: encrypt its plain data partition in place, keeping every file",
		Steps: []demoStep{
			{Say: "mount the persistent partition", Cmd: "mkdir -p /data && mount " + dataDev + " /data", NeedsCAAM: true},
			{Say: "(board preparation) the partition as it shipped: a plain ext4 full of files",
				Cmd: "mkfs.ext4 -q -L field " + fieldDev + " && mkdir -p /mnt/field && mount " + fieldDev + " /mnt/field && cd /mnt/field && " +
					"i=0; while [ $i -lt 40 ]; do echo \"" + fieldMarker + " $i\" > log$i.txt; dd if=/dev/urandom of=blob$i bs=1K count=$((i * 37 % 300 + 1)) 2>/dev/null; i=$((i+1)); done; " +
					"sha256sum blob* log* > /data/field.sha256; ls | head -5; echo \"... $(ls | wc -l) files, $(du -sk . | cut -f1) KiB\"; cd / && umount /mnt/field", NeedsCAAM: true},
			{Say: "today anyone with the board can read them off the raw partition",
				Cmd: "grep -c '" + fieldMarker + "' " + fieldDev, NeedsCAAM: true},
			{Say: "what encrypt would do, and how long it should take (writes nothing)",
				Cmd: "caamcrypt encrypt " + fieldDev + " --dry-run", NeedsCAAM: true},
			{Say: "encrypt in place: new CAAM key, the filesystem shrinks by 4 MiB and moves into the encrypted payload (a power cut: run it again)",
				Cmd: "caamcrypt encrypt " + fieldDev + " --name field", NeedsCAAM: true},
			{Say: "the raw partition holds no plaintext any more",
				Cmd: "if grep -q '" + fieldMarker + "' " + fieldDev + "; then echo 'plaintext found'; exit 1; else echo 'no plaintext on " + fieldDev + "'; fi", NeedsCAAM: true},
			{Say: "open it like any caamcrypt volume: every file is there, with the same checksum",
				Cmd: "caamcrypt open " + fieldDev + " --mount /mnt/field && cd /mnt/field && sha256sum -c /data/field.sha256 | tail -3 && " +
					"echo \"$(sha256sum -c /data/field.sha256 | grep -c ': OK$') of $(wc -l < /data/field.sha256) files OK\" && cd / && caamcrypt close field && umount /data", NeedsCAAM: true},
		},
	},
	{
		Title:   "the disks moved to another board (another fused master key)",
		Cmdline: anotherBoard,
		Steps: []demoStep{
			{Say: "mount the persistent partition", Cmd: "mkdir -p /data && mount " + dataDev + " /data", NeedsCAAM: true},
			{Say: "the blob only opens on the SoC that sealed it: refused as a wrong key (exit 5), nothing written",
				Cmd: "caamcrypt key import /data/caam/randomkey.bb imported2", NeedsCAAM: true, MayFail: true},
			{Say: "caamcrypt's volume is refused the same way, before anything is mapped",
				Cmd: "caamcrypt open " + vaultDev + " --mount /mnt/vault", NeedsCAAM: true, MayFail: true},
			{Say: "nothing is mapped", Cmd: "dmsetup ls", NeedsCAAM: true},
		},
	},
}
