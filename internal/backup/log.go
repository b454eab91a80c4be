package backup

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/verify"
)

// LogName is the run log in the backup folder.
const LogName = "backup.log"

// LogLine is one run in backup.log.
type LogLine struct {
	Time     time.Time
	Type     string
	File     string
	Size     int64
	Duration time.Duration
	// Verification is "full:ok", "quick:ok", "full:failed(checks)" or "-".
	Verification string
	Trigger      string
	Err          string
}

// String is the line, logfmt style: time first, then key=value pairs
// (values quoted when they hold spaces).
func (l LogLine) String() string {
	q := func(s string) string {
		if s == "" {
			return "-"
		}
		if strings.ContainsAny(s, " \t\"=\n") {
			return strconv.Quote(s)
		}
		return s
	}
	status := "ok"
	if l.Err != "" {
		status = "failed"
	}
	s := fmt.Sprintf("%s status=%s type=%s file=%s size=%d duration=%.1fs verification=%s",
		l.Time.UTC().Format(time.RFC3339), status, q(l.Type), q(l.File), l.Size, l.Duration.Seconds(), q(l.Verification))
	if l.Trigger != "" {
		s += " trigger=" + q(l.Trigger)
	}
	return s + " error=" + q(l.Err)
}

// AppendLog appends one line to dir/backup.log (0600) and syncs it.
func AppendLog(dir string, l LogLine) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dir, LogName), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.WriteString(l.String() + "\n")
	serr := f.Sync()
	cerr := f.Close()
	for _, e := range []error{werr, serr, cerr} {
		if e != nil {
			return e
		}
	}
	return nil
}

func verificationSummary(r verify.Report) string {
	if r.OK {
		return r.Mode + ":ok"
	}
	var names []string
	for _, c := range r.Failed() {
		names = append(names, c.Name)
	}
	return r.Mode + ":failed(" + strings.Join(names, ",") + ")"
}
