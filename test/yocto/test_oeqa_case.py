# SPDX-License-Identifier: MIT
"""Unit test of the oeqa runtime case's judging functions
(packaging/yocto/meta-caamcrypt/lib/oeqa/runtime/cases/caamcrypt.py)
against output captured from the real caamcrypt (testdata/captured.json,
written by capture-oeqa-data.sh; see README.md).

Run by check.sh with PYTHONPATH holding the snapshot's
openembedded-core/meta/lib (the real oeqa package the case imports):
    python3 -m unittest test_oeqa_case
"""

import importlib.util
import json
import os
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
CASE = os.path.join(HERE, '..', '..', 'packaging', 'yocto', 'meta-caamcrypt',
                    'lib', 'oeqa', 'runtime', 'cases', 'caamcrypt.py')

# By file: oe-core's oeqa package (on PYTHONPATH) owns the oeqa name.
_spec = importlib.util.spec_from_file_location('caamcrypt_oeqa_case', CASE)
case = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(case)


def captured():
    with open(os.path.join(HERE, 'testdata', 'captured.json')) as f:
        return json.load(f)


class JudgeRealOutput(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.c = captured()

    def step(self, name):
        s = self.c['steps'][name]
        return s['rc'], s['output']

    def test_doctor_ready_in_rig(self):
        # caamsim loaded, dm-crypt and keyring present: ready, exit 0.
        self.assertEqual(case.doctor_problems(*self.step('vm/doctor-json')), [])

    def test_doctor_not_ready_on_host(self):
        # The build machine's kernel: no caam-keygen, no tk ciphers, exit 3.
        rc, out = self.step('host/doctor-json')
        self.assertEqual(rc, case.EXIT_NOT_READY)
        problems = case.doctor_problems(rc, out)
        self.assertEqual(len(problems), 1, msg=problems)
        self.assertIn('caam-keygen device', problems[0])

    def test_doctor_exit_code_must_agree(self):
        rc, out = self.step('vm/doctor-json')
        problems = case.doctor_problems(case.EXIT_NOT_READY, out)
        self.assertTrue(any('want 0' in p for p in problems), msg=problems)

    def test_doctor_text_is_not_json(self):
        # The rig's plain `doctor` without the simulator: no JSON to judge.
        problems = case.doctor_problems(*self.step('vm/doctor-no-caam'))
        self.assertTrue(problems and 'no JSON' in problems[0], msg=problems)

    def test_status_open_volumes(self):
        rc, out = self.step('vm/status-json')
        self.assertEqual(rc, 0)
        for name in ('va', 'vb'):
            self.assertEqual(case.volume_problems(out, name), [], msg=name)
        self.assertIsNone(case.status_volume(out, 'oeqa'))
        self.assertEqual(case.volume_problems(out, 'oeqa'), ["status --json lists no volume 'oeqa'"])

    def test_status_key_left_in_keyring(self):
        # The same real entry with the key left behind (as --keep-key
        # would leave it) is reported.
        rc, out = self.step('vm/status-json')
        vols = json.loads(out)
        vols[0]['key_in_keyring'] = True
        problems = case.volume_problems(json.dumps(vols), vols[0]['name'])
        self.assertEqual(len(problems), 1, msg=problems)
        self.assertIn('left in the kernel keyring', problems[0])

    def test_status_mountpoint(self):
        rc, out = self.step('vm/status-json')
        va = case.status_volume(out, 'va')
        mps = va.get('mount_points') or []
        self.assertTrue(mps, msg=va)
        self.assertEqual(case.volume_problems(out, 'va', mps[0]), [])
        self.assertEqual(len(case.volume_problems(out, 'va', '/elsewhere')), 1)

    def test_wrong_key_refusal(self):
        rc, out = self.step('vm/wrong-key-d')
        self.assertEqual(case.refusal_problems(rc, out, case.EXIT_WRONG_KEY), [])
        self.assertEqual(len(case.refusal_problems(rc, out, case.EXIT_OK)), 1)

    def test_version(self):
        rc, out = self.step('host/version-unstamped')
        self.assertEqual(rc, 0)
        self.assertEqual(len(case.version_problems(out)), 1, msg=out)
        rc, out = self.step('host/version-stamped')
        self.assertEqual(case.version_problems(out), [], msg=out)


if __name__ == '__main__':
    unittest.main()
