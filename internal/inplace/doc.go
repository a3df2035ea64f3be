// Package inplace moves a volume's data between its plain and encrypted
// forms on the same device: the chunk loops of caamcrypt encrypt, decrypt
// and reencrypt, and the transition record that makes every one of them
// resumable after a power cut (internal/header/FORMAT.md, "In-place
// transitions").
//
// The package knows nothing of keys, mappings or file systems: the
// caller (internal/volume) opens the raw device and the dm-crypt mappings
// and hands them over as Dev values; here only byte ranges are moved, in
// an order in which a crash at any point leaves either the old or the new
// copy of every byte intact and the record saying which.
package inplace
