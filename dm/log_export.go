//go:build linux && cgo

package dm

// This file holds only the //export callback: cgo allows no C definitions in
// the preamble of a file that exports Go functions.

import "C"

// caamcryptDMLog receives one formatted libdevmapper log line from the C
// shim in libdm_cgo.go and hands it to the package's single log sink.
//
//export caamcryptDMLog
func caamcryptDMLog(level C.int, file *C.char, line C.int, errnoOrClass C.int, msg *C.char) {
	sink.write(int(level), C.GoString(file), int(line), int(errnoOrClass), C.GoString(msg))
}
