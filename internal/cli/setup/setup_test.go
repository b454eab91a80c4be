package setup

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/cli/clitest"
	"github.com/ledger-docker/ledger-docker/internal/config"
	"github.com/ledger-docker/ledger-docker/internal/exitcode"
	"github.com/ledger-docker/ledger-docker/internal/iostreams"
)

const filter = "label!=com.ledgerflow.protect=true"

func TestEditPruneFilter(t *testing.T) {
	tests := []struct {
		name        string
		in          string
		add         bool
		want        string
		wantChanged bool
		wantErr     string
	}{
		{name: "absent file", in: "", add: true, wantChanged: true,
			want: "{\n\t\"pruneFilters\": [\n\t\t\"" + filter + "\"\n\t]\n}\n"},
		{name: "keeps other settings in order", in: `{"auths":{"x":{}},"detachKeys":"ctrl-e,e"}`, add: true, wantChanged: true,
			want: "{\n\t\"auths\": {\n\t\t\"x\": {}\n\t},\n\t\"detachKeys\": \"ctrl-e,e\",\n\t\"pruneFilters\": [\n\t\t\"" + filter + "\"\n\t]\n}\n"},
		{name: "keeps existing filters", in: `{"pruneFilters":["until=24h"],"z":1}`, add: true, wantChanged: true,
			want: "{\n\t\"pruneFilters\": [\n\t\t\"until=24h\",\n\t\t\"" + filter + "\"\n\t],\n\t\"z\": 1\n}\n"},
		{name: "already there", in: `{"pruneFilters":["` + filter + `"]}`, add: true,
			want: `{"pruneFilters":["` + filter + `"]}`},
		{name: "null filters", in: `{"pruneFilters":null}`, add: true, wantChanged: true,
			want: "{\n\t\"pruneFilters\": [\n\t\t\"" + filter + "\"\n\t]\n}\n"},
		{name: "remove keeps other filters", in: `{"pruneFilters":["until=24h","` + filter + `"]}`, wantChanged: true,
			want: "{\n\t\"pruneFilters\": [\n\t\t\"until=24h\"\n\t]\n}\n"},
		{name: "remove last filter drops the key", in: `{"a":true,"pruneFilters":["` + filter + `"]}`, wantChanged: true,
			want: "{\n\t\"a\": true\n}\n"},
		{name: "remove absent", in: `{"a":true}`, want: `{"a":true}`},
		{name: "remove from absent file", in: "", want: ""},
		{name: "big numbers kept", in: `{"n":12345678901234567890}`, add: true, wantChanged: true,
			want: "{\n\t\"n\": 12345678901234567890,\n\t\"pruneFilters\": [\n\t\t\"" + filter + "\"\n\t]\n}\n"},
		{name: "not an object", in: `[1]`, add: true, wantErr: "not a JSON object"},
		{name: "malformed", in: `{"a":`, add: true, wantErr: "config.json"},
		{name: "trailing data", in: `{} {}`, add: true, wantErr: "trailing data"},
		{name: "filters not strings", in: `{"pruneFilters":[1]}`, add: true, wantErr: "list of strings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed, err := EditPruneFilter([]byte(tt.in), filter, tt.add)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want || changed != tt.wantChanged {
				t.Errorf("got %q changed=%v\nwant %q changed=%v", got, changed, tt.want, tt.wantChanged)
			}
			if changed && !json.Valid(got) {
				t.Errorf("output is not valid JSON: %s", got)
			}
		})
	}
}

func TestNewCmdFlags(t *testing.T) {
	omit := func(o *Options) { o.IO, o.Config = nil, nil }
	clitest.RunCases(t, clitest.WithFactory(NewCmd), omit, []clitest.Case[Options]{
		{Argv: "", Want: Options{}},
		{Argv: "--prune-filter", Want: Options{AddPruneFilter: true}},
		{Argv: "--remove-prune-filter --json", Want: Options{RemovePruneFilter: true, JSON: true}},
		{Argv: "--prune-filter --docker-config /x", Want: Options{AddPruneFilter: true, ConfigDir: "/x"}},
		{Argv: "--prune-filter --remove-prune-filter", WantErr: true},
		{Argv: "extra", WantErr: true},
	})
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	orig := `{"auths":{"example":{"auth":"c2VjcmV0"}},"pruneFilters":["until=24h"]}`
	if err := os.WriteFile(path, []byte(orig), 0o640); err != nil {
		t.Fatal(err)
	}
	cfg := func() (*config.Config, error) { return &config.Config{ProtectLabel: "com.example.keep"}, nil }
	runOnce := func(add, remove bool) Report {
		t.Helper()
		ios, _, out, _ := iostreams.Test()
		opts := &Options{IO: ios, Config: cfg, ConfigDir: dir, AddPruneFilter: add, RemovePruneFilter: remove, JSON: true}
		if err := run(t.Context(), opts); err != nil {
			t.Fatal(err)
		}
		var rep Report
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return rep
	}
	rep := runOnce(true, false)
	if !rep.Changed || !rep.Installed || rep.Filter != "label!=com.example.keep=true" ||
		strings.Join(rep.PruneFilters, " ") != "until=24h label!=com.example.keep=true" {
		t.Errorf("first add: %+v", rep)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("mode after rewrite = %v (%v), want 0640 kept", fi.Mode().Perm(), err)
	}
	after, _ := os.ReadFile(path)
	if rep := runOnce(true, false); rep.Changed || !rep.Installed {
		t.Errorf("second add changed something: %+v", rep)
	}
	if again, _ := os.ReadFile(path); string(again) != string(after) {
		t.Errorf("second add rewrote the file")
	}
	if rep := runOnce(false, false); rep.Changed || !rep.Installed {
		t.Errorf("status: %+v", rep)
	}
	if rep := runOnce(false, true); !rep.Changed || rep.Installed || strings.Join(rep.PruneFilters, " ") != "until=24h" {
		t.Errorf("remove: %+v", rep)
	}
	var got map[string]any
	data, _ := os.ReadFile(path)
	if err := json.Unmarshal(data, &got); err != nil || got["auths"] == nil {
		t.Errorf("other settings lost: %s", data)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("folder holds %d entries, want only config.json (no temp files)", len(entries))
	}
}

func TestRunMalformedLeavesFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, []byte(`{"a":`), 0o600); err != nil {
		t.Fatal(err)
	}
	ios, _, _, _ := iostreams.Test()
	err := run(t.Context(), &Options{IO: ios, ConfigDir: dir, AddPruneFilter: true,
		Config: func() (*config.Config, error) { return &config.Config{ProtectLabel: config.DefaultProtectLabel}, nil }})
	if exitcode.Of(err) != exitcode.Config {
		t.Errorf("exit code = %d (%v), want %d", exitcode.Of(err), err, exitcode.Config)
	}
	if data, _ := os.ReadFile(path); string(data) != `{"a":` {
		t.Errorf("malformed file was changed: %q", data)
	}
}

func TestRunConflictingLabelFilter(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	orig := `{"pruneFilters":["label!=com.example.keep"]}`
	if err := os.WriteFile(path, []byte(orig), 0o600); err != nil {
		t.Fatal(err)
	}
	ios, _, out, errOut := iostreams.Test()
	err := run(t.Context(), &Options{IO: ios, ConfigDir: dir, AddPruneFilter: true, JSON: true,
		Config: func() (*config.Config, error) { return &config.Config{ProtectLabel: config.DefaultProtectLabel}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Changed || rep.Installed || len(rep.Conflicts) != 1 || rep.Conflicts[0] != "label!=com.example.keep" {
		t.Errorf("report: %+v", rep)
	}
	if !strings.Contains(errOut.String(), "combines") || !strings.Contains(errOut.String(), "Not added") {
		t.Errorf("stderr: %q", errOut)
	}
	if data, _ := os.ReadFile(path); string(data) != orig {
		t.Errorf("config.json changed: %s", data)
	}
}
