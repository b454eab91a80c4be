package check

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
	"testing/fstest"

	"github.com/ledger-docker/ledger-docker/internal/cli/clitest"
	"github.com/ledger-docker/ledger-docker/internal/engine/fake"
	"github.com/ledger-docker/ledger-docker/internal/exitcode"
)

// TestExitStatusWithManyFiles: one call over many files prints every
// file's findings whatever another file does; a file that cannot be read
// still makes the exit status 2 (after the others' findings), a malformed
// one is an error finding (1), and --fix says what it did not fix.
func TestExitStatusWithManyFiles(t *testing.T) {
	unprotected := "services:\n  app:\n    image: busybox\n    volumes: [data:/srv/data]\nvolumes:\n  data: {}\n"
	tests := []struct {
		name       string
		files      map[string]string
		args       []string
		fix        bool
		wantCode   int
		wantStdout []string
		wantStderr []string
	}{
		{name: "a file that cannot be read among good ones",
			// a folder where a file should be: unreadable, even for root
			files: map[string]string{"good/compose.yaml": unprotected, "broken/compose.yaml/README": "x"},
			args:  []string{"good/compose.yaml", "broken/compose.yaml"}, wantCode: 2,
			wantStdout: []string{`good/compose.yaml:6:3: error: volume "data" has no com.ledgerflow.protect=true label`},
			wantStderr: []string{"docker ledger check: 1 error, 0 warnings",
				"docker ledger check: cannot read or write file: broken/compose.yaml: is a directory"}},
		{name: "a malformed file among good ones",
			files: map[string]string{"good/compose.yaml": unprotected,
				"bad/compose.yaml": "services:\n  app:\n    image: busybox\nnetworks:\n  - front\n"},
			args: []string{"good/compose.yaml", "bad/compose.yaml"}, wantCode: 1,
			wantStdout: []string{"bad/compose.yaml:5:3: error: networks must be a mapping [compose-parse-error]",
				`good/compose.yaml:6:3: error: volume "data" has no com.ledgerflow.protect=true label`},
			wantStderr: []string{"docker ledger check: 2 errors, 0 warnings"}},
		{name: "a file that nests aliases among good ones",
			files: map[string]string{"good/compose.yaml": unprotected,
				"laughs/compose.yaml": "services:\n  app:\n    image: busybox\nx-a: &a [*a]\n"},
			args: []string{"good/compose.yaml", "laughs/compose.yaml"}, wantCode: 1,
			wantStdout: []string{"laughs/compose.yaml:4:10: error: alias *a refers to the value that holds it",
				`good/compose.yaml:6:3: error: volume "data"`}},
		{name: "--fix says what it did not fix",
			files: map[string]string{"compose.yaml": "include:\n  - other.yaml\nservices:\n  app:\n    image: busybox\n" +
				"    volumes: [data:/srv/data]\n", "other.yaml": "volumes:\n  data: {}\n"},
			args: []string{"compose.yaml"}, fix: true, wantCode: 1,
			wantStdout: []string{`other.yaml:2:3: error: volume "data" has no com.ledgerflow.protect=true label`},
			wantStderr: []string{`other.yaml:2: not fixed: volume "data": the file was not given`}},
		{name: "paths that are no file, whatever their names, among good ones",
			files: map[string]string{"good/compose.yaml": unprotected, "bin/reset": "#!/bin/sh\n"},
			args:  []string{"good/compose.yaml", "bin", "nonexist"}, wantCode: 2,
			wantStdout: []string{`good/compose.yaml:6:3: error: volume "data" has no com.ledgerflow.protect=true label`},
			wantStderr: []string{"docker ledger check: cannot read or write file: bin: is a directory",
				"docker ledger check: cannot read or write file: nonexist: no such file or directory"}},
		{name: "nothing to check among the files given",
			files: map[string]string{"notes.txt": "docker compose down -v\n"}, args: []string{"notes.txt"},
			wantStderr: []string{"docker ledger check: nothing to check: none of the files given is a compose file"}},
		{name: "nothing to check in the folder",
			files:      map[string]string{"notes.txt": "docker compose down -v\n"},
			wantStderr: []string{"docker ledger check: nothing to check: no compose file, script"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for name, content := range tt.files {
				fsys[name] = &fstest.MapFile{Data: []byte(content), Mode: 0o644}
			}
			dir := t.TempDir()
			if err := os.CopyFS(dir, fsys); err != nil {
				t.Fatal(err)
			}
			f, out, errOut := testFactory(fake.New())
			code := runStatus(t, &Options{IO: f.IO, Config: f.Config, Engine: f.Engine, Getenv: f.Getenv,
				Name: "docker ledger check", Dir: dir, Files: tt.args, Format: "text", NoEngine: true, Fix: tt.fix}, errOut)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\n%s", code, tt.wantCode, out)
			}
			clitest.Contains(t, "stdout", out.String(), tt.wantStdout)
			clitest.Contains(t, "stderr", errOut.String(), tt.wantStderr)
		})
	}
}

// runStatus runs the command and returns its exit status, with the status
// message written to errOut as the hook prints it.
func runStatus(t *testing.T, opts *Options, errOut *bytes.Buffer) int {
	t.Helper()
	err := run(context.Background(), opts)
	var st exitcode.Status
	switch {
	case errors.As(err, &st):
		errOut.WriteString(st.Message)
		return st.Code
	case err != nil:
		t.Fatal(err)
	}
	return 0
}
