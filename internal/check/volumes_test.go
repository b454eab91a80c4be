package check

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/config"
)

// ruleCase is one situation: the project's files (compose.yaml is the one
// checked; Dockerfiles and the like beside it), and the exact findings.
type ruleCase struct {
	name  string
	files map[string]string
	env   []string               // the environment compose interpolates from
	conf  []config.DatabaseImage // the user configuration's database_images
	want  []string               // "line:col: severity: message [rule]" of compose.yaml
}

// runCases checks each case's compose.yaml in a folder of its own, with no
// engine and the default protect label, and compares every finding.
func runCases(t *testing.T, cases []ruleCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, src := range tc.files {
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			env := tc.env
			if env == nil {
				env = []string{}
			}
			rep, err := Run(context.Background(), Request{Files: []string{"compose.yaml"}, Dir: dir, Env: env,
				ProtectLabel: config.DefaultProtectLabel, DatabaseImages: tc.conf})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range rep.Findings {
				got = append(got, strings.TrimPrefix(f.String(), "compose.yaml:"))
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func composeFile(src string) map[string]string { return map[string]string{"compose.yaml": src} }

const unprotectedMsg = ` has no com.ledgerflow.protect=true label: down -v, volume prune or a recreate would delete its ` +
	`data; add the label (--fix does it) [volume-unprotected]`

func cacheMsg(volume, at string) string {
	return `warning: volume "` + volume + `" holds only caches or build output (mounted at ` + at + `): down -v or ` +
		`volume prune delete it, and it is rebuilt; add the protect label if it is worth keeping, or say it is ` +
		`disposable with # ledger-check: ignore volume-unprotected-cache [volume-unprotected-cache]`
}

// siteReadOnly starts a file whose web service mounts site read-only.
const siteReadOnly = `services:
  web:
    image: nginx:1
    volumes:
      - site:/usr/share/nginx/html:ro
`

// uploadsVolume starts a file whose app mounts the volume uploads, declared
// last, its options to follow.
const uploadsVolume = `services:
  app:
    image: example/app:1
    volumes:
      - uploads:/uploads
volumes:
  uploads:
`

// TestVolumeRules: which named volumes hold data a deletion would lose.
func TestVolumeRules(t *testing.T) {
	runCases(t, []ruleCase{
		{name: "a volume no service mounts is never created", files: composeFile(`services:
  app:
    image: example/app:1
volumes:
  spare: {}
  old:
    labels:
      com.ledgerflow.protect: "false"
`)},
		{name: "an external volume no service mounts", files: composeFile(`services:
  app:
    image: example/app:1
volumes:
  shared:
    external: true
`)},
		{name: "a volume mounted only by a service of a profile", files: composeFile(`services:
  app:
    image: example/app:1
    profiles: [tools]
    volumes:
      - data:/data
volumes:
  data: {}
`), want: []string{`8:3: error: volume "data"` + unprotectedMsg}},
		{name: "a profile's volume while COMPOSE_PROFILES selects another", env: []string{"COMPOSE_PROFILES=web"},
			files: composeFile(`services:
  web:
    image: example/web:1
    profiles: [web]
  report:
    image: example/app:1
    profiles: [reports]
    volumes:
      - reports:/reports
volumes:
  reports: {}
`), want: []string{`11:3: error: volume "reports"` + unprotectedMsg}},
		{name: "a volume mounted read-only everywhere", files: composeFile(siteReadOnly + `  worker:
    image: example/app:1
    volumes:
      - type: volume
        source: site
        target: /site
        read_only: true
volumes:
  site: {}
`)},
		{name: "a volume read-only in one service and writable in another", files: composeFile(siteReadOnly + `  builder:
    image: example/app:1
    volumes:
      - site:/out
volumes:
  site: {}
`), want: []string{`11:3: error: volume "site"` + unprotectedMsg}},
		{name: "a local volume binding a host folder", files: composeFile(uploadsVolume + `    driver: local
    driver_opts:
      type: none
      o: bind
      device: ./uploads
`)},
		{name: "a local volume on an NFS share leaves the files on the server", files: composeFile(uploadsVolume + `    driver_opts:
      type: nfs
      o: addr=10.0.0.5,rw
      device: ":/exports/uploads"
`)},
		{name: "a local volume of tmpfs holds its own data", files: composeFile(uploadsVolume + `    driver_opts:
      type: tmpfs
      device: tmpfs
`), want: []string{`7:3: error: volume "uploads"` + unprotectedMsg}},
		{name: "node_modules in a volume", files: composeFile(`services:
  web:
    image: node:22
    volumes:
      - .:/app
      - node_modules:/app/node_modules
volumes:
  node_modules: {}
`), want: []string{`8:3: ` + cacheMsg("node_modules", "/app/node_modules")}},
		{name: "caches and build output of several tools", files: composeFile(`services:
  rust:
    image: rust:1
    volumes:
      - cargo-target:/src/target
  ruby:
    image: ruby:3
    volumes:
      - gems:/usr/local/bundle
  py:
    image: python:3
    volumes:
      - pip:/root/.cache/pip
  front:
    image: node:22
    volumes:
      - dist:/app/dist
      - next:/app/.next
  go:
    image: golang:1
    volumes:
      - gomod:/go/pkg/mod
volumes:
  cargo-target: {}
  gems: {}
  pip: {}
  dist: {}
  next: {}
  gomod: {}
`), want: []string{
			`24:3: ` + cacheMsg("cargo-target", "/src/target"),
			`25:3: ` + cacheMsg("gems", "/usr/local/bundle"),
			`26:3: ` + cacheMsg("pip", "/root/.cache/pip"),
			`27:3: ` + cacheMsg("dist", "/app/dist"),
			`28:3: ` + cacheMsg("next", "/app/.next"),
			`29:3: ` + cacheMsg("gomod", "/go/pkg/mod"),
		}},
		{name: "a cache volume also mounted as data", files: composeFile(`services:
  web:
    image: node:22
    volumes:
      - shared:/app/node_modules
  api:
    image: example/app:1
    volumes:
      - shared:/srv/data
volumes:
  shared: {}
`), want: []string{`11:3: error: volume "shared"` + unprotectedMsg}},
		{name: "a cache volume marked ignore volume-unprotected", files: composeFile(`services:
  web:
    image: node:22
    volumes:
      - cache:/var/cache/web
volumes:
  cache: {} # ledger-check: ignore volume-unprotected
`)},
		{name: "a service mounts a volume the file does not declare", files: composeFile(`services:
  db:
    image: postgres:16
    volumes:
      - data:/var/lib/postgresql/data
  app:
    image: example/app:1
    volumes:
      - ./uploads:/uploads
      - type: volume
        source: cache
        target: /cache
      - logs:/var/log/app
volumes:
  logs: {}
`), want: []string{
			`5:9: error: service "db" refers to undefined volume data: invalid compose project [compose-parse-error]`,
			`10:9: error: service "app" refers to undefined volume cache: invalid compose project [compose-parse-error]`,
		}},
		{name: "a service of a profile mounts a volume the file does not declare", files: composeFile(`services:
  app:
    image: example/app:1
  report:
    image: example/app:1
    profiles: [reports]
    volumes: [reports:/reports]
`), want: []string{`7:15: error: service "report" refers to undefined volume reports: invalid compose project ` +
			`[compose-parse-error]`}},
		{name: "a volume named by a variable the environment leaves unset", files: composeFile(`services:
  app:
    image: example/app:1
    volumes:
      - ${DATA}:/srv/data
`)},
		{name: "a volume named by a variable set to a volume the file does not declare", env: []string{"DATA=appdata"},
			files: composeFile(`services:
  app:
    image: example/app:1
    volumes:
      - ${DATA}:/srv/data
`), want: []string{`5:9: error: service "app" refers to undefined volume appdata: invalid compose project ` +
				`[compose-parse-error]`}},
		{name: "volumes named by variables with defaults and by the project's .env", files: map[string]string{
			".env": "LOGS=applogs\n",
			"compose.yaml": `services:
  app:
    image: example/app:1
    volumes:
      - ${DATA:-appdata}:/srv/data
      - ${UPLOADS:-./uploads}:/srv/uploads
      - type: volume
        source: ${LOGS}
        target: /var/log/app
      - ${CACHE:?set CACHE}:/cache
`}, want: []string{
			`5:9: error: service "app" refers to undefined volume appdata: invalid compose project [compose-parse-error]`,
			`7:9: error: service "app" refers to undefined volume applogs: invalid compose project [compose-parse-error]`,
		}},
		{name: "a volume named by a variable set to a declared volume", env: []string{"DATA=appdata"},
			files: composeFile(`services:
  app:
    image: example/app:1
    volumes:
      - ${DATA}:/srv/data
volumes:
  appdata:
` + protected)},
		{name: "volumes and services in later YAML documents", files: composeFile(`services:
  app:
    image: example/app:1
    volumes:
      - data:/data
---
volumes:
  data: {}
---
services:
  db:
    image: postgres:16
`), want: []string{
			`8:3: error: volume "data"` + unprotectedMsg,
			notMounted("11:3", "db", "postgres", "/var/lib/postgresql/data", true, "/var/lib/postgresql/data"),
		}},
		{name: "a volume the file does not declare, in a later YAML document", files: composeFile(`volumes:
  data: {}
---
services:
  app:
    image: example/app:1
    volumes:
      - data:/data
      - other:/other
`), want: []string{`9:9: error: service "app" refers to undefined volume other: invalid compose project ` +
			`[compose-parse-error]`}},
		{name: "an external volume a service mounts", files: composeFile(`services:
  app:
    image: example/app:1
    volumes:
      - shared:/shared
volumes:
  shared:
    external: true
    name: company_shared
`), want: []string{`7:3: warning: volume "shared" is external (engine volume "company_shared"): this file cannot ` +
			`protect it; run "docker ledger protect company_shared" where it lives [volume-external]`}},
	})
}
