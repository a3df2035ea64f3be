package volume

import (
	"time"

	"github.com/caamcrypt/caamcrypt/caamc"
	"github.com/caamcrypt/caamcrypt/dm"
	"github.com/caamcrypt/caamcrypt/internal/inplace"
)

// estimateSample is how much of the device a dry run reads to time it.
const estimateSample = 16 << 20

// estimate guesses the seconds a transition moving n bytes of dev takes,
// from what a dry run can measure without writing: the time to read a
// sample of the raw device, plus the time to read it through a read-only
// dm-crypt mapping with a throwaway CAAM key (the cipher's cost, which a
// write through the mapping pays the same), times passes through the
// mapping (1 for encrypt and decrypt, 2 for reencrypt: old and new key).
// 0 when it cannot measure.
func (m *Manager) estimate(dev string, n int64, passes float64) float64 {
	sample := min(n, estimateSample) / inplace.Align * inplace.Align
	if sample <= 0 {
		return 0
	}
	rawRate := readRate(dev, sample)
	if rawRate <= 0 {
		return 0
	}
	secs := float64(n) / rawRate * 2 // read and write of the raw device
	if cr := m.cryptReadRate(dev, sample); cr > 0 {
		secs += float64(n) / cr * passes
	}
	return secs
}

// readRate is bytes per second reading n bytes of path with O_DIRECT.
func readRate(path string, n int64) float64 {
	f, err := openDirectRead(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	buf := inplace.AlignedBuf(1 << 20)
	start := time.Now()
	for off := int64(0); off < n; off += int64(len(buf)) {
		if _, err := f.ReadAt(buf[:min(int64(len(buf)), n-off)], off); err != nil {
			return 0
		}
	}
	return float64(n) / time.Since(start).Seconds()
}

// cryptReadRate maps the first n bytes of dev read-only with a new,
// unsaved CAAM key and times reading them through the mapping; the
// mapping and the key are gone when it returns.
func (m *Manager) cryptReadRate(dev string, n int64) float64 {
	black, _, err := m.d.keys.Create(caamc.ECB, DefaultKeySize)
	if err != nil {
		return 0
	}
	defer wipe(black)
	name := xferPrefix + "estimate"
	u := &undoStack{log: m.log.WithField("device", dev)}
	defer u.run(nil)
	spec := cryptSpec{Cipher: DefaultCipher, KeyLen: len(black), KeyDesc: keyDescription(name), Device: dev,
		Length: n, SectorSize: DefaultSectorSize}
	if _, err := m.loadKey(u, spec.KeyDesc, black, m.cfg.Keyring); err != nil {
		return 0
	}
	t, err := spec.target()
	if err != nil {
		return 0
	}
	if err := m.createMapping(u, name, t, dm.CreateOptions{ReadOnly: true, UUID: xferUUID(name)}); err != nil {
		return 0
	}
	return readRate(m.d.mapper.NodePath(name), n)
}
