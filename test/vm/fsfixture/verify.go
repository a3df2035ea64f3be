package fsfixture

// VerifyScript defines, for the guest's busybox sh:
//
//   - fx_manifest DIR: the manifest of the tree mounted at DIR, in the
//     form of Manifest.Text (lost+found left out), from a handful of
//     batched busybox calls (find -exec ... +, one awk), not one process
//     per file: thousands of forks cost minutes under TCG.
//   - fx_verify DIR EXPECTED: compares it with the file EXPECTED and
//     prints "@@FX ok <entries>", or "@@FX bad <differing lines>" and up
//     to six of them as "@@FXD -expected" / "@@FXD +found"; returns 0 only
//     when they are equal.
//
// Types come from the raw mode (%f: 8... regular, 4... directory, a...
// symlink); a directory's size and a symlink's mtime are "-".
const VerifyScript = `
fx_manifest() (
	cd "$1" || exit 1
	find . -type f -exec sha256sum {} + > /tmp/fx.h
	find . -type l > /tmp/fx.l0
	while IFS= read -r p; do printf '%s|%s\n' "$p" "$(readlink "$p")"; done < /tmp/fx.l0 > /tmp/fx.l
	find . ! -name . -exec stat -c '%n|%f|%u|%g|%s|%Y' {} + > /tmp/fx.s
	awk -F'|' -v H=/tmp/fx.h -v L=/tmp/fx.l '
		BEGIN {
			while ((getline l < H) > 0) h[substr(l, 67)] = substr(l, 1, 64)
			while ((getline l < L) > 0) { i = index(l, "|"); t[substr(l, 1, i - 1)] = substr(l, i + 1) }
		}
		{
			ty = substr($2, 1, length($2) - 3); c = "-"; s = $5; m = $6
			if (ty == "8") c = h[$1]
			else if (ty == "a") { c = t[$1]; m = "-" }
			else if (ty == "4") s = "-"
			print $1 "|" $2 "|" $3 "|" $4 "|" s "|" m "|" c
		}' /tmp/fx.s | grep -v '^\./lost+found' | LC_ALL=C sort
)

fx_verify() {
	fx_manifest "$1" > /tmp/fx.got 2> /tmp/fx.err
	if cmp -s /tmp/fx.got "$2"; then echo "@@FX ok $(wc -l < /tmp/fx.got)"; return 0; fi
	diff "$2" /tmp/fx.got | grep '^[-+]\./' > /tmp/fx.diff
	echo "@@FX bad $(wc -l < /tmp/fx.diff) $(tail -n 1 /tmp/fx.err)"
	head -n 6 /tmp/fx.diff | sed 's/^/@@FXD /'
	return 1
}
`
