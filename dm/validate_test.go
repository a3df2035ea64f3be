package dm

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

func TestValidateName(t *testing.T) {
	for _, n := range []string{"data", "caam-vol_1", "a.b:c@d=e+f#g", strings.Repeat("n", maxNameLen)} {
		if err := validateName(n); err != nil {
			t.Errorf("validateName(%q): %v", n, err)
		}
	}
	for _, n := range []string{"", ".", "..", "control", "a/b", "with space", "tab\t", strings.Repeat("n", maxNameLen+1)} {
		if err := validateName(n); !errors.Is(err, ErrInvalid) {
			t.Errorf("validateName(%q) = %v, want ErrInvalid", n, err)
		}
	}
	if err := validateUUID(strings.Repeat("u", maxUUIDLen+1)); !errors.Is(err, ErrInvalid) {
		t.Errorf("long UUID accepted: %v", err)
	}
	if err := validateUUID("CRYPT-PLAIN-caamcrypt-1"); err != nil {
		t.Errorf("good UUID refused: %v", err)
	}
}

func TestValidateTargets(t *testing.T) {
	good := [][]Target{
		{{Start: 0, Length: 8, Type: "zero"}},
		{{Start: 0, Length: 8, Type: "zero"}, {Start: 8, Length: 16, Type: "error"}},
		{{Start: 0, Length: 2048, Type: "crypt", Params: seedParams}},
		{{Start: 0, Length: 2048, Type: "crypt", Params: "capi:tk(cbc(aes))-plain :36:logon:logkey: 0 /dev/vdb 0 1 sector_size:4096"}},
	}
	for i, tbl := range good {
		if err := validateTargets(tbl); err != nil {
			t.Errorf("good table %d: %v", i, err)
		}
	}
	bad := map[string][]Target{
		"empty":            nil,
		"not from 0":       {{Start: 1, Length: 8, Type: "zero"}},
		"gap":              {{Start: 0, Length: 8, Type: "zero"}, {Start: 9, Length: 8, Type: "zero"}},
		"zero length":      {{Start: 0, Length: 0, Type: "zero"}},
		"no type":          {{Start: 0, Length: 8}},
		"newline params":   {{Start: 0, Length: 8, Type: "linear", Params: "/dev/vdb 0\n"}},
		"bad crypt":        {{Start: 0, Length: 8, Type: "crypt", Params: "aes"}},
		"crypt unaligned":  {{Start: 0, Length: 9, Type: "crypt", Params: "aes-cbc-plain :32:user:k 0 /dev/vdb 0 1 sector_size:4096"}},
		"crypt bad option": {{Start: 0, Length: 8, Type: "crypt", Params: "aes-cbc-plain :32:user:k 0 /dev/vdb 0 1 turbo"}},
	}
	for name, tbl := range bad {
		if err := validateTargets(tbl); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: validateTargets = %v, want ErrInvalid", name, err)
		}
	}
}

func TestErrorMessagesAndMatching(t *testing.T) {
	e := &Error{Op: "create", Target: "crypt", Name: "x", Err: unix.EEXIST}
	if !strings.HasPrefix(e.Error(), `dm: create crypt device "x": file exists`) {
		t.Errorf("message %q", e.Error())
	}
	var err error = fmt.Errorf("open volume: %w", e)
	if !errors.Is(err, ErrExists) || !errors.Is(err, unix.EEXIST) || errors.Is(err, ErrNotFound) {
		t.Errorf("EEXIST matching wrong for %v", err)
	}
	nf := &Error{Op: "remove", Name: "gone", Err: unix.ENXIO}
	if !errors.Is(nf, ErrNotFound) || errors.Is(nf, ErrExists) {
		t.Errorf("ENXIO matching wrong for %v", nf)
	}
	if !strings.HasPrefix(nf.Error(), `dm: remove device "gone": `) {
		t.Errorf("message %q", nf.Error())
	}
	busy := &Error{Op: "remove", Name: "b", Err: unix.EBUSY}
	if !errors.Is(busy, unix.EBUSY) || !strings.Contains(busy.Error(), "unmount") {
		t.Errorf("EBUSY error %q lacks errno or hint", busy.Error())
	}
	inv := &Error{Op: "create", Target: "crypt", Name: "c", Step: "load table", Err: unix.EINVAL}
	if !strings.Contains(inv.Error(), "load table: invalid argument") || !strings.Contains(inv.Error(), ":36:") {
		t.Errorf("crypt EINVAL message %q lacks step or hint", inv.Error())
	}
	lib := &Error{Op: "list devices", Err: ErrLibrary}
	if !strings.HasPrefix(lib.Error(), "dm: list devices: ") || !errors.Is(lib, ErrLibrary) {
		t.Errorf("library error %q", lib.Error())
	}
}

func TestTargetKind(t *testing.T) {
	if k := targetKind([]Target{{Type: "crypt"}, {Type: "crypt"}}); k != "crypt" {
		t.Errorf("targetKind(crypt, crypt) = %q", k)
	}
	if k := targetKind([]Target{{Type: "crypt"}, {Type: "zero"}}); k != "" {
		t.Errorf("targetKind(crypt, zero) = %q", k)
	}
}

func TestLibdmLevel(t *testing.T) {
	cases := map[int]logrus.Level{
		libdmLogFatal:        logrus.ErrorLevel,
		libdmLogErr:          logrus.ErrorLevel,
		libdmLogErr | 128:    logrus.ErrorLevel, // _LOG_STDERR flag
		libdmLogWarn:         logrus.WarnLevel,
		libdmLogNotice:       logrus.InfoLevel,
		libdmLogInfo:         logrus.DebugLevel,
		libdmLogDebug:        logrus.TraceLevel,
		libdmLogDebug | 0x80: logrus.TraceLevel,
	}
	for in, want := range cases {
		if got := libdmLevel(in); got != want {
			t.Errorf("libdmLevel(%#x) = %v, want %v", in, got, want)
		}
	}
}

type captureHook struct{ entries []*logrus.Entry }

func (h *captureHook) Levels() []logrus.Level { return logrus.AllLevels }
func (h *captureHook) Fire(e *logrus.Entry) error {
	h.entries = append(h.entries, e)
	return nil
}

func TestLogSink(t *testing.T) {
	l := logrus.New()
	l.SetLevel(logrus.DebugLevel)
	l.Out = &strings.Builder{}
	h := &captureHook{}
	l.AddHook(h)
	s := &logSink{logger: l}

	key := strings.Repeat("a1", 32)
	s.write(libdmLogErr, "ioctl.c", 10, int(unix.EBUSY), "device-mapper: remove ioctl on x failed: Device or resource busy")
	s.write(libdmLogDebug, "ioctl.c", 11, 0, "trace only, dropped at Debug")
	s.write(libdmLogInfo, "ioctl.c", 12, 0, "Adding target: 0 8 crypt aes "+key+" 0 /dev/vdb 0")
	restore := s.beQuiet()
	s.write(libdmLogErr, "ioctl.c", 13, 0, "expected failure")
	s.write(libdmLogErr, "ioctl.c", 14, 0, "a consequence of it")
	restore()

	if len(h.entries) != 4 {
		t.Fatalf("got %d entries, want 4 (debug-level libdm trace must be dropped at Debug)", len(h.entries))
	}
	if h.entries[0].Level != logrus.ErrorLevel || h.entries[0].Data["errno"] != int(unix.EBUSY) {
		t.Errorf("error entry: level %v data %v", h.entries[0].Level, h.entries[0].Data)
	}
	if strings.Contains(h.entries[1].Message, key) || !strings.Contains(h.entries[1].Message, Redacted) {
		t.Errorf("hex key not redacted: %q", h.entries[1].Message)
	}
	if h.entries[2].Level != logrus.DebugLevel || h.entries[3].Level != logrus.DebugLevel {
		t.Errorf("quiet errors logged at %v and %v, want debug", h.entries[2].Level, h.entries[3].Level)
	}
	if got := s.takeQuieted(); got != "expected failure" {
		t.Errorf("takeQuieted = %q, want the first demoted error line", got)
	}
	if got := s.takeQuieted(); got != "" {
		t.Errorf("second takeQuieted = %q, want empty", got)
	}
}

func TestLibraryError(t *testing.T) {
	e := &Error{Op: "list devices", Err: &libraryError{detail: "Failure to communicate with kernel device-mapper driver."}}
	if !errors.Is(e, ErrLibrary) || !strings.Contains(e.Error(), "Failure to communicate") {
		t.Errorf("library error %q", e.Error())
	}
	if got := (&libraryError{}).Error(); got != ErrLibrary.Error() {
		t.Errorf("empty libraryError = %q", got)
	}
}

func TestFindTarget(t *testing.T) {
	v := []TargetVersion{{Name: "zero", Major: 1, Minor: 2}, {Name: "crypt", Major: 1, Minor: 24, Patch: 0}}
	if got, ok := FindTarget(v, "crypt"); !ok || got.Minor != 24 {
		t.Errorf("FindTarget(crypt) = %+v, %v", got, ok)
	}
	if _, ok := FindTarget(v, "verity"); ok {
		t.Error("FindTarget(verity) found a missing target")
	}
}

func TestNodePath(t *testing.T) {
	if got := NodePath("data"); got != "/dev/mapper/data" {
		t.Errorf("NodePath(data) = %q", got)
	}
}

// Create refuses bad arguments before any libdevmapper call, so this runs
// everywhere, with or without cgo and device-mapper.
func TestCreateRefusesBeforeKernel(t *testing.T) {
	cases := map[string]struct {
		name    string
		targets []Target
		opts    CreateOptions
	}{
		"slash in name": {"a/b", []Target{{Length: 8, Type: "zero"}}, CreateOptions{}},
		"gap in table":  {"ok", []Target{{Length: 8, Type: "zero"}, {Start: 9, Length: 8, Type: "zero"}}, CreateOptions{}},
		"bad crypt":     {"ok", []Target{{Length: 8, Type: "crypt", Params: "capi:tk(cbc(aes))-plain :36:logon:nolabel 0 /dev/vdb 0"}}, CreateOptions{}},
		"long uuid":     {"ok", []Target{{Length: 8, Type: "zero"}}, CreateOptions{UUID: strings.Repeat("u", 200)}},
	}
	for name, c := range cases {
		err := Create(c.name, c.targets, c.opts)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Create = %v, want ErrInvalid", name, err)
		}
	}
	if err := Remove("../x", RemoveOptions{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Remove(../x) = %v, want ErrInvalid", err)
	}
}
