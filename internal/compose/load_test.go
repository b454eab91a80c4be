package compose

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

func load(t *testing.T, src string, env []string, lenient bool) (*types.Project, error) {
	t.Helper()
	dir := t.TempDir()
	f := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return Load(context.Background(), Options{ConfigPaths: []string{f}, ProjectDir: dir, ProjectName: "p",
		Env: append([]string{"PWD=" + dir}, env...), Lenient: lenient})
}

// TestLenientUnsetVariables: a lenient load tolerates an unset variable in
// any field, giving it "" as compose does where "" fits, and the first of
// unsetFills that fits elsewhere; a variable that is set is used, and
// checked, as compose would.
func TestLenientUnsetVariables(t *testing.T) {
	tests := []struct {
		name    string
		service string
		env     []string
		check   func(s types.ServiceConfig) bool
		wantErr string
	}{
		{name: "unset cpus is 1", service: "cpus: ${CPUS}",
			check: func(s types.ServiceConfig) bool { return s.CPUS == 1 }},
		{name: "unset required cpus is 1", service: "cpus: ${CPUS:?set it}",
			check: func(s types.ServiceConfig) bool { return s.CPUS == 1 }},
		{name: "a default is used", service: "cpus: ${CPUS:-2}",
			check: func(s types.ServiceConfig) bool { return s.CPUS == 2 }},
		{name: "a set cpus is used", service: "cpus: ${CPUS}", env: []string{"CPUS=0.5"},
			check: func(s types.ServiceConfig) bool { return s.CPUS == 0.5 }},
		{name: "a set cpus that is not a number fails", service: "cpus: ${CPUS}", env: []string{"CPUS=lots"},
			wantErr: "error while interpolating services.app.cpus: failed to cast to expected type"},
		{name: "unset boolean is false", service: "read_only: ${RO}",
			check: func(s types.ServiceConfig) bool { return !s.ReadOnly }},
		{name: "unset mem_limit is 1 byte", service: "mem_limit: ${MEM}",
			check: func(s types.ServiceConfig) bool { return s.MemLimit == 1 }},
		{name: "unset interval is 0", service: "healthcheck: {test: [CMD, \"true\"], interval: \"${INTERVAL}\"}",
			check: func(s types.ServiceConfig) bool { return s.HealthCheck.Interval != nil && *s.HealthCheck.Interval == 0 }},
		{name: "unset published port is empty", service: "ports: [\"${PORT}:80\"]",
			check: func(s types.ServiceConfig) bool { return len(s.Ports) == 1 && s.Ports[0].Target == 80 }},
		{name: "unset port is port 1", service: "ports: [\"${PORT}\"]",
			check: func(s types.ServiceConfig) bool { return len(s.Ports) == 1 && s.Ports[0].Target == 1 }},
		{name: "unset volume source is volume 1", service: "volumes: [\"${DATA}:/data\"]",
			check: func(s types.ServiceConfig) bool {
				return len(s.Volumes) == 1 && s.Volumes[0].Source == "1" && s.Volumes[0].Target == "/data"
			}},
		{name: "an unset variable in a bind path stays empty", service: "volumes: [\"./${DIR}/data:/data\"]",
			check: func(s types.ServiceConfig) bool {
				return len(s.Volumes) == 1 && strings.HasSuffix(s.Volumes[0].Source, "/data")
			}},
		{name: "unset image and environment are empty", service: "image: ${IMAGE}\n    environment: {PGDATA: \"${PGDATA}\"}",
			check: func(s types.ServiceConfig) bool {
				return s.Image == "" && s.Environment["PGDATA"] != nil && *s.Environment["PGDATA"] == ""
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := load(t, "services:\n  app:\n    "+tt.service+"\n", tt.env, true)
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err = %v, want %q", err, tt.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			case !tt.check(p.Services["app"]):
				t.Errorf("service loaded as %+v", p.Services["app"])
			}
		})
	}
}

// TestStrictLoadIsCompose: a load that is not lenient fails on an unset
// variable as compose does, also after lenient loads (they never change
// compose-go's own cast table).
func TestStrictLoadIsCompose(t *testing.T) {
	src := "services:\n  app:\n    image: busybox\n    cpus: ${CPUS}\n"
	if _, err := load(t, src, nil, true); err != nil {
		t.Fatalf("lenient: %v", err)
	}
	_, err := load(t, src, nil, false)
	if err == nil || !strings.Contains(err.Error(), "services.app.cpus") {
		t.Fatalf("strict load: err = %v, want compose's interpolation error", err)
	}
}

// TestLenientIncludedFile: an included file is interpolated with the same
// leniency (compose-go hands it the same substitution and casts).
func TestLenientIncludedFile(t *testing.T) {
	dir := t.TempDir()
	for name, src := range map[string]string{
		"compose.yaml": "include:\n  - other.yaml\nservices:\n  app:\n    image: busybox\n",
		"other.yaml":   "services:\n  db:\n    image: busybox\n    cpus: ${CPUS}\n    mem_limit: ${MEM}\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := Load(context.Background(), Options{ConfigPaths: []string{filepath.Join(dir, "compose.yaml")},
		ProjectDir: dir, ProjectName: "p", Env: []string{"PWD=" + dir}, Lenient: true})
	if err != nil {
		t.Fatal(err)
	}
	if s := p.Services["db"]; s.CPUS != 1 || s.MemLimit != 1 {
		t.Errorf("included service loaded as cpus %v, mem_limit %v", s.CPUS, s.MemLimit)
	}
}
