//go:build !linux || !cgo

package nothp

// Enabled reports whether this build disables THP at start (linux+cgo).
const Enabled = false
