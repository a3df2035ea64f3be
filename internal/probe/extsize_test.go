package probe

import "testing"

func TestExtSize(t *testing.T) {
	b := make([]byte, 2048)
	if _, ok := ExtSize(b); ok {
		t.Fatal("no magic: ok")
	}
	sb := b[1024:]
	le.PutUint16(sb[56:], 0xEF53)
	le.PutUint32(sb[24:], 2) // 4 KiB blocks
	le.PutUint32(sb[4:], 1000)
	if n, ok := ExtSize(b); !ok || n != 1000*4096 {
		t.Fatalf("32-bit: %d %v", n, ok)
	}
	le.PutUint32(sb[0x150:], 1)
	if n, _ := ExtSize(b); n != 1000*4096 {
		t.Fatalf("hi word without INCOMPAT_64BIT counted: %d", n)
	}
	le.PutUint32(sb[96:], 0x80)
	if n, _ := ExtSize(b); n != (1<<32+1000)*4096 {
		t.Fatalf("64-bit: %d", n)
	}
}
