package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/ledger-docker/ledger-docker/internal/cli/clitest"
	"github.com/ledger-docker/ledger-docker/internal/exitcode"
	"github.com/ledger-docker/ledger-docker/internal/iostreams"
	"github.com/ledger-docker/ledger-docker/internal/pg/pgfake"
)

func TestNewCmdFlags(t *testing.T) {
	omit := func(o *Options) { o.IO, o.Engine = nil, nil }
	clitest.RunCases(t, clitest.WithFactory(NewCmd), omit, []clitest.Case[Options]{
		{Argv: "b.sql.gz", Want: Options{File: "b.sql.gz"}},
		{Argv: "--restore-test --json --image pg:15 --min-size 1KB b.sql.gz", Want: Options{File: "b.sql.gz", RestoreTest: true, JSON: true, Image: "pg:15", MinSize: "1KB"}},
		{Argv: "", WantErr: true},
		{Argv: "a b", WantErr: true},
	})
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(pgfake.CompleteDump(100 << 10))
	zw.Close()
	good := filepath.Join(dir, "legacy_20250101_000000.sql.gz")
	os.WriteFile(good, b.Bytes(), 0o600)
	truncated := filepath.Join(dir, "cut.sql.gz")
	os.WriteFile(truncated, b.Bytes()[:b.Len()/2], 0o600)
	for _, tc := range []struct {
		name       string
		opts       Options
		wantErr    error
		wantStdout string
	}{
		{name: "good legacy file", opts: Options{File: good}, wantStdout: "gzip_crc             ok"},
		{name: "truncated", opts: Options{File: truncated}, wantErr: exitcode.ErrVerify, wantStdout: "gzip_crc             FAILED   the file is truncated"},
		{name: "json", opts: Options{File: truncated, JSON: true}, wantErr: exitcode.ErrVerify, wantStdout: `"name": "gzip_crc"`},
		{name: "missing", opts: Options{File: filepath.Join(dir, "nope.sql.gz")}, wantErr: exitcode.ErrNotFound},
		{name: "restore test without manifest or image", opts: Options{File: good, RestoreTest: true}, wantErr: exitcode.ErrVerify, wantStdout: "name the database image with --image"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ios, _, stdout, _ := iostreams.Test()
			opts := tc.opts
			opts.IO = ios
			err := run(context.Background(), &opts)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(stdout.String(), tc.wantStdout) {
				t.Errorf("stdout = %s\nwant %q", stdout, tc.wantStdout)
			}
			if opts.JSON {
				var r Report
				if err := json.Unmarshal(stdout.Bytes(), &r); err != nil || r.Report.OK {
					t.Errorf("json: %v %+v", err, r)
				}
			}
		})
	}
}
