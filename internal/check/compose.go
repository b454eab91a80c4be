package check

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"

	"github.com/ledger-docker/ledger-docker/internal/compose"
	"github.com/ledger-docker/ledger-docker/internal/config"
)

// declaredVolume is a volume the file protects, for the engine rule.
type declaredVolume struct {
	file         string
	line, col    int
	key, name    string // compose key, engine name
	configLabels map[string]string
}

// unit is one compose project being checked: its files (base first) and the
// YAML trees of those and of the files they include, for positions.
type unit struct {
	files []string
	docs  []*yamlDoc
}

// checkUnit loads one compose project and applies the compose rules.
func checkUnit(ctx context.Context, req Request, files []string) ([]Finding, []declaredVolume, error) {
	u := &unit{files: files}
	var out []Finding
	seen := map[string]bool{}
	queue := append([]string(nil), files...)
	for len(queue) > 0 {
		f := queue[0]
		queue = queue[1:]
		if seen[f] {
			continue
		}
		seen[f] = true
		src, err := os.ReadFile(f)
		if err != nil {
			if len(u.docs) < len(files) {
				return nil, nil, fmt.Errorf("%w: %v", ErrIO, err)
			}
			continue // a missing include: compose-go reports it below
		}
		d, err := parseYAML(f, src)
		if err != nil {
			out = append(out, Finding{File: f, Line: max(yamlErrorLine(err), 1), Column: 1,
				Severity: SeverityError, Rule: RuleParse, Message: err.Error()})
			continue
		}
		u.docs = append(u.docs, d)
		for _, inc := range d.includes() {
			queue = append(queue, abs(filepath.Dir(f), inc))
		}
	}
	if len(out) > 0 {
		return out, nil, nil
	}
	p, err := compose.Load(ctx, compose.Options{
		ConfigPaths: files,
		ProjectDir:  filepath.Dir(files[0]),
		Env:         req.Env,
		Lenient:     true,
	})
	if err != nil {
		return []Finding{u.loadError(err)}, nil, nil
	}
	fs, dv := u.volumeRules(p, req.protection())
	out = append(out, fs...)
	out = append(out, u.databaseRule(p)...)
	return out, dv, nil
}

var errPath = regexp.MustCompile(`(?:^|\s)((services|volumes|networks|configs|secrets|include)(\.[\w.-]+)+)`)

// loadError places compose-go's message at the key it names, if any.
func (u *unit) loadError(err error) Finding {
	msg := strings.Join(strings.Fields(strings.TrimPrefix(err.Error(), "load compose project: ")), " ")
	f := Finding{File: u.files[0], Line: 1, Column: 1, Severity: SeverityError, Rule: RuleParse, Message: msg}
	// a file the message names (a missing include or extends file): point
	// at the scalar that names it
	var best *yaml.Node
	for _, d := range u.docs {
		if strings.Contains(msg, d.path) && d.path != u.files[0] {
			f.File = d.path
		}
		walkScalars(d.root, func(n *yaml.Node) {
			if len(n.Value) > 3 && strings.ContainsAny(n.Value, "./") && strings.Contains(msg, n.Value) &&
				(best == nil || len(n.Value) > len(best.Value)) && f.File == d.path {
				best = n
			}
		})
	}
	if best != nil {
		f.Line, f.Column = best.Line, best.Column
		return f
	}
	// a key path compose-go names (services.db.image)
	if m := errPath.FindStringSubmatch(msg); m != nil {
		for _, d := range u.docs {
			if d.path != f.File {
				continue
			}
			if n := d.lookupPath(m[1]); n != nil {
				f.Line, f.Column = n.Line, n.Column
			}
		}
	}
	return f
}

func walkScalars(n *yaml.Node, fn func(*yaml.Node)) {
	if n == nil {
		return
	}
	if n.Kind == yaml.ScalarNode {
		fn(n)
	}
	for _, c := range n.Content {
		walkScalars(c, fn)
	}
}

// find returns where a top-level entry (volume, service) is declared: the
// first of the project's files (base first), then included files.
func (u *unit) find(section, name string) entry {
	for _, d := range u.docs {
		if e, ok := d.entries(section)[name]; ok {
			return e
		}
	}
	return entry{file: u.files[0]}
}

func (e entry) pos() (int, int) {
	if e.key == nil {
		return 1, 1
	}
	return e.key.Line, e.key.Column
}

func (u *unit) volumeRules(p *types.Project, prot *config.Config) ([]Finding, []declaredVolume) {
	var out []Finding
	var declared []declaredVolume
	label := prot.WriteKey()
	for _, key := range slices.Sorted(maps.Keys(p.Volumes)) {
		v := p.Volumes[key]
		e := u.find("volumes", key)
		line, col := e.pos()
		f := Finding{File: e.file, Line: line, Column: col, Volume: key}
		val, has := v.Labels[label]
		switch by := prot.ProtectedBy(v.Labels); {
		case bool(v.External):
			f.Severity, f.Rule = SeverityWarning, RuleExternal
			f.Message = fmt.Sprintf("volume %q is external (engine volume %q): this file cannot protect it; "+
				"run \"docker ledger protect %s\" where it lives", key, v.Name, v.Name)
		case by == "" && !has:
			f.Severity, f.Rule = SeverityError, RuleUnprotected
			f.Message = fmt.Sprintf("volume %q has no %s label: down -v, volume prune or a recreate "+
				"would delete its data; add the label (--fix does it)", key, config.LabelText(prot.ProtectKeys()))
		case by == "":
			f.Severity, f.Rule = SeverityError, RuleUnprotected
			f.Message = fmt.Sprintf("volume %q has %s=%q, not \"true\": down -v, volume prune or a recreate "+
				"would delete its data; set it to \"true\" (--fix does it)", key, label, val)
		default:
			if n := labelNode(e.val, by); n != nil {
				line, col = n.Line, n.Column
			}
			declared = append(declared, declaredVolume{file: e.file, line: line, col: col,
				key: key, name: v.Name, configLabels: v.Labels})
			continue
		}
		out = append(out, f)
	}
	return out, declared
}

// labelNode finds the node that sets label in a volume's YAML (mapping or
// list form).
func labelNode(vol *yaml.Node, label string) *yaml.Node {
	_, labels := mapGet(vol, "labels")
	labels = resolve(labels)
	if labels == nil {
		return nil
	}
	if k, _ := mapGet(labels, label); k != nil {
		return k
	}
	if labels.Kind == yaml.SequenceNode {
		for _, item := range labels.Content {
			if strings.HasPrefix(item.Value, label+"=") || item.Value == label {
				return item
			}
		}
	}
	return nil
}

// database describes an image whose data must persist.
type database struct {
	kind string
	dirs []string // acceptable data directories (any one mounted is enough)
}

var dbImages = map[string]database{
	"postgres":                  {"postgres", nil}, // dirs from PGDATA / version
	"postgis":                   {"postgres", nil},
	"timescaledb":               {"postgres", nil},
	"timescaledb-ha":            {"postgres", []string{"/home/postgres/pgdata"}},
	"bitnami/postgresql":        {"postgres", []string{"/bitnami/postgresql"}},
	"mysql":                     {"mysql", []string{"/var/lib/mysql"}},
	"mariadb":                   {"mariadb", []string{"/var/lib/mysql"}},
	"percona":                   {"mysql", []string{"/var/lib/mysql"}},
	"percona-server":            {"mysql", []string{"/var/lib/mysql"}},
	"bitnami/mysql":             {"mysql", []string{"/bitnami/mysql"}},
	"bitnami/mariadb":           {"mariadb", []string{"/bitnami/mariadb"}},
	"mongo":                     {"mongo", []string{"/data/db"}},
	"mongodb-community-server":  {"mongo", []string{"/data/db"}},
	"mongodb-enterprise-server": {"mongo", []string{"/data/db"}},
	"bitnami/mongodb":           {"mongo", []string{"/bitnami/mongodb"}},
	"redis":                     {"redis", []string{"/data"}},
	"redis-stack-server":        {"redis", []string{"/data"}},
	"valkey":                    {"redis", []string{"/data"}},
	"bitnami/redis":             {"redis", []string{"/bitnami/redis/data"}},
	"bitnami/valkey":            {"redis", []string{"/bitnami/valkey/data"}},
}

// imageRepo returns the repository without registry and tag, and the tag.
func imageRepo(image string) (repo, tag string) {
	image, _, _ = strings.Cut(image, "@")
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		image, tag = image[:i], image[i+1:]
	}
	parts := strings.Split(image, "/")
	if len(parts) > 1 && (strings.ContainsAny(parts[0], ".:") || parts[0] == "localhost") {
		parts = parts[1:]
	}
	if len(parts) > 1 && parts[0] == "library" {
		parts = parts[1:]
	}
	return strings.Join(parts, "/"), tag
}

// detectDatabase recognises a database service by image, or (for a service
// with neither image nor build, e.g. an unset ${IMAGE}) by environment.
func detectDatabase(s types.ServiceConfig) (database, bool) {
	env := func(k string) string {
		if v := s.Environment[k]; v != nil {
			return *v
		}
		return ""
	}
	repo, tag := imageRepo(s.Image)
	db, ok := dbImages[repo]
	if !ok {
		db, ok = dbImages[path.Base(repo)]
	}
	if !ok && s.Image == "" && s.Build == nil {
		for _, probe := range []struct{ prefix, image string }{
			{"POSTGRES_", "postgres"}, {"MARIADB_", "mariadb"}, {"MYSQL_", "mysql"}, {"MONGO_INITDB_", "mongo"},
		} {
			for k := range s.Environment {
				if strings.HasPrefix(k, probe.prefix) {
					db, ok = dbImages[probe.image], true
				}
			}
			if ok {
				break
			}
		}
		tag = ""
	}
	if !ok {
		return database{}, false
	}
	if db.kind == "postgres" && db.dirs == nil {
		db.dirs = postgresDirs(tag, env("PGDATA"))
	}
	if db.kind == "redis" && !redisPersists(s.Command) {
		return database{}, false
	}
	return db, true
}

// postgresDirs: PGDATA when set; /var/lib/postgresql/data before 18;
// /var/lib/postgresql/<major>/docker from 18 on (both for unknown tags).
func postgresDirs(tag, pgdata string) []string {
	if pgdata != "" {
		return []string{path.Clean(pgdata)}
	}
	major := 0
	if m := regexp.MustCompile(`^(\d+)`).FindString(tag); m != "" {
		major, _ = strconv.Atoi(m)
	}
	switch {
	case major >= 18:
		return []string{fmt.Sprintf("/var/lib/postgresql/%d/docker", major)}
	case major > 0:
		return []string{"/var/lib/postgresql/data"}
	}
	return []string{"/var/lib/postgresql/data", "/var/lib/postgresql/18/docker"}
}

// redisPersists: --appendonly yes, or --save with a schedule.
func redisPersists(cmd types.ShellCommand) bool {
	for i, a := range cmd {
		next := ""
		if i+1 < len(cmd) {
			next = cmd[i+1]
		}
		switch {
		case a == "--appendonly" && next == "yes", a == "--appendonly=yes":
			return true
		case a == "--save" && strings.TrimSpace(next) != "" && !strings.HasPrefix(next, "--"):
			return true
		}
	}
	return false
}

// covers reports whether a mount at target holds dir.
func covers(target, dir string) bool {
	target = path.Clean(target)
	return target == dir || strings.HasPrefix(dir, strings.TrimSuffix(target, "/")+"/")
}

func (u *unit) databaseRule(p *types.Project) []Finding {
	var out []Finding
	for _, name := range slices.Sorted(maps.Keys(p.Services)) {
		s := p.Services[name]
		db, ok := detectDatabase(s)
		if !ok {
			continue
		}
		e := u.find("services", name)
		line, col := e.pos()
		f := Finding{File: e.file, Line: line, Column: col, Severity: SeverityError, Rule: RuleDatabaseData, Service: name}
		// the deepest mount that covers a data directory decides
		var best *types.ServiceVolumeConfig
		var bestDir, tmpfs string
		for i := range s.Volumes {
			m := &s.Volumes[i]
			for _, d := range db.dirs {
				if covers(m.Target, d) && (best == nil || len(m.Target) > len(best.Target)) {
					best, bestDir = m, d
				}
			}
		}
		for _, t := range s.Tmpfs {
			t, _, _ = strings.Cut(t, ":")
			for _, d := range db.dirs {
				if covers(t, d) && (best == nil || len(t) > len(best.Target)) {
					tmpfs, bestDir = t, d
				}
			}
		}
		switch {
		case tmpfs != "" || (best != nil && best.Type == types.VolumeTypeTmpfs):
			if tmpfs == "" {
				tmpfs = best.Target
			}
			f.Line, f.Column = u.mountPos(e, tmpfs, line, col)
			f.Message = fmt.Sprintf("service %q (%s) keeps its data directory %s on a tmpfs at %s: it is lost "+
				"when the container stops; mount a named, protected volume there", name, db.kind, bestDir, tmpfs)
		case best == nil:
			f.Message = fmt.Sprintf("service %q (%s) does not mount its data directory %s: the data lives in an "+
				"anonymous volume that down -v, rm -v or a recreate lose; mount a named, protected volume there",
				name, db.kind, db.dirs[0])
		case best.Type == types.VolumeTypeVolume && best.Source == "":
			f.Line, f.Column = u.mountPos(e, best.Target, line, col)
			f.Message = fmt.Sprintf("service %q (%s) keeps its data directory %s in an anonymous volume at %s: "+
				"down -v, rm -v or volume prune delete it; mount a named, protected volume there",
				name, db.kind, bestDir, best.Target)
		default:
			continue
		}
		out = append(out, f)
	}
	return out
}

// mountPos finds the volumes: (or tmpfs:) item of a service that mounts at
// target; else the service's own position.
func (u *unit) mountPos(e entry, target string, line, col int) (int, int) {
	for _, key := range []string{"volumes", "tmpfs"} {
		_, seq := mapGet(e.val, key)
		seq = resolve(seq)
		if seq == nil {
			continue
		}
		if seq.Kind == yaml.ScalarNode && strings.HasPrefix(seq.Value, target) {
			return seq.Line, seq.Column
		}
		if seq.Kind != yaml.SequenceNode {
			continue
		}
		for _, item := range seq.Content {
			t := ""
			switch item.Kind {
			case yaml.ScalarNode:
				parts := strings.Split(item.Value, ":")
				t = parts[0]
				if len(parts) > 1 && key == "volumes" {
					t = parts[1]
				}
			case yaml.MappingNode:
				_, tv := mapGet(item, "target")
				if tv != nil {
					t = tv.Value
				}
			}
			if t != "" && path.Clean(t) == path.Clean(target) {
				return item.Line, item.Column
			}
		}
	}
	return line, col
}
