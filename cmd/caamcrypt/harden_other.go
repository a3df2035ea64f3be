//go:build !linux

package main

// hardenProcess has nothing to do where there is no Linux kernel: the
// commands that hold keys only work on Linux.
func hardenProcess() []string { return []string{"process hardening is Linux only"} }

// processProtection has nothing to report off Linux.
func processProtection() string { return "not linux" }
