# SPDX-License-Identifier: MIT
"""Drives BitBake through tinfoil for test/yocto/check.sh.

One tinfoil session per run, so the ~950 recipes are parsed once (a second
bitbake command in a fresh build directory parses them again: docs/caam-abi.md
§13).

  bbdriver.py check OUT.json GO BIN
                                   parse everything, record the recipes'
                                   variables, run do_unpack of caamcrypt and
                                   caamsim, build the unpacked tree with the
                                   host Go offline (to BIN), go mod verify,
                                   then OE's own LIC_FILES_CHKSUM check
  bbdriver.py update-modules RECIPE.bb SRCDIR OUTDIR
                                   run go-mod-update-modules.bbclass's
                                   do_update_modules code with the host Go
"""

import json
import os
import subprocess
import sys
import tempfile

import bb.build
import bb.fetch2
import bb.tinfoil

RECIPES = ('caamcrypt', 'caamsim')
VARS = ('PV', 'SRCREV', 'SRC_URI', 'LICENSE', 'LIC_FILES_CHKSUM', 'S', 'UNPACKDIR',
        'GO_SRCURI_DESTSUFFIX', 'GOMODCACHE', 'GO_EXTRA_LDFLAGS', 'GOBUILDFLAGS',
        'DEPENDS', 'RDEPENDS:caamcrypt', 'RRECOMMENDS:caamcrypt', 'RDEPENDS:caamsim',
        'RPROVIDES:caamsim', 'COMPATIBLE_MACHINE', 'LAYERSERIES_CORENAMES')


def add_layer_libs(tinfoil):
    """Make the layers' Python (oe.*) importable here, as BitBake's own
    workers do, for the class code this client runs itself."""
    for layer in reversed(tinfoil.config_data.getVar('BBPATH').split(':')):
        lib = os.path.join(layer, 'lib')
        if os.path.isdir(lib) and lib not in sys.path:
            sys.path.insert(0, lib)
    # Class code uses oe.* as a global, which BitBake's addpylib sets up in
    # its own processes (oe-core's conf/layer.conf), not in this client.
    import oe.license
    import oe.path
    import oe.qa
    import oe.utils
    bb.utils._context['oe'] = oe


def offline_build(v, go, outbin):
    """Build cmd/caamcrypt from the unpacked tree with the host Go and no
    network, from the module cache the gomod fetcher filled; then go mod
    verify. -modcacherw as go-mod.bbclass does: the next do_unpack must be
    able to clean the cache. This also extracts the module zips into the cache, which the
    licence check reads (go-mod.bbclass runs do_compile before
    do_populate_lic for the same reason)."""
    src = os.path.join(v['UNPACKDIR'], v['GO_SRCURI_DESTSUFFIX'])
    env = dict(os.environ, GOFLAGS='-mod=mod', GOPROXY='off', GOSUMDB='off', GOTOOLCHAIN='local',
               GOMODCACHE=v['GOMODCACHE'], CGO_ENABLED='1',
               GOCACHE=os.path.join(os.path.dirname(outbin), 'gocache'))
    steps = [
        # The recipe's own version stamp (GO_EXTRA_LDFLAGS).
        [go, 'build', '-trimpath', '-modcacherw', '-ldflags', v['GO_EXTRA_LDFLAGS'].strip(), '-o', outbin, './cmd/caamcrypt'],
        [outbin, '--version'],
        [go, 'mod', 'verify'],
    ]
    outs = []
    for cmd in steps:
        print('bbdriver: (cd %s && %s)' % (src, ' '.join(cmd)), flush=True)
        r = subprocess.run(cmd, cwd=src, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        print(r.stdout, flush=True)
        if r.returncode != 0:
            print('bbdriver: %s failed: exit %d' % (cmd[1], r.returncode), file=sys.stderr)
            return None
        outs.append(r.stdout.strip())
    return outs


def check(out, go, outbin):
    with bb.tinfoil.Tinfoil() as tinfoil:
        tinfoil.prepare(config_only=False, quiet=2)
        add_layer_libs(tinfoil)
        found = {}
        for pn in RECIPES:
            d = tinfoil.parse_recipe(pn)
            found[pn] = {v: d.getVar(v) for v in VARS}
            found[pn]['FILE'] = d.getVar('FILE')
        # The kernel fragment the layer's bbappend adds: in SRC_URI, and
        # found on FILESPATH as the fetcher would look it up.
        d = tinfoil.parse_recipe('linux-yocto')
        frags = [u for u in d.getVar('SRC_URI').split() if u.startswith('file://caamcrypt')]
        found['linux-yocto'] = {
            'SRC_URI': ' '.join(frags),
            'localpaths': [bb.fetch2.Fetch([u], d).localpath(u) for u in frags],
        }
        with open(out, 'w') as f:
            json.dump(found, f, indent=1)
        print('yocto: parsed all recipes with the layer', flush=True)
        if not tinfoil.build_targets(list(RECIPES), 'unpack'):
            print('bbdriver: do_unpack failed', file=sys.stderr)
            return 1
        print('yocto: bitbake caamcrypt caamsim -c unpack: source from the local clone, %d gomod:// '
              'modules from the Go proxy, checksums verified' % len(
                  [u for u in found['caamcrypt']['SRC_URI'].split() if u.startswith('gomod://')]), flush=True)
        outs = offline_build(found['caamcrypt'], go, outbin)
        if outs is None:
            return 1
        print('yocto: host Go built the unpacked tree offline (GOPROXY=off, GOMODCACHE=the fetcher\'s '
              'cache): the committed module list is complete; "%s"' % outs[1], flush=True)
        print('yocto: go mod verify on that cache: %s' % outs[2].splitlines()[-1], flush=True)
        # The licence checksums of the main source and of every Go module
        # (caamcrypt-licenses.inc) against the unpacked tree, with the
        # postfunc do_populate_lic runs in a real build (insane.bbclass).
        d = tinfoil.parse_recipe('caamcrypt')
        d.setVar('T', tempfile.mkdtemp(prefix='bbdriver-'))
        try:
            bb.build.exec_func('populate_lic_qa_checksum', d)
        except Exception as e:  # bb.BBHandledException and friends
            print('bbdriver: LIC_FILES_CHKSUM check failed: %s' % e, file=sys.stderr)
            return 1
        print('yocto: OE\'s LIC_FILES_CHKSUM check: the main licence and every module licence match')
    return 0


def update_modules(recipe, srcdir, outdir):
    with bb.tinfoil.Tinfoil() as tinfoil:
        # Configuration only: the recipe is parsed by file name, so the
        # other recipes need not be.
        tinfoil.prepare(config_only=True, quiet=2)
        add_layer_libs(tinfoil)
        d = tinfoil.parse_recipe_file(recipe)
        # The class runs "go list" in ${UNPACKDIR}/${GO_SRCURI_DESTSUFFIX}
        # and writes the two files to ${THISDIR}.
        d.setVar('UNPACKDIR', os.path.dirname(srcdir))
        d.setVar('GO_SRCURI_DESTSUFFIX', os.path.basename(srcdir))
        d.setVar('THISDIR', outdir)
        d.setVar('T', tempfile.mkdtemp(prefix='bbdriver-'))
        bb.build.exec_func('do_update_modules', d)
    return 0


def main(argv):
    if len(argv) == 5 and argv[1] == 'check':
        return check(*argv[2:])
    if len(argv) == 5 and argv[1] == 'update-modules':
        return update_modules(*argv[2:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
