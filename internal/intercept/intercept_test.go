package intercept

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/intercept/intercepttest"
)

func env(kv ...string) Getenv {
	m := map[string]string{}
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

// TestParse: the operation of every command line of the shared table
// (intercepttest.Lines, which the front's test and the script rule of the
// pre-commit check run too).
func TestParse(t *testing.T) {
	if len(intercepttest.Lines) < 40 {
		t.Fatalf("intercepttest.Lines has %d lines", len(intercepttest.Lines))
	}
	for _, l := range intercepttest.Lines {
		if in := Parse(strings.Fields(l.Argv), env(l.Env...)); string(in.Op) != l.Op {
			t.Errorf("Parse(%q) op = %q, want %q", l.Argv, in.Op, l.Op)
		}
	}
}

// TestParseDetails: what else Parse reads (names, flags, compose's
// options) on some of those lines.
func TestParseDetails(t *testing.T) {
	tests := []struct {
		argv  string
		env   []string
		names []string
		check func(t *testing.T, in Intent)
	}{
		{argv: "docker volume rm a b", names: []string{"a", "b"}},
		{argv: "docker volume remove -f a", names: []string{"a"}},
		{argv: "docker volume rm a --force b", names: []string{"a", "b"}},
		{argv: "docker volume rm -- -odd", names: []string{"-odd"}},
		{argv: "docker volume prune -af --filter label=a --filter=label!=b", check: func(t *testing.T, in Intent) {
			if !in.All || !reflect.DeepEqual(in.Filters, []string{"label=a", "label!=b"}) {
				t.Errorf("all=%v filters=%q", in.All, in.Filters)
			}
		}},
		{argv: "docker rm -fv x y", names: []string{"x", "y"}},
		{argv: "docker container rm --volumes x", names: []string{"x"}},
		{argv: "docker container remove -v x", names: []string{"x"}},
		{argv: "docker -H tcp://h:2375 --config /c -l debug -D volume rm v", names: []string{"v"}, check: func(t *testing.T, in Intent) {
			if !reflect.DeepEqual(in.Hosts, []string{"tcp://h:2375"}) || in.ConfigDir != "/c" {
				t.Errorf("hosts=%q config=%q", in.Hosts, in.ConfigDir)
			}
			if len(in.GlobalArgs) != 7 {
				t.Errorf("global args %q", in.GlobalArgs)
			}
		}},
		{argv: "docker -cprod volume rm v", check: func(t *testing.T, in Intent) {
			if in.Context != "prod" {
				t.Errorf("context %q", in.Context)
			}
		}},
		{argv: "docker compose -f a.yml -f b.yml -p proj --project-directory d --profile x --env-file e down -v", check: func(t *testing.T, in Intent) {
			want := Compose{ConfigPaths: []string{"a.yml", "b.yml"}, ProjectName: "proj", ProjectDir: "d", Profiles: []string{"x"}, EnvFiles: []string{"e"}}
			if !reflect.DeepEqual(in.Compose, want) {
				t.Errorf("compose %+v", in.Compose)
			}
		}},
		{argv: "docker compose down -v -p late", check: func(t *testing.T, in Intent) {
			// project flags are root flags: after the subcommand compose rejects them
			if in.Compose.ProjectName != "" {
				t.Errorf("project %q", in.Compose.ProjectName)
			}
		}},
		{argv: "docker compose down -v", env: []string{"COMPOSE_ENV_FILES=a.env,b.env"}, check: func(t *testing.T, in Intent) {
			if !reflect.DeepEqual(in.Compose.EnvFiles, []string{"a.env", "b.env"}) {
				t.Errorf("env files %q", in.Compose.EnvFiles)
			}
		}},
		{argv: "docker compose up -dy", check: func(t *testing.T, in Intent) {
			if !in.AssumeYes {
				t.Error("want AssumeYes")
			}
		}},
		{argv: "docker-compose up -d --yes web", names: []string{"web"}},
		{argv: "docker-compose rm -fsv web", names: []string{"web"}},
	}
	for _, tt := range tests {
		t.Run(tt.argv, func(t *testing.T) {
			in := Parse(strings.Fields(tt.argv), env(tt.env...))
			if tt.names != nil && !reflect.DeepEqual(in.Names, tt.names) {
				t.Errorf("names = %q, want %q", in.Names, tt.names)
			}
			if tt.check != nil {
				tt.check(t, in)
			}
		})
	}
}

// Parse runs before every docker command: no input may make it panic.
func FuzzParse(f *testing.F) {
	for _, s := range intercepttest.FuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		in := Parse(strings.Split(s, " "), env())
		if len(in.GlobalArgs) > len(in.Args) {
			t.Fatalf("global args %q longer than args %q", in.GlobalArgs, in.Args)
		}
	})
}
