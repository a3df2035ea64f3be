package caamc

import "github.com/sirupsen/logrus"

// redacted replaces key bytes in every log line.
const redacted = "<redacted>"

// trace is the logger for kernel and C calls; it is logrus' standard logger
// so the CLI's --log-level debug turns it on.
func trace(fields logrus.Fields) *logrus.Entry {
	return logrus.WithFields(fields).WithField("pkg", "caamc")
}
