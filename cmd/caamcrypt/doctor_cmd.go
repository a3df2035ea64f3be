package main

import (
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/caamcrypt/caamcrypt/dm"
	"github.com/caamcrypt/caamcrypt/internal/doctor"
	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/keyring"
)

func doctorCommand() *cli.Command {
	return &cli.Command{
		Name:  "doctor",
		Usage: "check that this device can run encrypted volumes (exit 0 ready, 3 not ready)",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON"}},
		Action: func(c *cli.Context) error {
			rep := doctor.Run(systemDoctorEnv(c.String("caam-device")))
			if c.Bool("json") {
				if err := writeJSON(c.App.Writer, rep); err != nil {
					return err
				}
			} else {
				printDoctor(c.App.Writer, rep)
			}
			if !rep.Ready {
				return fmt.Errorf("%w: this device is not ready for caamcrypt volumes (see the failed checks)", fail.ErrNotReady)
			}
			return nil
		},
	}
}

func printDoctor(w io.Writer, rep doctor.Report) {
	for _, r := range rep.Results {
		fmt.Fprintf(w, "[%-4s] %-28s %s\n", r.Status, r.Name, r.Detail)
		if r.Hint != "" && r.Status != doctor.OK {
			fmt.Fprintf(w, "       %-28s hint: %s\n", "", r.Hint)
		}
	}
	if rep.Ready {
		fmt.Fprintln(w, "ready")
	} else {
		fmt.Fprintln(w, "not ready")
	}
}

// systemDoctorEnv is the doctor's view of the running system.
func systemDoctorEnv(caamDevice string) doctor.Env {
	var uts unix.Utsname
	release := ""
	if unix.Uname(&uts) == nil {
		release = unix.ByteSliceToString(uts.Release[:])
	}
	return doctor.Env{
		Dev: "/dev", Proc: "/proc", Run: "/run", Boot: "/boot",
		CAAMDevice:    caamDevice,
		KernelRelease: release,
		LookPath:      doctor.DefaultLookPath,
		DMTargets: func() ([]doctor.TargetVersion, error) {
			vs, err := dm.Versions()
			out := make([]doctor.TargetVersion, 0, len(vs))
			for _, v := range vs {
				out = append(out, doctor.TargetVersion{Name: v.Name, Major: v.Major, Minor: v.Minor, Patch: v.Patch})
			}
			return out, err
		},
		KeyringProbe: probeKeyring,
	}
}

// probeKeyring adds a throw-away logon key to the default keyring and
// removes it again.
func probeKeyring() error {
	desc := fmt.Sprintf("caamcrypt:doctor-%d", os.Getpid())
	id, err := keyring.AddLogon(desc, make([]byte, 32), keyring.DefaultRing)
	if err != nil {
		return err
	}
	if err := keyring.Revoke(id); err != nil {
		return err
	}
	return keyring.Unlink(id, keyring.DefaultRing)
}
