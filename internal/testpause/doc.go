// Package testpause holds the named pause points of caamcrypt's operations
// for the kill and signal tests of the QEMU rig (test/vm): a test stops the
// process at a chosen point deterministically, then kills or signals it and
// checks that what was half made is gone.
//
// Only a binary built with the build tag caamcrypt_testhooks pauses; the
// release binary's Point does nothing. In a test build, the environment
// variable CAAMCRYPT_TEST_PAUSE=<point> (test only, never set it in
// production) makes the process write "<point> <pid>" to the file named by
// CAAMCRYPT_TEST_PAUSE_MARKER (default /tmp/caamcrypt-pause) when it reaches
// that point, and then block until its context ends (a signal) or five
// minutes pass.
package testpause
