package caamc

import (
	"encoding/binary"
	"math/rand"
)

// Test helpers build tagged objects byte by byte with their own encoding
// (not Tag.Bytes), so the parser is checked against an independent writer.

// roundUpSlow is the smallest multiple of to that is >= n, by counting.
func roundUpSlow(n, to int) int {
	m := 0
	for m < n {
		m += to
	}
	return m
}

// wantKeySize and wantBlobSize restate docs/caam-abi.md §3 independently of
// sizes.go.
func wantKeySize(ccm bool, l int) int {
	if ccm {
		return roundUpSlow(l, 8) + 6 + 6 // nonce + ICV
	}
	return roundUpSlow(l, 16)
}

func wantBlobSize(l int) int { return roundUpSlow(l, 8) + 12 + 32 + 16 } // + blob key + MAC

// rawObject lays out a header and objLen pseudo-random body bytes.
func rawObject(magic, version, typ, redLen, objLen uint32, body int, seed int64) []byte {
	b := make([]byte, 20+body)
	binary.LittleEndian.PutUint32(b[0:], magic)
	binary.LittleEndian.PutUint32(b[4:], version)
	binary.LittleEndian.PutUint32(b[8:], typ)
	binary.LittleEndian.PutUint32(b[12:], redLen)
	binary.LittleEndian.PutUint32(b[16:], objLen)
	rand.New(rand.NewSource(seed)).Read(b[20:])
	return b
}

// validObject is a well-formed object of n body bytes with type typ.
func validObject(typ uint32, redLen, n int) []byte {
	return rawObject(0x5461674f, 0, typ, uint32(redLen), uint32(n), n, int64(redLen*1000+n))
}
