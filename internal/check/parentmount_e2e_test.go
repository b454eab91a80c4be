package check_test

import (
	"encoding/json"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/testenv"
)

var anonymousName = regexp.MustCompile(`^[0-9a-f]{64}$`)

// TestParentMountDataGoesToAnonymousVolume grounds the parent-mount case of
// database-data-not-persisted on the real engine. The official postgres
// image before 18 declares VOLUME /var/lib/postgresql/data; the e2e image
// declares none, so the test adds that one VOLUME to it (docker commit
// --change, nothing else changes). With a named volume at
// /var/lib/postgresql, the engine still puts an anonymous volume at
// /var/lib/postgresql/data, the cluster is written there and not into the
// named volume, and containers recreated after `docker compose down` (which
// keeps named volumes) start empty; the same volume at the data directory
// keeps the rows. ledger-precommit reports the first service, with the path
// to mount, and not the second.
func TestParentMountDataGoesToAnonymousVolume(t *testing.T) {
	testenv.RequireEngine(t)
	docker := testenv.RealDocker(t)
	var image string
	var anonymous []string
	// Registered before the project: runs after its cleanup has removed
	// the containers that use the image.
	t.Cleanup(func() {
		if image == "" {
			return
		}
		for _, args := range [][]string{append([]string{"volume", "rm", "-f"}, anonymous...), {"image", "rm", image}} {
			if len(args) == 3 && args[0] == "volume" {
				continue // no anonymous volume seen
			}
			cmd := exec.Command(docker, args...)
			cmd.Env = testenv.Environ()
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Logf("cleanup: docker %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
	})
	p := testenv.NewProject(t, "parent-mount")
	image = "ledger-e2e/postgres-volume:" + p.Name
	base := p.Name + "-volume-base"
	for _, args := range [][]string{
		{"create", "--name", base, testenv.PostgresImage(t)},
		{"commit", "--change", `VOLUME ["/var/lib/postgresql/data"]`, base, image},
		{"rm", base},
	} {
		if r := p.Docker(args...); r.ExitCode != 0 {
			t.Fatalf("docker %s: %s", strings.Join(args, " "), r)
		}
	}
	p.Env = append(p.Env, "PG_VOLUME_IMAGE="+image)

	want := `compose.yaml:11:9: error: service "parent" (postgres) mounts volume "parentdata" at /var/lib/postgresql, ` +
		`a parent of its data directory /var/lib/postgresql/data: the image declares VOLUME /var/lib/postgresql/data, ` +
		`so the data goes to an anonymous volume there, which down -v, rm -v or a recreate lose; mount it at ` +
		`/var/lib/postgresql/data instead [database-data-not-persisted]` + "\n"
	if r := p.Run("ledger-precommit", "--no-engine", "compose.yaml"); r.ExitCode != 1 || r.Stdout != want {
		t.Fatalf("ledger-precommit compose.yaml: %s\nwant stdout:\n%s", r, want)
	}

	p.Compose("up", "-d")
	p.WaitPostgres("parent")
	p.WaitPostgres("exact")

	// where the engine mounted what
	parent := mounts(t, p, "parent")
	if m := parent["/var/lib/postgresql"]; m.Name != p.Volume("parentdata") {
		t.Fatalf("parent: /var/lib/postgresql holds %+v, want the volume %s", m, p.Volume("parentdata"))
	}
	anon := parent["/var/lib/postgresql/data"]
	if anon.Type != "volume" || !anonymousName.MatchString(anon.Name) {
		t.Fatalf("parent: /var/lib/postgresql/data holds %+v, want an anonymous volume from the image's VOLUME", anon)
	}
	anonymous = append(anonymous, anon.Name)
	exact := mounts(t, p, "exact")
	if m := exact["/var/lib/postgresql/data"]; m.Name != p.Volume("exactdata") || len(exact) != 1 {
		t.Fatalf("exact: mounts %+v, want only the volume %s at /var/lib/postgresql/data", exact, p.Volume("exactdata"))
	}

	for _, s := range []string{"parent", "exact"} {
		p.Psql(s, "CREATE TABLE entries (memo text); INSERT INTO entries VALUES ('kept?');")
	}
	// the cluster is in the anonymous volume, not in the named one
	for vol, want := range map[string]string{
		p.Volume("parentdata"): "data/PG_VERSION: no",
		anon.Name:              "PG_VERSION: yes",
		p.Volume("exactdata"):  "PG_VERSION: yes",
	} {
		path := strings.TrimSuffix(strings.Fields(want)[0], ":")
		r := p.Docker("run", "--rm", "--network", "none", "-v", vol+":/v:ro", "--entrypoint", "sh", testenv.PostgresImage(t),
			"-c", `if test -e /v/`+path+`; then echo "`+path+`: yes"; else echo "`+path+`: no"; fi`)
		if r.ExitCode != 0 || strings.TrimSpace(r.Stdout) != want {
			t.Errorf("volume %s: %s, want %q", vol, r, want)
		}
	}

	// `docker compose down` keeps named volumes; the containers come back
	p.Compose("down")
	p.Compose("up", "-d")
	p.WaitPostgres("parent")
	p.WaitPostgres("exact")
	if a := mounts(t, p, "parent")["/var/lib/postgresql/data"]; a.Name != anon.Name {
		anonymous = append(anonymous, a.Name)
	}
	const q = "SELECT count(*) FROM pg_tables WHERE tablename = 'entries';"
	if got := p.Psql("exact", q); got != "1" {
		t.Errorf("exact: the table is gone after down and up (%q), want it kept", got)
	}
	if got := p.Psql("parent", q); got != "0" {
		t.Errorf("parent: the table is still there after down and up (%q), want it lost with the anonymous volume", got)
	}
}

// mountPoint is one entry of docker inspect's .Mounts.
type mountPoint struct {
	Type, Name, Source string
}

// mounts maps the destinations of a service's container to what is there.
func mounts(t *testing.T, p *testenv.Project, service string) map[string]mountPoint {
	t.Helper()
	r := p.Docker("inspect", "-f", "{{json .Mounts}}", p.ContainerID(service))
	if r.ExitCode != 0 {
		t.Fatalf("inspect %s: %s", service, r)
	}
	var list []struct {
		mountPoint
		Destination string
	}
	if err := json.Unmarshal([]byte(r.Stdout), &list); err != nil {
		t.Fatalf("inspect %s: %v\n%s", service, err, r.Stdout)
	}
	out := map[string]mountPoint{}
	for _, m := range list {
		out[m.Destination] = m.mountPoint
	}
	return out
}
