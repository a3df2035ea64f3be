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
# and leaves nothing mapped.

import shlex

from oeqa.runtime.case import OERuntimeTestCase
from oeqa.core.decorator.depends import OETestDepends
from oeqa.runtime.decorator.package import OEHasPackage

# caamcrypt exit codes (internal/fail).
EXIT_OK = 0
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

        output = self.run_ok('caamcrypt doctor')
        self.logger.info('caamcrypt doctor:\n%s' % output)

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
        self.assertEqual(status, EXIT_WRONG_KEY,
                         msg='open with a foreign blob: exit %d, want %d\n%s' % (status, EXIT_WRONG_KEY, output))
        self.run_ok('test ! -e /dev/mapper/%s' % NAME)
