# SPDX-License-Identifier: MIT
#
# oeqa runtime test for caamcrypt on a QEMU image (qemux86-64, qemuarm64)
# with the caamsim simulator standing in for the i.MX CAAM:
#
#   IMAGE_INSTALL:append = " caamcrypt caamsim"
#   IMAGE_CLASSES += "testimage"
#   TEST_SUITES = "ping ssh caamcrypt"
#   bitbake core-image-minimal -c testimage
#
# It runs caamcrypt's own commands end to end: doctor, key create, format a
# loop device, write, close, open, read back; then checks that the raw
# device never holds the plaintext and that a blob sealed under another
# "device" (caamsim reloaded with another otpmk) is refused with exit code 5
# and leaves nothing mapped. doctor, status and the refusal are judged from
# caamcrypt's --json output and exit codes by the functions below, which
# need no target: test/yocto/test_oeqa_case.py feeds them output captured
# from the real caamcrypt in the QEMU rig (test/yocto/README.md).

import json
import shlex

from oeqa.runtime.case import OERuntimeTestCase
from oeqa.core.decorator.depends import OETestDepends
from oeqa.runtime.decorator.package import OEHasPackage

# caamcrypt exit codes (internal/fail).
EXIT_OK = 0
EXIT_NOT_READY = 3
EXIT_WRONG_KEY = 5

WORK = '/tmp/caamcrypt-oeqa'
KEYDIR = WORK + '/keys'
IMAGE = WORK + '/disk.img'
MNT = WORK + '/mnt'
NAME = 'oeqa'
KEY = 'oeqakey'
MARKER = 'caamcrypt-oeqa-plaintext-marker'
# 64 hex digits, different from caamsim's built-in default.
OTHER_OTPMK = '0f' * 32


def _json(output, what):
    """The JSON document in output (stdout and stderr arrive mixed: take
    it from the first '{' or '[' that starts one), or raise ValueError
    naming what."""
    for i, ch in enumerate(output):
        if ch in '{[':
            try:
                return json.JSONDecoder().raw_decode(output[i:])[0]
            except ValueError:
                continue
    raise ValueError('%s: no JSON in output: %r' % (what, output[:200]))


def version_problems(output):
    """`caamcrypt --version` must print a stamped version, not "dev"."""
    words = output.split()
    if len(words) < 3 or words[:2] != ['caamcrypt', 'version']:
        return ['--version printed %r' % output]
    if words[2] == 'dev':
        return ['--version is "dev": the build did not stamp main.version']
    return []


def doctor_problems(status, output):
    """Why `caamcrypt doctor --json` (exit status, output) says the device
    cannot run volumes, or disagrees with itself; [] when it is ready."""
    try:
        rep = _json(output, 'doctor --json')
    except ValueError as e:
        return [str(e)]
    problems = []
    checks = rep.get('checks')
    if not isinstance(rep.get('ready'), bool) or not isinstance(checks, list) or not checks:
        return ['doctor --json: unexpected shape: %r' % rep]
    failed = [c.get('name') for c in checks if c.get('status') == 'fail']
    for c in checks:
        if c.get('status') not in ('ok', 'warn', 'fail'):
            problems.append('doctor check %r has status %r' % (c.get('name'), c.get('status')))
    if rep['ready'] != (not failed):
        problems.append('doctor says ready=%s with failed checks %s' % (rep['ready'], failed))
    want = EXIT_OK if rep['ready'] else EXIT_NOT_READY
    if status != want:
        problems.append('doctor exit %d, want %d for ready=%s' % (status, want, rep['ready']))
    if failed:
        problems.append('not ready: failed checks %s' % ', '.join(failed))
    return problems


def status_volume(output, name):
    """The entry for volume name in `caamcrypt status --json`, or None."""
    vols = _json(output, 'status --json')
    if not isinstance(vols, list):
        raise ValueError('status --json: not a list: %r' % vols)
    for v in vols:
        if v.get('name') == name:
            return v
    return None


def volume_problems(output, name, mountpoint=None):
    """Why volume name, as `caamcrypt status --json` shows it, is not an
    open caamcrypt volume keyed by a CAAM tagged key with no copy of the
    key left in the keyring; [] when it is."""
    try:
        v = status_volume(output, name)
    except ValueError as e:
        return [str(e)]
    if v is None:
        return ['status --json lists no volume %r' % name]
    problems = []
    if v.get('type') not in ('caamcrypt', 'plain'):
        problems.append('%s: type %r is not a caamcrypt volume' % (name, v.get('type')))
    if not str(v.get('cipher', '')).startswith('capi:tk('):
        problems.append('%s: cipher %r is not a CAAM tagged-key cipher' % (name, v.get('cipher')))
    # Without --keep-key, open and format unlink the key once dm-crypt
    # holds it (internal/volume/open.go): one left behind is a leak.
    if v.get('key_in_keyring'):
        problems.append('%s: its key was left in the kernel keyring' % name)
    if v.get('suspended'):
        problems.append('%s: suspended' % name)
    if mountpoint is not None and mountpoint not in (v.get('mount_points') or []):
        problems.append('%s: not mounted on %s (mount points %s)' % (name, mountpoint, v.get('mount_points')))
    return problems


def refusal_problems(status, output, want_status):
    """A refused command: the exit code it must have and a message."""
    problems = []
    if status != want_status:
        problems.append('exit %d, want %d' % (status, want_status))
    if 'caamcrypt:' not in output:
        problems.append('no caamcrypt error message in %r' % output[:200])
    return problems


class CaamcryptTest(OERuntimeTestCase):

    loopdev = None

    def run_ok(self, cmd, timeout=None):
        """Run cmd on the target; fail the test with its output unless it exits 0."""
        status, output = self.target.run(cmd, timeout)
        self.assertEqual(status, 0, msg='%s: exit %d\n%s' % (cmd, status, output))
        return output

    def caamcrypt(self, *args):
        """The caamcrypt command line with this test's key directory.

        Flags go before positional arguments (urfave/cli stops parsing flags
        at the first argument)."""
        return ' '.join(['caamcrypt', '--key-dir', KEYDIR] + [shlex.quote(a) for a in args])

    def tearDown(self):
        # Best effort, in reverse order of setup; close is idempotent.
        self.target.run(self.caamcrypt('close', NAME))
        if self.loopdev:
            self.target.run('losetup -d %s' % self.loopdev)
        self.target.run('rmmod caamsim; modprobe caamsim')
        self.target.run('rm -rf %s' % WORK)

    @OETestDepends(['ssh.SSHTest.test_ssh'])
    @OEHasPackage(['caamcrypt'])
    @OEHasPackage(['caamsim', 'kernel-module-caamsim'])
    def test_caamcrypt_volume_roundtrip(self):
        # The simulator, dm-crypt and loop may be modules or built in.
        self.run_ok('modprobe caamsim')
        self.target.run('modprobe -a dm_crypt loop')

        status, output = self.target.run('caamcrypt --version')
        self.assertEqual(version_problems(output), [], msg=output)
        status, output = self.target.run('caamcrypt doctor --json')
        self.logger.info('caamcrypt doctor --json:\n%s' % output)
        self.assertEqual(doctor_problems(status, output), [], msg=output)

        self.run_ok('mkdir -p %s %s' % (KEYDIR, MNT))
        self.run_ok(self.caamcrypt('key', 'create', '--size', '32', KEY))
        self.run_ok('test -s %s/%s && test -s %s/%s.bb' % (KEYDIR, KEY, KEYDIR, KEY))

        # A 64 MiB file on a loop device (busybox losetup has no --show).
        self.run_ok('dd if=/dev/zero of=%s bs=1M count=64' % IMAGE, timeout=120)
        self.loopdev = self.run_ok('losetup -f').strip()
        self.assertTrue(self.loopdev.startswith('/dev/loop'), msg='losetup -f: %r' % self.loopdev)
        self.run_ok('losetup %s %s' % (self.loopdev, IMAGE))

        self.run_ok(self.caamcrypt('format', '--name', NAME, '--key', KEY,
                                   '--fs', 'ext4', '--mount', MNT, self.loopdev), timeout=300)
        self.run_ok('test -b /dev/mapper/%s' % NAME)
        output = self.run_ok(self.caamcrypt('status', '--json'))
        self.assertEqual(volume_problems(output, NAME, MNT), [], msg=output)

        # Known bytes, plus a text marker to look for on the raw device.
        self.run_ok('head -c 1048576 /dev/urandom > %s/ref.bin' % WORK)
        self.run_ok('cp %s/ref.bin %s/data.bin' % (WORK, MNT))
        self.run_ok('for i in 1 2 3 4 5 6 7 8; do echo %s; done > %s/marker.txt' % (MARKER, MNT))
        self.run_ok('sync')

        self.run_ok(self.caamcrypt('close', NAME), timeout=120)
        self.run_ok('test ! -e /dev/mapper/%s' % NAME)
        status, output = self.target.run('grep -qs " %s " /proc/mounts' % MNT)
        self.assertNotEqual(status, 0, msg='%s still mounted after close' % MNT)
        status, output = self.target.run('grep -q %s %s' % (MARKER, IMAGE))
        self.assertNotEqual(status, 0, msg='plaintext marker found on the raw device')

        self.run_ok(self.caamcrypt('open', '--name', NAME, '--mount', MNT, self.loopdev), timeout=300)
        self.run_ok('cmp %s/ref.bin %s/data.bin' % (WORK, MNT))
        self.run_ok('grep -q %s %s/marker.txt' % (MARKER, MNT))
        self.run_ok(self.caamcrypt('close', NAME), timeout=120)

        # Another "device": the blob in the header was sealed under the
        # default otpmk, so open must refuse it as a wrong key and map
        # nothing.
        self.run_ok('rmmod caamsim && modprobe caamsim otpmk=%s' % OTHER_OTPMK)
        status, output = self.target.run(self.caamcrypt('open', '--name', NAME, '--mount', MNT,
                                                        self.loopdev), 300)
        self.assertEqual(refusal_problems(status, output, EXIT_WRONG_KEY), [],
                         msg='open with a foreign blob:\n%s' % output)
        self.run_ok('test ! -e /dev/mapper/%s' % NAME)
        output = self.run_ok(self.caamcrypt('status', '--json'))
        self.assertIsNone(status_volume(output, NAME), msg=output)
