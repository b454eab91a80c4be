package check

import (
	"os"
	"os/exec"
	"testing"
)

// A file written to be loaded over a base file is checked as compose loads
// it: with the base (the review's false errors came from checking such a
// fragment alone, where it lacks the services and volumes it adds to).
func TestFragmentsLoadWithTheirBase(t *testing.T) {
	const base = "services:\n" +
		"  db:\n" +
		"    image: postgres:16\n" +
		"    volumes:\n" +
		"      - pgdata:/var/lib/postgresql/data\n" +
		"  app:\n" +
		"    image: busybox\n" +
		"volumes:\n" +
		"  pgdata:\n" +
		"    labels:\n" +
		"      com.ledgerflow.protect: \"true\"\n" +
		"  media: {}\n"
	unprotected := func(file string, line, col int, volume string) want {
		return want{RuleUnprotected, file, line, col, `volume "` + volume + `" has no com.ledgerflow.protect=true label`}
	}
	runCheckCases(t, []checkCase{
		{name: "a fragment that mounts a volume its base declares and protects",
			files: map[string]string{"compose.yaml": base,
				"compose.prod.yaml": "services:\n  app:\n    volumes:\n      - pgdata:/srv/data\n"},
			given: []string{"compose.prod.yaml"}},
		{name: "a fragment that mounts an unprotected volume of its base: the finding is at the base's declaration",
			files: map[string]string{"compose.yaml": base,
				"compose.prod.yaml": "services:\n  app:\n    volumes:\n      - media:/srv/media\n"},
			given: []string{"compose.prod.yaml"},
			want:  []want{unprotected("compose.yaml", 12, 3, "media")}},
		{name: "a fragment that declares an unprotected volume of its own",
			files: map[string]string{"compose.yaml": base,
				"compose.dev.yaml": "services:\n  app:\n    volumes:\n      - uploads:/srv/up\nvolumes:\n  uploads:\n"},
			given: []string{"compose.dev.yaml"},
			want:  []want{unprotected("compose.dev.yaml", 6, 3, "uploads")}},
		{name: "a docker-compose fragment with a dash loads over docker-compose.yml",
			files: map[string]string{"docker-compose.yml": base, "compose.yaml": "services:\n  other:\n    image: busybox\n",
				"docker-compose-ci.yml": "services:\n  app:\n    volumes:\n      - media:/srv/media\n"},
			given: []string{"docker-compose-ci.yml"},
			want:  []want{unprotected("docker-compose.yml", 12, 3, "media")}},
		{name: "a fragment without a base beside it is checked alone",
			files: map[string]string{
				"compose.prod.yaml": "services:\n  app:\n    image: busybox\n    volumes:\n      - up:/up\nvolumes:\n  up: {}\n"},
			given: []string{"compose.prod.yaml"},
			want:  []want{unprotected("compose.prod.yaml", 7, 3, "up")}},
		{name: "a fragment that COMPOSE_FILE names alone is loaded alone",
			files: map[string]string{"docker-compose.yml": base,
				"docker-compose.prod.yml": "services:\n  db:\n    image: postgres:16\n  web:\n    image: busybox\n"},
			given: []string{"docker-compose.prod.yml"}, env: []string{"COMPOSE_FILE=docker-compose.prod.yml"},
			want: []want{{RuleDatabaseData, "docker-compose.prod.yml", 2, 3,
				`service "db" (postgres) does not mount its data directory /var/lib/postgresql/data`}}},
		{name: "a finding a fragment causes points into the fragment",
			files: map[string]string{"compose.yaml": base,
				"compose.prod.yaml": "services:\n  db:\n    image: postgres:18\n"},
			given: []string{"compose.prod.yaml"},
			want: []want{{RuleDatabaseData, "compose.prod.yaml", 2, 3,
				`service "db" (postgres) mounts volume "pgdata" at /var/lib/postgresql/data`}}},
		{name: "an override that only adds ports leaves the finding in the base",
			files: map[string]string{"compose.yaml": "services:\n  db:\n    image: postgres:16\n",
				"compose.override.yaml": "services:\n  db:\n    ports: [\"5432:5432\"]\n"},
			want: []want{{RuleDatabaseData, "compose.yaml", 2, 3,
				`service "db" (postgres) does not mount its data directory`}}},
		{name: "a complete fragment is also checked alone: what only that shows is a warning",
			files: map[string]string{"docker-compose.yml": base,
				"docker-compose.prod.yml": "services:\n  db:\n    image: postgres:16\n  web:\n    image: busybox\n"},
			given: []string{"docker-compose.prod.yml"},
			want: []want{{RuleDatabaseData, "docker-compose.prod.yml", 2, 3,
				`when docker-compose.prod.yml is loaded alone (docker compose -f docker-compose.prod.yml): ` +
					`service "db" (postgres) does not mount its data directory`}}},
		{name: "a complete fragment that does not load alone is only checked over its base",
			files: map[string]string{"compose.yaml": base,
				"compose.prod.yaml": "services:\n  db:\n    image: postgres:16\n    volumes: [pgdata:/var/lib/postgresql/data]\n"},
			given: []string{"compose.prod.yaml"}},
		{name: "a fragment and its base given together: each finding once",
			files: map[string]string{"compose.yaml": base,
				"compose.prod.yaml": "services:\n  app:\n    volumes:\n      - media:/srv/media\n"},
			given: []string{"compose.yaml", "compose.prod.yaml"},
			want:  []want{unprotected("compose.yaml", 12, 3, "media")}},
	})
}

// A developer's own override file, ignored by git, is not part of what is
// committed: it neither blocks the commit nor is loaded with its base. A
// tracked (or not ignored) override is.
func TestIgnoredOverrideIsNotLoaded(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is needed:", err)
	}
	// git reads no configuration of the tester's (TestMain): a global
	// excludes file would change what is ignored
	const base = "services:\n  app:\n    image: busybox\n"
	const override = "services:\n  app:\n    volumes:\n      - scratch:/scratch\nvolumes:\n  scratch: {}\n"
	for _, tc := range []struct {
		name      string
		gitignore string
		want      []want
	}{
		{name: "an override git ignores", gitignore: "compose.override.yaml\n"},
		{name: "an override git does not ignore", gitignore: "*.log\n",
			want: []want{{RuleUnprotected, "compose.override.yaml", 6, 3, `volume "scratch" has no`}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"compose.yaml": base, "compose.override.yaml": override,
				".gitignore": tc.gitignore})
			cmd := exec.Command("git", "init", "-q", dir)
			cmd.Env = os.Environ()
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("git init: %v: %s", err, out)
			}
			rep, err := checkOnly(t, dir, nil, "compose.yaml")
			if err != nil {
				t.Fatal(err)
			}
			sameFindings(t, rep.Findings, tc.want)
		})
	}
}
