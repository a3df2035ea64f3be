// Command dmcheck runs inside the QEMU rig's guest and exercises caamcrypt's
// dm and internal/keyring packages against the real kernel: it puts a logon
// key into a keyring and loads a dm-crypt table that names it, from one
// process, then reports what the kernel and /dev did. The host test asserts
// on its output lines ("dmcheck: ...") and exit code.
//
// Usage:
//
//	dmcheck map   -name N -device DEV -key-file F -desc D [-ring @u] [-cipher C] [-sector-size 512] [-keep-key]
//	dmcheck load  -name N -device DEV -desc D -key-size 32 [-cipher C] [-sector-size 512]
//	dmcheck unmap -name N
//	dmcheck info  -name N
//
// "map" is the caamcrypt path (key added and table loaded by the same
// process); "load" only loads a table naming a key some other process put
// somewhere, to show which keyrings dm-crypt can see from here.
//
// Exit codes: 0 success, 1 failure, 2 usage, 3 the table load failed with
// ENOKEY (the key was not visible to this process).
package main

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "map":
		err = cmdMap(os.Args[2:])
	case "load":
		err = cmdLoad(os.Args[2:])
	case "unmap":
		err = cmdUnmap(os.Args[2:])
	case "info":
		err = cmdInfo(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Printf("dmcheck: error: %v\n", err)
		if errors.Is(err, unix.ENOKEY) {
			fmt.Println("dmcheck: ENOKEY: the key is not visible to this process")
			os.Exit(3)
		}
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: dmcheck map|load|unmap|info [flags] (see the package doc)")
	os.Exit(2)
}
