package policy

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/compose"
	"github.com/ledger-docker/ledger-docker/internal/config"
	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/engine/fake"
	"github.com/ledger-docker/ledger-docker/internal/intercept"
)

const protect = "com.ledgerflow.protect"

// Anonymous volumes have 64-hex names; the table calls them A1..A4.
var anon = map[string]string{
	"A1": strings.Repeat("a1", 32), // mounted by shop-web-1
	"A2": strings.Repeat("a2", 32), // unused
	"A3": strings.Repeat("a3", 32), // mounted by lone
	"A4": strings.Repeat("a4", 32), // mounted by blog-app-1
}

func lbl(kv ...string) map[string]string {
	m := map[string]string{}
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		m[k] = v
	}
	return m
}

func proj(p, vol string, extra ...string) map[string]string {
	return lbl(append([]string{compose.ProjectLabel + "=" + p, compose.VolumeLabel + "=" + vol}, extra...)...)
}

// world is the engine every row runs against.
func world(t *testing.T) *fake.Engine {
	t.Helper()
	e := fake.New()
	blogHash := declaredHash(t, "testdata/blog/compose.yaml", "uploads")
	for _, v := range []engine.Volume{
		{Name: "shop_dbdata", Labels: proj("shop", "dbdata", protect+"=true")},
		{Name: "shop_media", Labels: proj("shop", "media", compose.ConfigHashLabel+"=stale")},
		{Name: "shop_toolcache", Labels: proj("shop", "toolcache")},
		{Name: "shared"},
		{Name: anon["A1"], Anonymous: true},
		{Name: anon["A2"], Anonymous: true},
		{Name: anon["A3"], Anonymous: true},
		{Name: anon["A4"], Anonymous: true},
		{Name: "blog_uploads", Labels: proj("blog", "uploads", "tier=media", compose.ConfigHashLabel+"="+blogHash)},
		{Name: "blog_logs", Labels: proj("blog", "logs")},
		{Name: "fromdotenv_data", Labels: proj("fromdotenv", "data", protect+"=true")},
		{Name: "renamed_data", Labels: proj("renamed", "data")},
		{Name: "orphan", Labels: lbl("team=a")},
		{Name: "keepme", Labels: lbl(protect + "=true")},
		{Name: "labelsonly_db", Labels: proj("labelsonly", "db", protect+"=true")},
		{Name: "labelsonly_cache", Labels: proj("labelsonly", "cache")},
		{Name: "payroll_data", Labels: proj("payroll", "data")},
		{Name: "dbnamed"},
		{Name: "nfsvol", Driver: "nfs"},
	} {
		e.AddVolume(v, nil)
	}
	mount := func(names ...string) []engine.Mount {
		var ms []engine.Mount
		for _, n := range names {
			ms = append(ms, engine.Mount{Type: "volume", Name: n, Destination: "/" + n[:4]})
		}
		return ms
	}
	svc := func(p, s string) map[string]string {
		return lbl(compose.ProjectLabel+"="+p, compose.ServiceLabel+"="+s, compose.WorkingDirLabel+"=/srv/"+p)
	}
	e.AddContainer(engine.Container{Name: "shop-db-1", Running: true, Labels: svc("shop", "db"), Mounts: mount("shop_dbdata")})
	e.AddContainer(engine.Container{Name: "shop-web-1", Running: true, Labels: svc("shop", "web"), Mounts: mount("shop_media", anon["A1"], "shared")})
	e.AddContainer(engine.Container{Name: "blog-app-1", Labels: svc("blog", "app"), Mounts: mount("blog_uploads", anon["A4"])})
	e.AddContainer(engine.Container{Name: "lone", Mounts: mount(anon["A3"])})
	e.AddContainer(engine.Container{Name: "dbonly", Mounts: mount("dbnamed")})
	e.AddContainer(engine.Container{Name: "payroll-app-1", Labels: svc("payroll", "app"), Mounts: mount("payroll_data")})
	return e
}

func declaredHash(t *testing.T, file, key string) string {
	t.Helper()
	p, err := compose.Load(context.Background(), compose.Options{ConfigPaths: []string{file}, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := compose.VolumeHash(p.Volumes[key])
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// render lists volumes as "name" (! protected, ~ recreate), sorted.
func render(vols []Volume) string {
	short := map[string]string{}
	for k, v := range anon {
		short[v] = k
	}
	var out []string
	for _, v := range vols {
		s := v.Name
		if a, ok := short[s]; ok {
			s = a
		}
		if v.Protected {
			s += "!"
		}
		if v.Action == ActionRecreate {
			s += "~"
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

const (
	shopF = "-f testdata/shop/compose.yaml"
	blogF = "-f testdata/blog/compose.yaml"
)

func TestDecideTable(t *testing.T) {
	cwd, _ := os.Getwd()
	shopAll := "A1,shop_dbdata!,shop_media,shop_toolcache"
	legacyPruneKept := "A2,blog_logs,labelsonly_cache,orphan,renamed_data,shop_toolcache"
	tests := []struct {
		name    string
		argv    string
		env     []string
		down    bool // engine unreachable
		verdict Verdict
		vols    string
	}{
		// pass-through: nothing deleted
		{argv: "docker ps", verdict: Pass},
		{argv: "docker images -a", verdict: Pass},
		{argv: "docker image prune -af", verdict: Pass},
		{argv: "docker network prune -f", verdict: Pass},
		{argv: "docker builder prune -af", verdict: Pass},
		{argv: "docker container prune -f", verdict: Pass},
		{argv: "docker system prune -af", verdict: Pass},
		{argv: "docker system prune --volumes=false -f", verdict: Pass},
		{argv: "docker rm -f lone", verdict: Pass},
		{argv: "docker container rm lone", verdict: Pass},
		{argv: "docker volume ls", verdict: Pass},
		{argv: "docker volume create x", verdict: Pass},
		{argv: "docker volume rm --help keepme", verdict: Pass},
		{argv: "docker --version", verdict: Pass},
		{argv: "docker compose " + shopF + " down", verdict: Pass},
		{argv: "docker compose " + shopF + " down --volumes=false", verdict: Pass},
		{argv: "docker compose " + shopF + " down -t 5 --remove-orphans --rmi all", verdict: Pass},
		{argv: "docker compose " + shopF + " --dry-run down -v", verdict: Pass},
		{argv: "docker compose " + shopF + " rm -sf", verdict: Pass},
		{argv: "docker compose " + shopF + " ps", verdict: Pass},
		{argv: "docker compose " + shopF + " logs -f", verdict: Pass},
		{argv: "docker-compose " + shopF + " down", verdict: Pass},
		{argv: "docker-compose " + blogF + " up -d", verdict: Pass},
		{argv: "docker-compose " + shopF + " down --rmi all -t 5", verdict: Pass},
		{argv: "docker ps", down: true, verdict: Pass},
		{argv: "docker compose " + shopF + " down", down: true, verdict: Pass},

		// compose down -v with a file: every spelling and flag order
		{argv: "docker compose " + shopF + " down -v", verdict: Block, vols: shopAll},
		{argv: "docker compose " + shopF + " down --volumes", verdict: Block, vols: shopAll},
		{argv: "docker compose " + shopF + " down --volumes=true", verdict: Block, vols: shopAll},
		{argv: "docker compose " + shopF + " down --volume", verdict: Block, vols: shopAll},
		{argv: "docker compose " + shopF + " down -t 5 -v", verdict: Block, vols: shopAll},
		{argv: "docker compose " + shopF + " down --timeout=5 --volumes", verdict: Block, vols: shopAll},
		{argv: "docker compose " + shopF + " down -vt5", verdict: Block, vols: shopAll},
		{argv: "docker compose " + shopF + " down --remove-orphans -v", verdict: Block, vols: shopAll},
		{argv: "docker compose " + shopF + " down --rmi all -v", verdict: Block, vols: shopAll},
		{argv: "docker compose " + shopF + " down -v web", verdict: Block, vols: shopAll},
		{argv: "docker compose --file testdata/shop/compose.yaml down -v", verdict: Block, vols: shopAll},
		{argv: "docker compose --file=testdata/shop/compose.yaml down -v", verdict: Block, vols: shopAll},
		{argv: "docker compose -ftestdata/shop/compose.yaml down -v", verdict: Block, vols: shopAll},
		{argv: "docker compose --project-directory testdata/shop down -v", verdict: Block, vols: shopAll},
		{argv: "docker compose --project-directory=testdata/shop --profile tools down -v", verdict: Block, vols: shopAll},
		{argv: "docker compose " + shopF + " --env-file testdata/renamed/.env down -v", verdict: Pass}, // project renamed: none of its volumes exist
		{argv: "docker -H unix:///var/run/docker.sock compose " + shopF + " down -v", verdict: Block, vols: shopAll},
		{argv: "docker --context=default compose " + shopF + " down -v", verdict: Block, vols: shopAll},
		{argv: "docker -c default -D -l debug compose " + shopF + " down -v", verdict: Block, vols: shopAll},
		{argv: "docker --config /nonexistent --tlsverify compose " + shopF + " down -v", verdict: Block, vols: shopAll},
		{argv: "docker compose " + shopF + " -p other down -v", verdict: Pass},
		{argv: "docker compose -f - down -v", verdict: Block}, // stdin: cannot read it without consuming it
		{argv: "docker compose " + blogF + " down -v", verdict: Backup, vols: "A4,blog_uploads"},
		{argv: "docker compose " + blogF + " -f testdata/multi/extra.yaml down -v", verdict: Backup, vols: "A4,blog_logs,blog_uploads"},

		// compose env: COMPOSE_FILE (+ separator), COMPOSE_PROJECT_NAME, COMPOSE_PROFILES, .env
		{argv: "docker compose down -v", env: []string{"COMPOSE_FILE=testdata/shop/compose.yaml"}, verdict: Block, vols: shopAll},
		{argv: "docker compose down -v", env: []string{"COMPOSE_FILE=testdata/blog/compose.yaml:testdata/multi/extra.yaml"}, verdict: Backup, vols: "A4,blog_logs,blog_uploads"},
		{argv: "docker compose down -v", env: []string{"COMPOSE_FILE=testdata/blog/compose.yaml;testdata/multi/extra.yaml", "COMPOSE_PATH_SEPARATOR=;"}, verdict: Backup, vols: "A4,blog_logs,blog_uploads"},
		{argv: "docker compose down -v", env: []string{"COMPOSE_FILE=testdata/shop/compose.yaml", "COMPOSE_PROFILES=tools"}, verdict: Block, vols: shopAll},
		{argv: "docker compose " + blogF + " down -v", env: []string{"COMPOSE_PROJECT_NAME=renamed"}, verdict: Pass},
		{argv: "docker compose -f testdata/renamed/compose.yaml down -v", verdict: Block, vols: "fromdotenv_data!"},
		// protected because the file declares the label, though the engine's volume lacks it
		{argv: "docker compose -f testdata/renamed/compose.yaml down -v", env: []string{"COMPOSE_PROJECT_NAME=renamed"}, verdict: Block, vols: "renamed_data!"},
		{argv: "docker compose -f testdata/renamed/compose.yaml -p renamed down -v", verdict: Block, vols: "renamed_data!"},
		{argv: "docker compose down -v", env: []string{"COMPOSE_PROJECT_NAME=labelsonly"}, verdict: Block, vols: "labelsonly_cache,labelsonly_db!"},

		// -p NAME without a file: volumes found by engine label
		{argv: "docker compose -p labelsonly down -v", verdict: Block, vols: "labelsonly_cache,labelsonly_db!"},
		{argv: "docker compose --project-name=labelsonly down --volumes", verdict: Block, vols: "labelsonly_cache,labelsonly_db!"},
		{argv: "docker compose -p shop down -v", verdict: Block, vols: shopAll},
		{argv: "docker compose -p nosuch down -v", verdict: Pass},
		{argv: "docker compose -p labelsonly down", verdict: Pass},

		// compose rm -v: anonymous volumes of the project's containers
		{argv: "docker compose " + shopF + " rm -v", verdict: Backup, vols: "A1"},
		{argv: "docker compose " + shopF + " rm -sfv", verdict: Backup, vols: "A1"},
		{argv: "docker compose " + shopF + " rm -f -s -v web", verdict: Backup, vols: "A1"},
		{argv: "docker compose " + shopF + " rm -fv db", verdict: Pass},
		{argv: "docker-compose " + shopF + " rm -fsv", verdict: Backup, vols: "A1"},

		// compose up: a volume whose config hash changed is recreated
		{argv: "docker compose " + shopF + " up -d", verdict: Backup, vols: "shop_media~"},
		{argv: "docker compose " + shopF + " up -d -y", verdict: Backup, vols: "shop_media~"},
		{argv: "docker compose " + shopF + " up --yes --wait", verdict: Backup, vols: "shop_media~"},
		{argv: "docker compose " + shopF + " create -y", verdict: Backup, vols: "shop_media~"},
		{argv: "docker compose " + blogF + " up -d", verdict: Pass},

		// Compose v1 syntax
		{argv: "docker-compose " + shopF + " down -v", verdict: Block, vols: shopAll},
		{argv: "docker-compose " + shopF + " down --volumes", verdict: Block, vols: shopAll},
		{argv: "docker-compose " + shopF + " down --vol -t 5", verdict: Block, vols: shopAll},
		{argv: "docker-compose --project-directory testdata/shop down -v --remove-orphans", verdict: Block, vols: shopAll},
		{argv: "docker-compose -f testdata/renamed/compose.yaml -p renamed down -v", verdict: Block, vols: "renamed_data!"},
		{argv: "docker-compose " + blogF + " down -v", verdict: Backup, vols: "A4,blog_uploads"},
		{argv: "docker-compose down -v", env: []string{"COMPOSE_FILE=testdata/shop/compose.yaml"}, verdict: Block, vols: shopAll},
		{argv: "docker-compose -p labelsonly down -v", verdict: Pass}, // v1 always needs the file
		// the docker-compose on PATH may be v2's standalone binary: up is judged as v2's
		{argv: "docker-compose " + shopF + " up -d", verdict: Backup, vols: "shop_media~"},
		{argv: "docker-compose " + shopF + " up -d --yes", verdict: Backup, vols: "shop_media~"},
		{argv: "docker-compose -f testdata/renamed/compose.yaml down -v", verdict: Block, vols: "fromdotenv_data!"},
		{argv: "docker-compose -f testdata/renamed/compose.yaml down -v", env: []string{"COMPOSE_PROJECT_NAME=renamed"}, verdict: Block, vols: "renamed_data!"},
		{argv: "docker-compose " + shopF + " --env-file testdata/renamed/.env down -v", verdict: Pass},
		{argv: "docker-compose " + shopF + " down -v", env: []string{"COMPOSE_PROFILES=tools"}, verdict: Block, vols: shopAll},
		{argv: "docker-compose -H unix:///var/run/docker.sock " + shopF + " down -v", verdict: Block, vols: shopAll},
		{argv: "docker-compose --context default " + shopF + " rm -v", verdict: Backup, vols: "A1"},

		// volume rm
		{argv: "docker volume rm keepme", verdict: Block, vols: "keepme!"},
		{argv: "docker volume rm -f keepme", verdict: Block, vols: "keepme!"},
		{argv: "docker volume remove orphan keepme", verdict: Block, vols: "keepme!,orphan"},
		{argv: "docker volume rm orphan", verdict: Backup, vols: "orphan"},
		{argv: "docker volume rm orphan --force nosuch", verdict: Backup, vols: "orphan"},
		{argv: "docker volume rm nosuch", verdict: Pass},
		{argv: "docker -H tcp://127.0.0.1:2375 volume rm orphan", verdict: Backup, vols: "orphan"},

		// volume prune: API 1.41 deletes named volumes too; >= 1.42 anonymous only unless -a
		{argv: "docker volume prune", verdict: Backup, vols: legacyPruneKept},
		{argv: "docker volume prune -f", verdict: Backup, vols: legacyPruneKept},
		{argv: "docker volume prune -af", verdict: Backup, vols: legacyPruneKept},
		{argv: "docker volume prune -f --filter label!=" + protect + "=true", verdict: Backup, vols: legacyPruneKept},
		{argv: "docker volume prune -f --filter label=" + protect + "=true", verdict: Pass},
		{argv: "docker volume prune -f --filter label=team", verdict: Backup, vols: "orphan"},
		{argv: "docker volume prune -f --filter=label=team=b", verdict: Pass},
		{argv: "docker volume prune -f", env: []string{"DOCKER_API_VERSION=1.43"}, verdict: Backup, vols: "A2"},
		{argv: "docker volume prune -a -f", env: []string{"DOCKER_API_VERSION=1.43"}, verdict: Backup, vols: legacyPruneKept},
		{argv: "docker volume prune -f --filter all=true", env: []string{"DOCKER_API_VERSION=1.43"}, verdict: Backup, vols: legacyPruneKept},
		{argv: "docker volume prune -f --filter all=1 --filter label=team", env: []string{"DOCKER_API_VERSION=1.43"}, verdict: Backup, vols: "orphan"},

		// system prune --volumes
		{argv: "docker system prune --volumes -f", verdict: Backup, vols: legacyPruneKept},
		{argv: "docker system prune -af --volumes", verdict: Backup, vols: legacyPruneKept},
		{argv: "docker system prune -a --volumes -f", env: []string{"DOCKER_API_VERSION=1.43"}, verdict: Backup, vols: "A2"},
		{argv: "docker system prune --volumes -f --filter label!=" + protect, verdict: Backup, vols: legacyPruneKept},

		// rm -v: anonymous volumes of those containers
		{argv: "docker rm -v lone", verdict: Backup, vols: "A3"},
		{argv: "docker rm -fv lone", verdict: Backup, vols: "A3"},
		{argv: "docker container rm --volumes lone", verdict: Backup, vols: "A3"},
		{argv: "docker container rm -v dbonly", verdict: Pass},
		{argv: "docker rm -v nosuch", verdict: Pass},
		{argv: "docker rm -v shop-web-1 lone", verdict: Backup, vols: "A1,A3"},

		// engine unreachable on a possibly destructive command: fail closed
		{argv: "docker compose " + shopF + " down -v", down: true, verdict: Block},
		{argv: "docker volume rm orphan", down: true, verdict: Block},
		{argv: "docker volume prune -f", down: true, verdict: Block},
		{argv: "docker-compose " + shopF + " down -v", down: true, verdict: Block},
		{argv: "docker rm -v lone", down: true, verdict: Block},

		// environment lock
		{argv: "docker compose -p payroll down -v", verdict: Block, vols: "payroll_data"},
		{argv: "docker compose -p payroll down -v", env: []string{"LEDGER_ENV=prod"}, verdict: Backup, vols: "payroll_data"},
		{argv: "docker --context prod volume rm orphan", verdict: Block, vols: "orphan"},
		{argv: "docker -cprod volume rm orphan", env: []string{"LEDGER_ENV=prod"}, verdict: Backup, vols: "orphan"},
		{argv: "docker --context prod volume rm keepme", env: []string{"LEDGER_ENV=prod"}, verdict: Block, vols: "keepme!"},
		{argv: "docker --context prod ps", verdict: Pass},
		{argv: "docker volume rm orphan", env: []string{"DOCKER_CONTEXT=prod"}, verdict: Block, vols: "orphan"},
		{argv: "docker -H unix:///var/run/docker.sock volume rm orphan", env: []string{"DOCKER_CONTEXT=prod"}, verdict: Backup, vols: "orphan"},
		{argv: "docker volume rm orphan", env: []string{"DOCKER_HOST=tcp://127.0.0.1:2375", "DOCKER_CONTEXT=prod"}, verdict: Backup, vols: "orphan"},

		// DOCKER_* environment does not change what the command deletes
		{argv: "docker compose " + shopF + " down -v", env: []string{"DOCKER_HOST=tcp://127.0.0.1:2375"}, verdict: Block, vols: shopAll},
		{argv: "docker volume rm orphan", env: []string{"DOCKER_CONFIG=/nonexistent", "DOCKER_CONTEXT=default"}, verdict: Backup, vols: "orphan"},
		{argv: "docker system prune --volumes -f", env: []string{"DOCKER_API_VERSION=1.41"}, verdict: Backup, vols: legacyPruneKept},
	}
	for _, tt := range tests {
		name := tt.argv
		if len(tt.env) > 0 {
			name = strings.Join(tt.env, " ") + " " + name
		}
		if tt.down {
			name += " (engine down)"
		}
		t.Run(name, func(t *testing.T) {
			e := world(t)
			e.Unreachable = tt.down
			envList := append([]string{"PWD=" + cwd, "HOME=" + t.TempDir()}, tt.env...)
			getenv := func(k string) string {
				for i := len(envList) - 1; i >= 0; i-- {
					if kk, v, _ := strings.Cut(envList[i], "="); kk == k {
						return v
					}
				}
				return ""
			}
			cfg, err := config.Load(getenv)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Production.Projects = []string{"payroll"}
			cfg.Production.Contexts = []string{"prod"}
			in := intercept.Parse(strings.Fields(tt.argv), getenv)
			// the context docker would use: --context, else (no -H, no
			// DOCKER_HOST) DOCKER_CONTEXT
			ctxName := in.Context
			if ctxName == "" && len(in.Hosts) == 0 && getenv("DOCKER_HOST") == "" {
				ctxName = getenv("DOCKER_CONTEXT")
			}
			d := Decide(context.Background(), Request{
				Intent: in, Engine: e, Config: cfg, Getenv: getenv, Env: envList,
				Context: ctxName,
			})
			if d.Verdict != tt.verdict || render(d.Volumes) != tt.vols {
				t.Errorf("got %s [%s], want %s [%s]\nreason: %s", d.Verdict, render(d.Volumes), tt.verdict, tt.vols, d.Reason)
			}
			if d.Volumes == nil {
				t.Error("Volumes must be [] in JSON, never null")
			}
			if d.Verdict == Block && d.Reason == "" {
				t.Error("a block needs a reason")
			}
			if tt.down && d.Verdict == Block && !d.Unavailable {
				t.Error("engine down: want Unavailable")
			}
			for _, c := range e.Calls() {
				if strings.HasPrefix(c, "Remove") || strings.HasPrefix(c, "Create") {
					t.Errorf("deciding must not change the engine: %s", c)
				}
			}
		})
	}
	if len(tests) < 80 {
		t.Errorf("the table has %d argv forms, want >= 80", len(tests))
	}
}

// TestAddedProtectKeys: a key added by LEDGER_PROTECT_LABEL or the
// configuration file protects too, and never stops the default key from
// protecting (issue 8); the block names the key that matched.
func TestAddedProtectKeys(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfgFile, []byte("protect_label: other\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const both = "com.ledgerflow.protect=true or other=true"
	rows := []struct {
		argv, verdict, vols, reason string
	}{
		{"docker volume rm keepme", "block", "keepme!", "(label com.ledgerflow.protect=true)"},
		{"docker volume rm otherkeep", "block", "otherkeep!", "(label other=true)"},
		{"docker volume rm shoutkeep", "block", "shoutkeep!", "(label com.ledgerflow.protect=true)"},
		{"docker volume rm orphan otherkeep keepme", "block", "keepme!,orphan,otherkeep!", "(label " + both + ")"},
		{"docker volume rm orphan", "backup", "orphan", ""},
		// the engine's filter compares exactly (TRUE would be pruned), but a
		// prune never lists a protected volume: the guard keeps them all
		{"docker volume prune -f --filter label!=" + protect + "=true", "backup", "", ""},
	}
	for name, env := range map[string][]string{
		"env":       {"LEDGER_PROTECT_LABEL=other"},
		"env list":  {"LEDGER_PROTECT_LABEL=,other,"},
		"file":      {"LEDGER_CONFIG=" + cfgFile},
		"file, env": {"LEDGER_CONFIG=" + cfgFile, "LEDGER_PROTECT_LABEL=other"},
	} {
		t.Run(name, func(t *testing.T) {
			vars := map[string]string{"HOME": t.TempDir(), "XDG_CONFIG_HOME": t.TempDir()}
			for _, kv := range env {
				k, v, _ := strings.Cut(kv, "=")
				vars[k] = v
			}
			getenv := func(k string) string { return vars[k] }
			cfg, err := config.Load(getenv)
			if err != nil {
				t.Fatal(err)
			}
			e := world(t)
			e.AddVolume(engine.Volume{Name: "otherkeep", Labels: lbl("other=true")}, nil)
			e.AddVolume(engine.Volume{Name: "shoutkeep", Labels: lbl(protect + "=TRUE")}, nil)
			for _, r := range rows {
				in := intercept.Parse(strings.Fields(r.argv), getenv)
				d := Decide(context.Background(), Request{Intent: in, Engine: e, Config: cfg, Getenv: getenv, Env: []string{}})
				got := render(d.Volumes)
				if r.argv == rows[len(rows)-1].argv {
					got = render(slices.DeleteFunc(d.Volumes, func(v Volume) bool { return !v.Protected }))
				}
				if string(d.Verdict) != r.verdict || got != r.vols || !strings.Contains(d.Reason, r.reason) {
					t.Errorf("%s: got %s [%s] %q, want %s [%s] %q", r.argv, d.Verdict, got, d.Reason, r.verdict, r.vols, r.reason)
				}
			}
		})
	}
}

func TestMain(m *testing.M) {
	// compose-go reads .env from the working folder: run from the package.
	if wd, err := os.Getwd(); err == nil {
		_ = os.Chdir(filepath.Clean(wd))
	}
	os.Exit(m.Run())
}
