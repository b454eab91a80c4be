package check

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/config"
)

// TestFixCases: what --fix edits, exactly, and what it leaves with a
// reason (issue 11: it edited an included file it was not given, left a
// blank at the end of `name: ~`, and skipped a null volume in a flow
// mapping without a word).
func TestFixCases(t *testing.T) {
	mounts := "services:\n  app:\n    image: busybox\n    volumes: [data:/srv/data, logs:/srv/logs]\n"
	const label = `com.ledgerflow.protect: "true"`
	tests := []struct {
		name     string
		files    map[string]string
		given    []string
		want     map[string]string // files after --fix
		fixed    []string          // file:volume
		notFixed []string          // file:volume: a part of the reason
		errors   int               // errors left
	}{
		{name: "--fix does not edit an included file it was not given",
			files: map[string]string{
				"compose.yaml": "include:\n  - other.yaml\n" + mounts + "volumes:\n  logs:\n    labels: [\"" + config.DefaultProtectLabel + "=true\"]\n",
				"other.yaml":   "volumes:\n  data: {}\n"},
			want:     map[string]string{"other.yaml": "volumes:\n  data: {}\n"},
			notFixed: []string{"other.yaml:data: the file was not given"},
			errors:   1},
		{name: "--fix edits an included file that is given too",
			files: map[string]string{
				"compose.yaml": "include:\n  - other.yaml\n" + mounts + "volumes:\n  logs:\n    labels: [\"" + config.DefaultProtectLabel + "=true\"]\n",
				"other.yaml":   "volumes:\n  data: {}\n"},
			given: []string{"compose.yaml", "other.yaml"},
			want:  map[string]string{"other.yaml": "volumes:\n  data: {labels: {" + label + "}}\n"},
			fixed: []string{"other.yaml:data"}},
		{name: "a volume written name: ~ keeps no blank at the end of the line",
			files: map[string]string{"compose.yaml": mounts + "volumes:\n  data: ~\n  logs: null\n"},
			want: map[string]string{"compose.yaml": mounts + "volumes:\n  data:\n    labels:\n      " + label + "\n" +
				"  logs:\n    labels:\n      " + label + "\n"},
			fixed: []string{"compose.yaml:data", "compose.yaml:logs"}},
		{name: "a null volume in a flow mapping",
			files: map[string]string{"compose.yaml": mounts + "volumes: {data: {}, logs: }\n"},
			want: map[string]string{"compose.yaml": mounts + "volumes: {data: {labels: {" + label + "}}, logs: {labels: {" +
				label + "}} }\n"},
			fixed: []string{"compose.yaml:data", "compose.yaml:logs"}},
		{name: "a null volume written ~ or bare in a flow mapping",
			files: map[string]string{"compose.yaml": mounts + "volumes: {data: ~, logs}\n"},
			want: map[string]string{"compose.yaml": mounts + "volumes: {data: {labels: {" + label + "}}, logs: {labels: {" +
				label + "}}}\n"},
			fixed: []string{"compose.yaml:data", "compose.yaml:logs"}},
		{name: "a volume that is an alias is explained, not edited",
			files: map[string]string{"compose.yaml": "x-vol: &vol {driver: local}\n" + mounts + "volumes:\n  data: *vol\n  logs: {}\n"},
			want: map[string]string{"compose.yaml": "x-vol: &vol {driver: local}\n" + mounts + "volumes:\n  data: *vol\n" +
				"  logs: {labels: {" + label + "}}\n"},
			fixed:    []string{"compose.yaml:logs"},
			notFixed: []string{"compose.yaml:data: the volume is an alias (*vol)"},
			errors:   1},
		{name: "a volume a merge key brings is explained, not edited",
			files: map[string]string{"compose.yaml": "x-vols: &vols\n  data: {}\n" + mounts + "volumes:\n  <<: *vols\n  logs: {}\n"},
			want: map[string]string{"compose.yaml": "x-vols: &vols\n  data: {}\n" + mounts + "volumes:\n  <<: *vols\n" +
				"  logs: {labels: {" + label + "}}\n"},
			fixed:    []string{"compose.yaml:logs"},
			notFixed: []string{"compose.yaml:data: a merge key brings it"},
			errors:   1},
		{name: "a volumes section that is an alias is explained, not edited",
			files: map[string]string{"compose.yaml": "x-vols: &vols\n  data: {}\n  logs: {}\n" + mounts + "volumes: *vols\n"},
			want:  map[string]string{"compose.yaml": "x-vols: &vols\n  data: {}\n  logs: {}\n" + mounts + "volumes: *vols\n"},
			notFixed: []string{"compose.yaml:data: the top-level volumes: is an alias (*vols)",
				"compose.yaml:logs: the top-level volumes: is an alias (*vols)"},
			errors: 2},
		{name: "an alias of a volume the fix protects is protected too, and not listed as left alone",
			files: map[string]string{"compose.yaml": mounts + "volumes:\n  data: &v\n    driver: local\n  logs: *v\n"},
			want: map[string]string{"compose.yaml": mounts + "volumes:\n  data: &v\n    labels:\n      " + label +
				"\n    driver: local\n  logs: *v\n"},
			fixed: []string{"compose.yaml:data"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, tt.files)
			rep, err := Run(context.Background(), Request{Files: orCompose(tt.given), Dir: dir, Env: []string{},
				ProtectLabel: config.DefaultProtectLabel, Fix: true})
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range tt.want {
				got, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != want {
					t.Errorf("%s after --fix:\n%s\nwant:\n%s", name, got, want)
				}
			}
			var fixed []string
			for _, f := range rep.Fixed {
				fixed = append(fixed, f.File+":"+f.Volume)
			}
			if strings.Join(fixed, " ") != strings.Join(tt.fixed, " ") {
				t.Errorf("fixed %v, want %v", fixed, tt.fixed)
			}
			if len(rep.NotFixed) != len(tt.notFixed) {
				t.Errorf("not fixed %+v, want %v", rep.NotFixed, tt.notFixed)
			}
			for i, nf := range rep.NotFixed {
				if i < len(tt.notFixed) {
					prefix, why, _ := strings.Cut(tt.notFixed[i], ": ")
					if nf.File+":"+nf.Volume != prefix || !strings.Contains(nf.Action, why) {
						t.Errorf("not fixed %s:%s: %s, want %s", nf.File, nf.Volume, nf.Action, tt.notFixed[i])
					}
				}
			}
			if rep.Errors != tt.errors {
				t.Errorf("errors after --fix = %d, want %d:\n%s", rep.Errors, tt.errors, render(rep))
			}
		})
	}
}
