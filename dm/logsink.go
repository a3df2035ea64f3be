package dm

import (
	"regexp"
	"strconv"
	"sync"

	"github.com/sirupsen/logrus"
)

// libdevmapper log levels (lvm2 logging.h); the low bits hold the level,
// higher bits are flags such as "force stderr".
const (
	libdmLogFatal  = 2
	libdmLogErr    = 3
	libdmLogWarn   = 4
	libdmLogNotice = 5
	libdmLogInfo   = 6
	libdmLogDebug  = 7
	libdmLevelMask = 0x0f
)

// libdmLevel maps a libdevmapper log level onto logrus. libdevmapper's own
// chatter (info, debug) goes to Debug and Trace: every failure it logs is
// also returned to our caller as an error with the errno.
func libdmLevel(level int) logrus.Level {
	switch level & libdmLevelMask {
	case libdmLogFatal, libdmLogErr:
		return logrus.ErrorLevel
	case libdmLogWarn:
		return logrus.WarnLevel
	case libdmLogNotice:
		return logrus.InfoLevel
	case libdmLogInfo:
		return logrus.DebugLevel
	default:
		return logrus.TraceLevel
	}
}

// hexRun matches 32 or more hex digits: what a hex dm-crypt key (16 bytes
// or more) looks like inside a table line that libdevmapper might log.
var hexRun = regexp.MustCompile(`[0-9A-Fa-f]{32,}`)

// redactLine hides anything that looks like hex key material.
func redactLine(s string) string { return hexRun.ReplaceAllString(s, Redacted) }

// logSink receives libdevmapper's log lines. dm_log_with_errno_init takes a
// plain function pointer and no user data, so there is exactly one sink for
// the process; its mutex guards the settings below.
type logSink struct {
	mu     sync.Mutex
	logger *logrus.Logger
	// quiet > 0 demotes libdevmapper errors to Debug while we run a call
	// whose failure we expect and handle (a removal we will retry on
	// EBUSY, a rollback), so the user is not shown errors that did not
	// end the operation.
	quiet int
	// firstQuiet is the first error line demoted while quiet, kept so a
	// failure without an errno can still tell the user libdevmapper's
	// reason. The first, because the library's later lines follow from it
	// ("/dev/mapper/control: open failed: No such device", then "Failure
	// to communicate with kernel device-mapper driver.", ...).
	firstQuiet string
}

var sink = &logSink{logger: logrus.StandardLogger()}

// write logs one libdevmapper line.
func (s *logSink) write(level int, file string, line, errnoOrClass int, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lvl := libdmLevel(level)
	if s.quiet > 0 && lvl < logrus.DebugLevel {
		if lvl == logrus.ErrorLevel && s.firstQuiet == "" {
			s.firstQuiet = redactLine(msg)
		}
		lvl = logrus.DebugLevel
	}
	if !s.logger.IsLevelEnabled(lvl) {
		return
	}
	e := s.logger.WithField("component", "libdevmapper")
	if lvl >= logrus.DebugLevel {
		e = e.WithField("src", file+":"+strconv.Itoa(line))
	}
	if errnoOrClass > 0 && level&libdmLevelMask <= libdmLogErr {
		e = e.WithField("errno", errnoOrClass)
	}
	e.Log(lvl, redactLine(msg))
}

// beQuiet demotes libdevmapper errors until the returned func is called.
func (s *logSink) beQuiet() (restore func()) {
	s.mu.Lock()
	s.quiet++
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		s.quiet--
		s.mu.Unlock()
	}
}

// takeQuieted returns and forgets the first error line demoted while quiet.
func (s *logSink) takeQuieted() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.firstQuiet
	s.firstQuiet = ""
	return m
}
