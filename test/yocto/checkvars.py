# SPDX-License-Identifier: MIT
"""Checks the variables BitBake computed for the layer's recipes
(bbdriver.py check writes them) against what the layer promises.

  checkvars.py VARS.json COMMIT
"""

import json
import os
import sys


def problems(v, commit):
    """Each broken promise as a sentence; none means all hold."""
    out = []
    c = v['caamcrypt']
    lic = c['LICENSE'].replace('&', ' ').replace('|', ' ').split()
    for want in ('MIT', 'BSD-2-Clause', 'BSD-3-Clause'):
        if want not in lic:
            out.append('caamcrypt LICENSE %r lacks %s' % (c['LICENSE'], want))
    gomods = [u for u in c['SRC_URI'].split() if u.startswith('gomod://')]
    if not gomods:
        out.append('caamcrypt SRC_URI has no gomod:// entries (caamcrypt-go-mods.inc)')
    if len([u for u in c['LIC_FILES_CHKSUM'].split() if '/pkg/mod/' in u]) < 1:
        out.append('caamcrypt LIC_FILES_CHKSUM has no module licences (caamcrypt-licenses.inc)')
    for pn in ('caamcrypt', 'caamsim'):
        if v[pn]['SRCREV'] != commit:
            out.append('%s SRCREV = %s, want the commit under test %s' % (pn, v[pn]['SRCREV'], commit))
    if 'libdevmapper' not in (c['RDEPENDS:caamcrypt'] or '').split():
        out.append('caamcrypt RDEPENDS lacks libdevmapper')
    if 'kernel-module-dm-crypt' not in (c['RRECOMMENDS:caamcrypt'] or '').split():
        out.append('caamcrypt RRECOMMENDS lacks kernel-module-dm-crypt')
    stamp = '-X main.version=%s-%s' % (c['PV'], commit[:12])
    if stamp not in c['GOBUILDFLAGS']:
        out.append('GOBUILDFLAGS %r lack %s' % (c['GOBUILDFLAGS'], stamp))
    if 'libdevmapper' not in c['DEPENDS'].split():
        out.append('caamcrypt DEPENDS lacks libdevmapper')
    k = v['linux-yocto']
    if 'file://caamcrypt.cfg' not in k['SRC_URI'].split():
        out.append('linux-yocto SRC_URI lacks file://caamcrypt.cfg (bbappend)')
    for p in k['localpaths']:
        if not os.path.isfile(p):
            out.append('linux-yocto fragment %s not found' % p)
    return out


def main(argv):
    with open(argv[1]) as f:
        v = json.load(f)
    bad = problems(v, argv[2])
    for p in bad:
        print('yocto: FAIL: ' + p, file=sys.stderr)
    if bad:
        return 1
    c = v['caamcrypt']
    print('yocto: BitBake values: PV=%s; LICENSE="%s"; %d gomod:// modules; RDEPENDS has libdevmapper; '
          'RRECOMMENDS kernel-module-dm-crypt; GOBUILDFLAGS stamp main.version=${PV}-<commit>; '
          'linux-yocto gets caamcrypt.cfg' % (
              c['PV'], c['LICENSE'], len([u for u in c['SRC_URI'].split() if u.startswith('gomod://')])))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
