package main

import (
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/urfave/cli/v2"
)

// The manual page is made from the same command definitions as --help, so
// the two cannot disagree: `make man` writes docs/caamcrypt.8 and a test
// fails when the committed page differs from what the definitions give.

// manFiles and manSeeAlso close the page: what the tool reads and writes.
const manFiles = `.TP
.I /data/caam/NAME, /data/caam/NAME.bb
black key (valid until the next power-on reset) and blob of key NAME (--key-dir)
.TP
.I /etc/caamtab
the volume table: name, device (path, UUID= or LABEL=), key, options (--config)
.TP
.I /run/caamcrypt
per-volume and per-device locks
.TP
.I /dev/caam-keygen
NXP's CAAM key generation device (--caam-device)
`

const manSeeAlso = `.BR dmsetup (8),
.BR keyctl (1),
.BR cryptsetup (8),
.BR mke2fs (8),
.BR e2fsck (8)
`

// writeManPage writes app's manual page in roff (man(7) macros).
func writeManPage(w io.Writer, app *cli.App) error {
	p := &roff{w: w}
	p.line(`.TH CAAMCRYPT 8 "" "caamcrypt" "System Administration"`)
	p.section("NAME")
	p.line(app.Name + ` \- ` + p.escape(app.Usage))
	p.section("SYNOPSIS")
	p.line(`.B caamcrypt`)
	p.text("[GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGUMENTS]")
	p.section("DESCRIPTION")
	p.paragraphs(app.Description)
	p.section("GLOBAL OPTIONS")
	p.flags(app.Flags)
	p.section("COMMANDS")
	var walk func(prefix string, cs []*cli.Command)
	walk = func(prefix string, cs []*cli.Command) {
		for _, c := range cs {
			if c.Hidden {
				continue
			}
			name := prefix + c.Name
			p.line(".SS " + p.escape(strings.TrimSpace(name+" "+c.ArgsUsage)))
			p.text(c.Usage)
			if c.Description != "" {
				p.line(".PP")
				p.paragraphs(c.Description)
			}
			p.flags(c.Flags)
			walk(name+" ", c.Subcommands)
		}
	}
	walk("", app.Commands)
	p.section("EXIT STATUS")
	for _, l := range strings.Split(strings.TrimSpace(exitCodeHelp), "\n")[1:] {
		code, meaning, _ := strings.Cut(strings.TrimSpace(l), "  ")
		p.line(".TP")
		p.line(".B " + code)
		p.text(strings.TrimSpace(meaning))
	}
	p.section("FILES")
	p.line(strings.TrimSuffix(manFiles, "\n"))
	p.section("SEE ALSO")
	p.line(strings.TrimSuffix(manSeeAlso, "\n"))
	return p.err
}

// roff writes man(7) source, keeping the first write error.
type roff struct {
	w   io.Writer
	err error
}

func (p *roff) line(s string) {
	if p.err == nil {
		_, p.err = fmt.Fprintln(p.w, s)
	}
}

func (p *roff) section(name string) { p.line(".SH " + name) }

// text writes running text; a leading dot or quote would read as a request.
func (p *roff) text(s string) {
	s = p.escape(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	p.line(s)
}

// paragraphs writes help text whose lines were wrapped for a terminal: the
// lines of one paragraph are joined and left to the formatter.
func (p *roff) paragraphs(s string) {
	for i, par := range strings.Split(strings.TrimSpace(s), "\n\n") {
		if i > 0 {
			p.line(".PP")
		}
		p.text(strings.Join(strings.Fields(par), " "))
	}
}

// placeholder finds the `WORD` urfave/cli takes as an option's placeholder.
var placeholder = regexp.MustCompile("`([^`]*)`")

// flags writes one tagged paragraph per option, as --help shows them.
func (p *roff) flags(flags []cli.Flag) {
	for _, f := range flags {
		df, ok := f.(cli.DocGenerationFlag)
		if !ok {
			continue
		}
		names := f.Names()
		arg := ""
		if df.TakesValue() {
			arg = "value"
			if m := placeholder.FindStringSubmatch(df.GetUsage()); m != nil {
				arg = m[1]
			}
		}
		var forms []string
		for _, n := range names {
			dash := "--"
			if len(n) == 1 {
				dash = "-"
			}
			form := `\fB` + p.escape(dash+n) + `\fR`
			if arg != "" {
				form += ` \fI` + arg + `\fR`
			}
			forms = append(forms, form)
		}
		usage := strings.ReplaceAll(df.GetUsage(), "`", "")
		if d := defaultText(f, df); d != "" {
			usage += " (default: " + d + ")"
		}
		p.line(".TP")
		p.line(strings.Join(forms, ", "))
		p.text(usage)
	}
}

// defaultText is the default --help shows for f, or "".
func defaultText(f cli.Flag, df cli.DocGenerationFlag) string {
	if b, ok := f.(*cli.BoolFlag); ok && b.DisableDefaultText {
		return ""
	}
	if d := df.GetDefaultText(); d != "" && d != `""` && d != "0" {
		return d
	}
	return ""
}

// escape protects roff's escape character and hyphens in option names.
func (p *roff) escape(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	return strings.ReplaceAll(s, "-", `\-`)
}
