package main

import (
	"fmt"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/caamcrypt/caamcrypt/caamc"
	"github.com/caamcrypt/caamcrypt/internal/fail"
)

// Default locations, compatible with NXP's caam-keygen and the seed flow.
const (
	defaultKeyDir = "/data/caam"
	defaultConfig = "/etc/caamtab"
)

// globalFlags are accepted before any command.
func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{
			Name:    "log-level",
			Value:   "warning",
			Usage:   "log `LEVEL`: error, warning, info, debug (traces every kernel and C call, secrets redacted) or trace (also process protection)",
			EnvVars: []string{"CAAMCRYPT_LOG_LEVEL"},
		},
		&cli.StringFlag{
			Name:    "log-format",
			Value:   "text",
			Usage:   "log `FORMAT`: text or json",
			EnvVars: []string{"CAAMCRYPT_LOG_FORMAT"},
		},
		&cli.StringFlag{
			Name:    "caam-device",
			Value:   caamc.DefaultDevice,
			Usage:   "CAAM keygen device node `PATH`",
			EnvVars: []string{"CAAMCRYPT_CAAM_DEVICE"},
		},
		&cli.StringFlag{
			Name:    "key-dir",
			Value:   defaultKeyDir,
			Usage:   "`DIR` of black key and blob files",
			EnvVars: []string{"CAAMCRYPT_KEY_DIR"},
		},
		&cli.StringFlag{
			Name:    "config",
			Value:   defaultConfig,
			Usage:   "volume table `FILE` (like crypttab) read by open and close",
			EnvVars: []string{"CAAMCRYPT_CONFIG"},
		},
	}
}

// setupGlobals configures logging from the global flags before any command runs.
func setupGlobals(c *cli.Context) error {
	level, err := logrus.ParseLevel(c.String("log-level"))
	if err != nil {
		return fmt.Errorf("%w: --log-level: %w", fail.ErrUsage, err)
	}
	logrus.SetLevel(level)
	logrus.SetOutput(c.App.ErrWriter)
	switch strings.ToLower(c.String("log-format")) {
	case "text":
		logrus.SetFormatter(&logrus.TextFormatter{DisableTimestamp: false, FullTimestamp: true})
	case "json":
		logrus.SetFormatter(&logrus.JSONFormatter{})
	default:
		return fmt.Errorf("%w: --log-format %q: want text or json", fail.ErrUsage, c.String("log-format"))
	}
	if hardened {
		for _, n := range hardenNotes {
			logrus.Debug(n)
		}
		logrus.Tracef("process protection: %s", processProtection())
	}
	return nil
}
