package volume

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/caamcrypt/caamcrypt/internal/fail"
)

// Close unmounts a volume, removes its mapping and drops any key of it left
// in the keyring. Closing a volume that is not open succeeds. With
// o.Device instead of o.Name, every dm-crypt mapping over that device is
// closed.
func (m *Manager) Close(ctx context.Context, o CloseOptions) error {
	if o.Name != "" {
		return m.closeName(ctx, o.Name)
	}
	if o.Device == "" {
		return fmt.Errorf("%w: close needs a volume name or a device", fail.ErrUsage)
	}
	dev, err := m.d.devices.Resolve(o.Device)
	if err != nil {
		return err
	}
	names, err := m.mappingsOf(dev, nil)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		m.log.WithField("device", dev).Info("no open volume on this device")
	}
	var errs []error
	for _, n := range names {
		if err := m.closeName(ctx, n); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// closeName closes one volume under its lock.
func (m *Manager) closeName(ctx context.Context, name string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	unlock, err := m.d.locker.Lock(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	log := m.log.WithField("name", name)
	m.removeLeftovers(name, nil)

	info, err := m.d.mapper.Info(name)
	if err != nil {
		return fmt.Errorf("look up mapping %s: %w", name, err)
	}
	if !info.Exists {
		log.Info("volume is not open")
		// A killed open may have left the volume's key (its description
		// derives from the name): drop it.
		return m.unlinkLeftover(keyDescription(name), m.cfg.Keyring)
	}
	if _, ok, err := m.cryptTable(name); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("%w: mapping %s is not a dm-crypt volume; caamcrypt leaves it alone (dmsetup remove %s)",
			fail.ErrRefused, name, name)
	}
	ident, ours := parseMapUUID(info.UUID)
	if !ours {
		log.Warn("closing a dm-crypt mapping caamcrypt did not create")
	}
	node := m.d.mapper.NodePath(name)
	mps, err := m.d.mounter.MountPoints(node)
	if err != nil {
		return err
	}
	for i := len(mps) - 1; i >= 0; i-- {
		if err := m.d.mounter.Unmount(mps[i]); err != nil {
			if errors.Is(err, unix.EBUSY) {
				return m.inUse(name, node, err)
			}
			if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
				// Unmounted meanwhile (at shutdown systemd unmounts in
				// parallel with close --all): the goal is reached.
				log.WithField("mountpoint", mps[i]).Info("already unmounted")
				continue
			}
			return fmt.Errorf("unmount %s from %s: %w", node, mps[i], err)
		}
		log.WithField("mountpoint", mps[i]).Info("unmounted")
	}
	if err := m.removeMapping(name); err != nil {
		if errors.Is(err, unix.EBUSY) {
			return m.inUse(name, node, err)
		}
		return fmt.Errorf("remove mapping %s: %w", name, err)
	}
	if ours {
		if err := m.unlinkLeftover(ident.keyDesc(), m.cfg.Keyring); err != nil {
			return err
		}
	}
	log.Info("volume closed")
	return nil
}

// inUse explains who keeps a volume busy: open count, mount points and
// holders, so the user knows what to stop.
func (m *Manager) inUse(name, node string, cause error) error {
	var who []string
	if info, err := m.d.mapper.Info(name); err == nil && info.Exists {
		who = append(who, fmt.Sprintf("open count %d", info.OpenCount))
	}
	// The device probe already names the mount points (with their
	// filesystem); listing the mounter's as well repeated them.
	if found, err := m.d.devices.InUse(node); err == nil && len(found) > 0 {
		who = append(who, describe(found))
	} else if mps, err := m.d.mounter.MountPoints(node); err == nil && len(mps) > 0 {
		who = append(who, "mounted on "+strings.Join(mps, ", "))
	}
	return fmt.Errorf("%w: volume %s (%s) is in use (%s); stop the processes using it (fuser -m %s lists them) and close again: %w",
		fail.ErrRefused, name, node, strings.Join(who, "; "), node, cause)
}
