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
	"github.com/ledger-docker/ledger-docker/internal/policy/policytest"
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

func TestDecideTable(t *testing.T) {
	cwd, _ := os.Getwd()
	tests := policytest.Decide
	for _, tt := range tests {
		name := tt.Argv
		if len(tt.Env) > 0 {
			name = strings.Join(tt.Env, " ") + " " + name
		}
		if tt.Down {
			name += " (engine down)"
		}
		t.Run(name, func(t *testing.T) {
			e := world(t)
			e.Unreachable = tt.Down
			envList := append([]string{"PWD=" + cwd, "HOME=" + t.TempDir()}, tt.Env...)
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
			in := intercept.Parse(strings.Fields(tt.Argv), getenv)
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
			if string(d.Verdict) != tt.Verdict || render(d.Volumes) != tt.Vols {
				t.Errorf("got %s [%s], want %s [%s]\nreason: %s", d.Verdict, render(d.Volumes), tt.Verdict, tt.Vols, d.Reason)
			}
			if d.Volumes == nil {
				t.Error("Volumes must be [] in JSON, never null")
			}
			if d.Verdict == Block && d.Reason == "" {
				t.Error("a block needs a reason")
			}
			if tt.Down && d.Verdict == Block && !d.Unavailable {
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
// protecting; the block names the key that matched.
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
