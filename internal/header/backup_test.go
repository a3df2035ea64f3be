package header

import (
	"bytes"
	"errors"
	"testing"
)

func TestBackupRestoreRoundTrip(t *testing.T) {
	d := writtenDev(t)
	d.b[offKeyEnc] ^= 4 // damage copy A: the backup must still hold two valid copies
	var file bytes.Buffer
	h, err := Backup(d, &file)
	if err != nil {
		t.Fatal(err)
	}
	if file.Len() != BackupSize || h.Label != "data" {
		t.Fatalf("backup %d bytes, label %q", file.Len(), h.Label)
	}
	for i := 0; i < 2; i++ {
		if _, err := Unmarshal(file.Bytes()[i*CopySize:]); err != nil {
			t.Errorf("backup copy %d invalid: %v", i, err)
		}
	}
	fresh := newDev(devSize)
	rh, err := Restore(bytes.NewReader(file.Bytes()), fresh)
	if err != nil {
		t.Fatal(err)
	}
	got, rep, err := Read(fresh)
	if err != nil || rep.Damaged() || got.UUID != rh.UUID || got.UUID != validHeader().UUID {
		t.Fatalf("after restore: err %v report %+v", err, rep)
	}
}

func TestRestoreSingleCopy(t *testing.T) {
	single, _ := validHeader().Marshal()
	d := newDev(devSize)
	if _, err := Restore(bytes.NewReader(single), d); err != nil {
		t.Fatal(err)
	}
	_, rep, err := Read(d)
	if err != nil || !rep.Copies[0].Valid || !rep.Copies[1].Valid {
		t.Fatalf("err %v report %+v", err, rep)
	}
}

func TestRestoreRefusesBadFiles(t *testing.T) {
	good, _ := validHeader().Marshal()
	bad := append([]byte(nil), good...)
	bad[offUUID] ^= 1
	cases := map[string][]byte{
		"empty":          nil,
		"wrong size":     good[:1000],
		"too long":       append(append(append([]byte(nil), good...), good...), 0),
		"corrupt single": bad,
		"one bad copy":   append(append([]byte(nil), good...), bad...),
		"zeros":          make([]byte, CopySize),
	}
	for name, file := range cases {
		d := writtenDev(t)
		before := append([]byte(nil), d.b...)
		_, err := Restore(bytes.NewReader(file), d)
		if err == nil {
			t.Errorf("%s: Restore accepted the file", name)
		}
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNoHeader) {
			t.Errorf("%s: %v, want ErrCorrupt or ErrNoHeader", name, err)
		}
		if !bytes.Equal(before, d.b) {
			t.Errorf("%s: device modified by a refused restore", name)
		}
	}
}

func TestBackupRefusesWithoutHeader(t *testing.T) {
	var file bytes.Buffer
	if _, err := Backup(newDev(devSize), &file); !errors.Is(err, ErrNoHeader) || file.Len() != 0 {
		t.Fatalf("err %v, wrote %d bytes", err, file.Len())
	}
}
