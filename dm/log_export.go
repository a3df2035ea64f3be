//go:build linux && cgo

package dm

// This file holds only the //export callback: cgo allows no C definitions in
// the preamble of a file that exports Go functions.
//
// libdevmapper's log hook (dm_log_with_errno_init) takes no user pointer,
// so there is no C void * to lead back to a Go object (go-pointer or
// cgo.Handle would be the tool for that): every line goes to the one
// package-wide, mutex-guarded sink in logsink.go. No other libdevmapper call
// used here takes a callback.

import "C"

// caamcryptDMLog receives one formatted libdevmapper log line from the C
// shim in libdm_cgo.go and hands it to the package's single log sink.
//
//export caamcryptDMLog
func caamcryptDMLog(level C.int, file *C.char, line C.int, errnoOrClass C.int, msg *C.char) {
	sink.write(int(level), C.GoString(file), int(line), int(errnoOrClass), C.GoString(msg))
}
