package intercept

import (
	"reflect"
	"strings"
	"testing"
)

func env(kv ...string) Getenv {
	m := map[string]string{}
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

func TestParse(t *testing.T) {
	tests := []struct {
		argv  string
		env   []string
		op    Op
		names []string
		check func(t *testing.T, in Intent)
	}{
		{argv: "docker ps", op: OpNone},
		{argv: "docker", op: OpNone},
		{argv: "docker --version", op: OpNone},
		{argv: "docker -v volume rm x", op: OpNone},
		{argv: "docker volume rm a b", op: OpVolumeRm, names: []string{"a", "b"}},
		{argv: "docker volume remove -f a", op: OpVolumeRm, names: []string{"a"}},
		{argv: "docker volume rm a --force b", op: OpVolumeRm, names: []string{"a", "b"}},
		{argv: "docker volume rm --help a", op: OpNone},
		{argv: "docker volume rm -- -odd", op: OpVolumeRm, names: []string{"-odd"}},
		{argv: "docker volume ls", op: OpNone},
		{argv: "docker volume prune", op: OpVolumePrune},
		{argv: "docker volume prune -af --filter label=a --filter=label!=b", op: OpVolumePrune, check: func(t *testing.T, in Intent) {
			if !in.All || !reflect.DeepEqual(in.Filters, []string{"label=a", "label!=b"}) {
				t.Errorf("all=%v filters=%q", in.All, in.Filters)
			}
		}},
		{argv: "docker system prune -a", op: OpNone},
		{argv: "docker system prune -af --volumes", op: OpSystemPrune},
		{argv: "docker system prune --volumes=false", op: OpNone},
		{argv: "docker rm x", op: OpNone},
		{argv: "docker rm -fv x y", op: OpContainerRm, names: []string{"x", "y"}},
		{argv: "docker container rm --volumes x", op: OpContainerRm, names: []string{"x"}},
		{argv: "docker container remove -v x", op: OpContainerRm, names: []string{"x"}},
		{argv: "docker -H tcp://h:2375 --config /c -l debug -D volume rm v", op: OpVolumeRm, names: []string{"v"}, check: func(t *testing.T, in Intent) {
			if !reflect.DeepEqual(in.Hosts, []string{"tcp://h:2375"}) || in.ConfigDir != "/c" {
				t.Errorf("hosts=%q config=%q", in.Hosts, in.ConfigDir)
			}
			if len(in.GlobalArgs) != 7 {
				t.Errorf("global args %q", in.GlobalArgs)
			}
		}},
		{argv: "docker -cprod volume rm v", op: OpVolumeRm, check: func(t *testing.T, in Intent) {
			if in.Context != "prod" {
				t.Errorf("context %q", in.Context)
			}
		}},
		{argv: "docker --context=prod compose down -v", op: OpComposeDown},
		{argv: "docker compose down", op: OpNone},
		{argv: "docker compose down -v", op: OpComposeDown},
		{argv: "docker compose down --volumes=false", op: OpNone},
		{argv: "docker compose down --volume", op: OpComposeDown},
		{argv: "docker compose down -t 5 -v", op: OpComposeDown},
		{argv: "docker compose down -vt5", op: OpComposeDown},
		{argv: "docker compose down -t5 --rmi all --remove-orphans", op: OpNone},
		{argv: "docker compose --dry-run down -v", op: OpNone},
		{argv: "docker compose -f a.yml -f b.yml -p proj --project-directory d --profile x --env-file e down -v", op: OpComposeDown, check: func(t *testing.T, in Intent) {
			want := Compose{ConfigPaths: []string{"a.yml", "b.yml"}, ProjectName: "proj", ProjectDir: "d", Profiles: []string{"x"}, EnvFiles: []string{"e"}}
			if !reflect.DeepEqual(in.Compose, want) {
				t.Errorf("compose %+v", in.Compose)
			}
		}},
		{argv: "docker compose down -v -p late", op: OpComposeDown, check: func(t *testing.T, in Intent) {
			// project flags are root flags: after the subcommand compose rejects them
			if in.Compose.ProjectName != "" {
				t.Errorf("project %q", in.Compose.ProjectName)
			}
		}},
		{argv: "docker compose down -v", env: []string{"COMPOSE_ENV_FILES=a.env,b.env"}, op: OpComposeDown, check: func(t *testing.T, in Intent) {
			if !reflect.DeepEqual(in.Compose.EnvFiles, []string{"a.env", "b.env"}) {
				t.Errorf("env files %q", in.Compose.EnvFiles)
			}
		}},
		{argv: "docker compose rm -sfv", op: OpComposeRm},
		{argv: "docker compose rm -sf", op: OpNone},
		{argv: "docker compose up -d", op: OpComposeUp},
		{argv: "docker compose up -dy", op: OpComposeUp, check: func(t *testing.T, in Intent) {
			if !in.AssumeYes {
				t.Error("want AssumeYes")
			}
		}},
		{argv: "docker compose ps", op: OpNone},
		{argv: "docker-compose down -v", op: OpComposeDown},
		{argv: "/usr/local/bin/docker-compose -f x.yml down --vol", op: OpComposeDown},
		{argv: "docker-compose up -d", op: OpComposeUp},
		{argv: "docker-compose up -d --yes web", op: OpComposeUp, names: []string{"web"}},
		{argv: "docker-compose ps", op: OpNone},
		{argv: "docker-compose rm -fsv web", op: OpComposeRm, names: []string{"web"}},
		{argv: "docker-compose down --rmi all -t 5", op: OpNone},
		{argv: "docker image prune -af", op: OpNone},
		{argv: "docker network prune -f", op: OpNone},
		{argv: "docker builder prune -af", op: OpNone},
		{argv: "docker container prune -f", op: OpNone},
	}
	for _, tt := range tests {
		t.Run(tt.argv, func(t *testing.T) {
			in := Parse(strings.Fields(tt.argv), env(tt.env...))
			if in.Op != tt.op {
				t.Fatalf("op = %q, want %q", in.Op, tt.op)
			}
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
	for _, s := range []string{"docker compose -f a.yml down -v", "docker-compose -p x rm -sfv", "docker -cx volume prune -af --filter=label!=a",
		"docker -H= -- rm -v=", "docker-compose --vol", "docker compose -f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		in := Parse(strings.Split(s, " "), env())
		if len(in.GlobalArgs) > len(in.Args) {
			t.Fatalf("global args %q longer than args %q", in.GlobalArgs, in.Args)
		}
	})
}
