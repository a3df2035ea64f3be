// Package nothp turns transparent huge pages off for the whole process
// before the Go runtime maps its heap. Imported for its effect only.
//
// Why: with THP set to "always" (Debian's kernels, many distribution
// kernels) the runtime's heap and stacks are faulted in 2 MiB at a time,
// which took a short-lived open from about 9 MiB to 20 MiB of peak RSS in
// the QEMU rig; on a board with little RAM that memory is better left to
// the page cache. The Go runtime's own switch (GODEBUG=disablethp=1) can
// only come from the environment, and a prctl in main would come after the
// runtime has already touched its first arenas, hence a C constructor,
// which the dynamic loader runs before the runtime starts. The setting is
// inherited by children (e2fsck, mkfs), which lose nothing by it.
// Without cgo (or off Linux) the package does nothing.
package nothp
