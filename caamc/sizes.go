package caamc

// Size formulas of the objects the CAAM makes (docs/caam-abi.md §3), with
// L the red key length. All sizes here exclude the 20-byte tag.
const (
	// ccmOverhead is what CCM encryption adds to a black key: a 6-byte
	// nonce and a 6-byte ICV (12 bytes) around the 8-byte-rounded key.
	ccmOverhead = 12
	// blobOverhead is what blob encapsulation adds: a 32-byte encrypted blob
	// key and a 16-byte MAC.
	blobOverhead = 48

	// nxpBlackKeyCap and nxpBlobCap are the buffer capacities NXP's
	// caam-keygen tool passes; they are exactly the tagged sizes for a
	// 64-byte CCM key (20+76) and its blob (20+124). Never pass less.
	nxpBlackKeyCap = 96
	nxpBlobCap     = 144
	// capMargin is extra room over the formulas, so a driver whose objects
	// are slightly larger than documented reports sizes instead of failing
	// with "Not enough space".
	capMargin = 64
)

func roundUp(n, to int) int { return (n + to - 1) / to * to }

// BlackKeySize is the size of a black key object, without its tag, for a
// red key of redLen bytes: ECB pads to the AES block, roundup(L, 16); CCM
// pads to 8 and adds nonce+ICV, roundup(L, 8) + 12. A 16-byte ECB key is 16
// (a 36-byte file); a 32-byte ECB key is 32 (a 52-byte file).
func BlackKeySize(enc Encryption, redLen int) int {
	if enc == CCM {
		return roundUp(redLen, 8) + ccmOverhead
	}
	return roundUp(redLen, 16)
}

// BlobSize is the size of a blob object, without its tag, for a red key of
// redLen bytes: (roundup(L, 8) + 12) + 48, whatever the key's encryption.
// A 16-byte key gives 76 (a 96-byte .bb file).
func BlobSize(redLen int) int {
	return roundUp(redLen, 8) + ccmOverhead + blobOverhead
}

// blackKeyCapacity is the black_key buffer passed to the driver: the tagged
// size from the formula plus a margin, never less than NXP's tool uses.
func blackKeyCapacity(enc Encryption, redLen int) int {
	return max(nxpBlackKeyCap, TagSize+BlackKeySize(enc, redLen)+capMargin)
}

// blobCapacity is the blob buffer passed to CREATE, sized like
// blackKeyCapacity.
func blobCapacity(redLen int) int {
	return max(nxpBlobCap, TagSize+BlobSize(redLen)+capMargin)
}
