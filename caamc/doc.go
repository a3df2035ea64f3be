// Package caamc talks to the CAAM key generator of NXP i.MX kernels and reads
// the tagged objects it produces.
//
// Two halves live here:
//
//   - Device (keygen_cgo.go, Linux with cgo only) wraps the caam-keygen misc
//     device, /dev/caam-keygen, of NXP's linux-imx kernel: CREATE makes a
//     black key plus its blob, IMPORT turns a blob back into a black key
//     (needed at every boot, because the JDKEK covering black keys is random
//     at each power-on reset). The ioctl struct is compiled by the C compiler
//     from third_party/caam-keygen/caam_keygen.h because Go would lay it out
//     differently on 32-bit ARM.
//   - ParseObject and friends (tag.go, object.go, sizes.go, pure Go) decode
//     and validate the 20-byte tag header that prefixes black keys and blobs,
//     and know the size formulas of both, so files can be checked before they
//     are handed to the kernel or to dm-crypt.
//
// Nothing in this package ever logs key bytes: the plaintext given to Create
// is traced as "<redacted>".
package caamc

// DefaultDevice is the node the linux-imx caam-keygen misc driver registers.
const DefaultDevice = "/dev/caam-keygen"
