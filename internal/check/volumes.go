package check

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/errdefs"
	"github.com/compose-spec/compose-go/v2/format"
	"github.com/compose-spec/compose-go/v2/template"
	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"

	"github.com/ledger-docker/ledger-docker/internal/config"
	"github.com/ledger-docker/ledger-docker/internal/settings"
)

// The compose rules on volumes and database services. Every service counts,
// whatever its profiles: a pre-commit check looks at every way the file can
// be run, not at the profiles the committer happens to select.

// volumeRules: a named volume that a service mounts writable must carry the
// protect label; one that only caches or build output use gets a warning.
// A volume no service mounts (compose never creates it), mounted read-only
// everywhere, or that is a local bind of a host folder or a network share
// (removing it leaves the files) holds nothing a deletion would lose.
func (u *unit) volumeRules(p *types.Project, prot *config.Config) ([]Finding, []declaredVolume) {
	if fs := u.undefinedVolumes(p); len(fs) > 0 {
		return fs, nil
	}
	var out []Finding
	var declared []declaredVolume
	label := prot.WriteKey()
	mounts := volumeMounts(p)
	for _, key := range slices.Sorted(maps.Keys(p.Volumes)) {
		v := p.Volumes[key]
		e := u.find("volumes", key, "labels", "external", "driver", "driver_opts", "name")
		line, col := e.pos()
		f := Finding{File: e.file, Line: line, Column: col, Volume: key}
		val, has := v.Labels[label]
		by := prot.ProtectedBy(v.Labels)
		writable := slices.DeleteFunc(slices.Clone(mounts[key]), func(m types.ServiceVolumeConfig) bool { return m.ReadOnly })
		switch {
		case bool(v.External) && len(writable) > 0:
			f.Severity, f.Rule = SeverityWarning, RuleExternal
			f.Message = fmt.Sprintf("volume %q is external (engine volume %q): this file cannot protect it; "+
				"run \"docker ledger protect %s\" where it lives", key, v.Name, v.Name)
		case bool(v.External):
			continue
		case by != "":
			if n := labelNode(e.val, by); n != nil {
				line, col = n.Line, n.Column
			}
			declared = append(declared, declaredVolume{file: e.file, line: line, col: col,
				key: key, name: v.Name, configLabels: v.Labels})
			continue
		case len(writable) == 0 || hostBind(v):
			continue
		case !slices.ContainsFunc(writable, func(m types.ServiceVolumeConfig) bool { return !cachePath(m.Target) }):
			f.Severity, f.Rule = SeverityWarning, RuleUnprotectedCache
			f.Message = fmt.Sprintf("volume %q holds only caches or build output (mounted at %s): down -v or "+
				"volume prune delete it, and it is rebuilt; add the protect label if it is worth keeping, "+
				"or say it is disposable with # ledger-check: ignore %s", key, targets(writable), RuleUnprotectedCache)
		case !has:
			f.Severity, f.Rule = SeverityError, RuleUnprotected
			f.Message = fmt.Sprintf("volume %q has no %s label: down -v, volume prune or a recreate "+
				"would delete its data; add the label (--fix does it)", key, config.LabelText(prot.ProtectKeys()))
		default:
			f.Severity, f.Rule = SeverityError, RuleUnprotected
			f.Message = fmt.Sprintf("volume %q has %s=%q, not \"true\": down -v, volume prune or a recreate "+
				"would delete its data; set it to \"true\" (--fix does it)", key, label, val)
		}
		out = append(out, f)
	}
	return out, declared
}

// undefinedVolumes: compose refuses a project whose services mount a named
// volume its top-level volumes: does not declare (compose-go's consistency
// check, which the lenient load skips): one parse error per mount, at the
// service's volumes: item, in compose's words. Services of every profile
// count: compose checks those of the profiles it runs.
func (u *unit) undefinedVolumes(p *types.Project) []Finding {
	all := p.AllServices()
	var out []Finding
	for _, name := range slices.Sorted(maps.Keys(all)) {
		for _, m := range all[name].Volumes {
			if m.Type != types.VolumeTypeVolume || m.Source == "" {
				continue
			}
			if _, ok := p.Volumes[m.Source]; ok {
				continue
			}
			file, item := u.volumeItem(name, m, p.Environment)
			if fromUnset(item, m.Source, p.Environment) {
				continue // the lenient load filled in an unset variable
			}
			line, col := 1, 1
			if item != nil {
				line, col = item.Line, item.Column
			} else {
				e := u.find("services", name)
				file = e.file
				line, col = e.pos()
			}
			out = append(out, Finding{File: file, Line: line, Column: col, Severity: SeverityError, Rule: RuleParse,
				Service: name, Message: fmt.Errorf("service %q refers to undefined volume %s: %w", name, m.Source,
					errdefs.ErrInvalid).Error()})
		}
	}
	return out
}

// volumeItem finds the volumes: item of a service that makes a mount, and
// its file: in any document of any file, by its target, else its source,
// read with the project's environment (an unset variable as any word);
// nil when none is found.
func (u *unit) volumeItem(service string, m types.ServiceVolumeConfig, env map[string]string) (string, *yaml.Node) {
	lookup := func(k string) (string, bool) {
		if v, ok := env[k]; ok {
			return v, true
		}
		return "unset", true
	}
	for _, match := range []func(src, target string) bool{
		func(_, target string) bool { return target == path.Clean(m.Target) },
		func(src, _ string) bool { return src == m.Source },
	} {
		for _, d := range u.docs {
			for _, root := range d.roots {
				_, svcs := mapGet(root, "services")
				_, svc := mapGet(svcs, service)
				if n := seqItem(svc, "volumes", func(item *yaml.Node) bool {
					src, target, err := itemMount(item, lookup)
					return err == nil && match(src, target)
				}); n != nil {
					return d.path, n
				}
			}
		}
	}
	return "", nil
}

// fromUnset: the item names its source with a variable that the
// project's environment leaves unset (the lenient load filled it in; with
// it unset, compose would read another spec, or none): read again with
// that environment alone, its source is not source.
func fromUnset(item *yaml.Node, source string, env map[string]string) bool {
	if item == nil || !hasVariable(item) {
		return false
	}
	src, _, err := itemMount(item, func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	})
	return err != nil || src != source
}

// itemMount reads a volumes: item (SOURCE:TARGET[:MODE] or a mapping) as
// compose would with lookup's variables: its source and target.
func itemMount(item *yaml.Node, lookup template.Mapping) (src, target string, err error) {
	expand := func(n *yaml.Node) (string, error) {
		if n = resolve(n); n == nil {
			return "", nil
		}
		return template.SubstituteWithOptions(n.Value, lookup, template.WithoutLogging)
	}
	switch item = resolve(item); {
	case item == nil:
		return "", "", errors.New("no item")
	case item.Kind == yaml.ScalarNode:
		spec, err := expand(item)
		if err != nil {
			return "", "", err
		}
		v, err := format.ParseVolume(spec)
		return v.Source, path.Clean(v.Target), err
	case item.Kind == yaml.MappingNode:
		_, sv := mapGet(item, "source")
		_, tv := mapGet(item, "target")
		if src, err = expand(sv); err != nil {
			return "", "", err
		}
		target, err = expand(tv)
		return src, path.Clean(target), err
	}
	return "", "", errors.New("not a volume")
}

// volumeMounts lists, per volume key, the mounts of it in every service.
func volumeMounts(p *types.Project) map[string][]types.ServiceVolumeConfig {
	out := map[string][]types.ServiceVolumeConfig{}
	for _, s := range p.AllServices() {
		for _, m := range s.Volumes {
			if m.Type == types.VolumeTypeVolume && m.Source != "" {
				out[m.Source] = append(out[m.Source], m)
			}
		}
	}
	return out
}

// hostBind: a local volume whose files live elsewhere: it binds a host
// folder (driver_opts type none, o bind) or mounts a network share (type
// nfs, nfs4 or cifs). Removing the volume unmounts it and leaves the files.
func hostBind(v types.VolumeConfig) bool {
	if v.Driver != "" && v.Driver != "local" {
		return false
	}
	if v.DriverOpts["device"] == "" {
		return false
	}
	switch v.DriverOpts["type"] {
	case "nfs", "nfs4", "cifs":
		return true
	}
	for _, o := range strings.Split(v.DriverOpts["o"], ",") {
		if o = strings.TrimSpace(o); o == "bind" || o == "rbind" {
			return true
		}
	}
	return false
}

// cacheDirs are folder names that hold caches, dependencies or build
// output: things a build or an install makes again.
var cacheDirs = []string{
	"node_modules", ".cache", "cache", ".npm", ".yarn", ".pnpm-store", ".gradle", ".m2", ".ivy2", ".sbt",
	".ccache", "__pycache__", ".pytest_cache", ".mypy_cache", ".tox", ".venv", "venv",
	"bundle", "target", "build", "dist", ".next", ".nuxt", ".turbo", ".parcel-cache", ".angular",
}

// cachePath: a mount target with a cache folder in it (/app/node_modules,
// /usr/local/bundle, /var/cache/app), or Go's module cache.
func cachePath(target string) bool {
	target = path.Clean(target)
	if strings.HasSuffix(target, "/pkg/mod") {
		return true
	}
	for _, part := range strings.Split(target, "/") {
		if slices.Contains(cacheDirs, part) {
			return true
		}
	}
	return false
}

func targets(ms []types.ServiceVolumeConfig) string {
	var out []string
	for _, m := range ms {
		if t := path.Clean(m.Target); !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return strings.Join(out, ", ")
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

// covers reports whether a mount at target holds dir.
func covers(target, dir string) bool {
	target = path.Clean(target)
	return target == dir || strings.HasPrefix(dir, strings.TrimSuffix(target, "/")+"/")
}

// databaseRule: every database service keeps its data directory in a named
// volume or a bind mount. Images are recognised by dbImages, the user
// configuration's database_images and the project's x-ledger
// database_images.
func (u *unit) databaseRule(p *types.Project, configured []config.DatabaseImage) []Finding {
	own, err := settings.DatabaseImages(p.Extensions[settings.Extension])
	if err != nil {
		// settings words it without line numbers (it decodes compose-go's
		// copy of the block): the finding is placed at the key here
		msg := strings.Join(strings.Fields(err.Error()), " ")
		f := Finding{File: u.files[0], Line: 1, Column: 1, Severity: SeverityError, Rule: RuleParse, Message: msg}
		var keyed interface{ Parts() []string } // settings.KeyError, UnknownKeyError
		atKey := errors.As(err, &keyed)
	found:
		for _, d := range u.docs {
			for _, root := range d.roots {
				k, ext := mapGet(root, settings.Extension)
				if k2, _ := mapGet(ext, "database_images"); k2 != nil && strings.Contains(msg, "database_images") {
					k = k2
				}
				if atKey { // at the key itself
					if k3, v3, depth := lookup(root, keyed.Parts()); depth == len(keyed.Parts()) {
						k = cmp.Or(k3, v3)
					}
				}
				if k != nil {
					f.File, f.Line, f.Column = d.path, k.Line, k.Column
					break found
				}
			}
		}
		return []Finding{f}
	}
	if len(u.undefinedVolumes(p)) > 0 {
		return nil // compose refuses the project: volumeRules reports why
	}
	extra := extraImages(append(own, configured...))
	all := p.AllServices()
	var out []Finding
	for _, name := range slices.Sorted(maps.Keys(all)) {
		s := all[name]
		db, ok := detectDatabase(s, extra)
		if !ok {
			continue
		}
		if f, bad := u.placeData(all, name, db); bad {
			out = append(out, f)
		}
	}
	return out
}

// mount is a mount of a service, its own or one it has through
// volumes_from (from names that service).
type mount struct {
	types.ServiceVolumeConfig
	from string
}

// serviceMounts: the service's volumes and tmpfs, then those of the
// services it takes volumes_from (recursively); unknown is set when it
// takes them from a container outside the project, whose mounts the file
// does not show.
func serviceMounts(all types.Services, name string, seen map[string]bool) (ms []mount, unknown bool) {
	if seen[name] {
		return nil, false
	}
	seen[name] = true
	s := all[name]
	from := ""
	if len(seen) > 1 {
		from = name
	}
	for _, v := range s.Volumes {
		ms = append(ms, mount{v, from})
	}
	for _, t := range s.Tmpfs {
		t, _, _ = strings.Cut(t, ":")
		ms = append(ms, mount{types.ServiceVolumeConfig{Type: types.VolumeTypeTmpfs, Target: t}, from})
	}
	for _, ref := range s.VolumesFrom {
		other, isContainer := volumesFromService(ref)
		if isContainer {
			unknown = true
			continue
		}
		m, unk := serviceMounts(all, other, seen)
		ms, unknown = append(ms, m...), unknown || unk
	}
	return ms, unknown
}

// volumesFromService reads a volumes_from entry: "service", "service:ro",
// "service:NAME" or "container:NAME".
func volumesFromService(ref string) (name string, container bool) {
	kind, rest, ok := strings.Cut(ref, ":")
	switch {
	case ok && kind == "container":
		return rest, true
	case ok && kind == "service":
		name, _, _ = strings.Cut(rest, ":")
		return name, false
	}
	return kind, false
}

// placement is what holds one data directory.
type placement struct {
	dir    string // the data directory
	at     *mount // the deepest mount holding it (nil: none)
	volume string // the image's VOLUME holding it, deeper than any mount ("": none)
}

func (pl placement) persisted() bool {
	return pl.volume == "" && pl.at != nil && pl.at.Type != types.VolumeTypeTmpfs &&
		!(pl.at.Type == types.VolumeTypeVolume && pl.at.Source == "")
}

// place finds what holds dir: the deepest of the service's mounts and the
// image's VOLUME paths (which a mount replaces only with exactly that
// target) that covers it.
func place(ms []mount, volumes []string, dir string) placement {
	pl := placement{dir: dir}
	depth := -1
	for i := range ms {
		if covers(ms[i].Target, dir) && len(path.Clean(ms[i].Target)) > depth {
			pl.at, depth = &ms[i], len(path.Clean(ms[i].Target))
		}
	}
	for _, v := range volumes {
		if covers(v, dir) && len(v) > depth && !slices.ContainsFunc(ms, func(m mount) bool { return path.Clean(m.Target) == v }) {
			pl.volume, depth = v, len(v)
		}
	}
	return pl
}

// placeData checks where a database service's data goes and returns the
// finding when it is not in a named volume or a bind mount. Any variant
// (tag without a version) or data directory placed right is enough; the
// first one is reported, preferring one with a mount the file wrote.
func (u *unit) placeData(all types.Services, name string, db database) (Finding, bool) {
	ms, unknown := serviceMounts(all, name, map[string]bool{})
	var report *placement
	var rv dbVariant // report's variant
	for _, v := range db.variants {
		for _, d := range v.data {
			pl := place(ms, v.volumes, d)
			if pl.persisted() {
				return Finding{}, false
			}
			if report == nil || (report.at == nil && pl.at != nil) {
				report, rv = &pl, v
			}
		}
	}
	if unknown && report.at == nil {
		return Finding{}, false // volumes_from a container the file does not show
	}
	e := u.find("services", name, "image", "build", "volumes")
	line, col := e.pos()
	f := Finding{File: e.file, Line: line, Column: col, Severity: SeverityError, Rule: RuleDatabaseData, Service: name}
	what := fmt.Sprintf("service %q (%s)", name, db.kind)
	if db.redis == redisDefault {
		f.Severity, f.Rule = SeverityWarning, RuleRedisDefault
	}
	pl := *report
	mountAt := pl.dir
	if pl.volume != "" {
		mountAt = pl.volume
	}
	at := pl.at
	var stale *mount // a mount on the data directory of another version of the image
	var was staleDir
	if at == nil && !rv.moved {
		stale, was = staleMount(ms, db.stale)
	}
	switch {
	case stale != nil:
		f.Line, f.Column = u.mountPos(e, stale, line, col)
		f.Message = fmt.Sprintf("%s mounts %s at %s%s, the data directory of %s %s; %s", what, source(stale),
			was.dir, via(stale), db.kind, was.versions, db.describe(rv))
		if pl.volume != "" {
			f.Message += fmt.Sprintf(" keeps its data directory %s under VOLUME %s: the data goes to an anonymous "+
				"volume there, which down -v, rm -v or a recreate lose", pl.dir, pl.volume)
		} else {
			f.Message += fmt.Sprintf(" keeps its data directory %s in the container, which rm or a recreate lose", pl.dir)
		}
		if rv.note != "" {
			f.Message += " (" + rv.note + ")"
		}
		f.Message += fmt.Sprintf("; mount it at %s instead", mountAt)
		if rv.env != "" {
			f.Message += fmt.Sprintf(", or set %s to %s", rv.env, was.dir)
		}
	case pl.volume != "" && at != nil:
		f.Line, f.Column = u.mountPos(e, at, line, col)
		f.Message = fmt.Sprintf("%s mounts %s at %s, a parent of its data directory %s: the image declares "+
			"VOLUME %s, so the data goes to an anonymous volume there, which down -v, rm -v or a recreate lose; "+
			"mount it at %s instead", what, source(at), path.Clean(at.Target), pl.dir, pl.volume, pl.volume)
	case at != nil && at.Type == types.VolumeTypeTmpfs:
		f.Line, f.Column = u.mountPos(e, at, line, col)
		f.Message = fmt.Sprintf("%s keeps its data directory %s on a tmpfs at %s%s: it is lost when the "+
			"container stops; mount a named, protected volume at %s", what, pl.dir, at.Target, via(at), mountAt)
	case at != nil:
		f.Line, f.Column = u.mountPos(e, at, line, col)
		f.Message = fmt.Sprintf("%s keeps its data directory %s in an anonymous volume at %s%s: down -v, rm -v "+
			"or volume prune delete it; mount a named, protected volume at %s", what, pl.dir, at.Target, via(at), mountAt)
	case pl.volume != "":
		f.Message = fmt.Sprintf("%s does not mount its data directory %s: the data lives in an anonymous volume "+
			"that down -v, rm -v or a recreate lose; mount a named, protected volume at %s", what, pl.dir, mountAt)
	default:
		f.Message = fmt.Sprintf("%s does not mount its data directory %s: the data lives in the container, "+
			"which rm or a recreate lose; mount a named, protected volume at %s", what, pl.dir, mountAt)
	}
	if f.Rule == RuleRedisDefault {
		f.Message += fmt.Sprintf(" (%s; for a cache, turn them off with %s \"\" or say so with "+
			"# ledger-check: ignore %s)", db.snap.what, db.snap.off, RuleRedisDefault)
	}
	return f, true
}

// staleMount finds a mount on a data directory of another version of the
// image (a volume at /var/lib/postgresql/data under PostgreSQL 18).
func staleMount(ms []mount, stale []staleDir) (*mount, staleDir) {
	for i := range ms {
		for _, sd := range stale {
			if path.Clean(ms[i].Target) == sd.dir {
				return &ms[i], sd
			}
		}
	}
	return nil, staleDir{}
}

// describe names the image a database runs, and its versions when its
// tag names none: "the image postgres:18", "the image postgres names no
// version, so it is the latest (18 and later), which".
func (db database) describe(v dbVariant) string {
	switch {
	case db.latest && v.versions != "":
		return fmt.Sprintf("the image %s names no version, so it is the latest (%s), which", db.image, v.versions)
	case db.latest:
		return fmt.Sprintf("the image %s names no version, so it is the latest, which", db.image)
	}
	return "the image " + db.image
}

// source names what a mount mounts, for messages.
func source(m *mount) string {
	switch {
	case m.Type == types.VolumeTypeVolume && m.Source != "":
		return fmt.Sprintf("volume %q", m.Source)
	case m.Source != "":
		return m.Source
	}
	return "a volume"
}

// via names the service a mount comes from through volumes_from.
func via(m *mount) string {
	if m.from == "" {
		return ""
	}
	return fmt.Sprintf(" of service %q (volumes_from)", m.from)
}

// mountPos finds the item of a service that makes a mount: its volumes:
// or tmpfs: item, or for a mount taken through volumes_from the
// volumes_from item; else the service's own position.
func (u *unit) mountPos(e entry, m *mount, line, col int) (int, int) {
	if m.from != "" {
		if n := seqItem(e.val, "volumes_from", func(item *yaml.Node) bool {
			name, _ := volumesFromService(item.Value)
			return name == m.from
		}); n != nil {
			return n.Line, n.Column
		}
		return line, col
	}
	target := path.Clean(m.Target)
	for _, key := range []string{"volumes", "tmpfs"} {
		_, seq := mapGet(e.val, key)
		seq = resolve(seq)
		if seq != nil && seq.Kind == yaml.ScalarNode && strings.HasPrefix(seq.Value, target) {
			return seq.Line, seq.Column
		}
		if n := seqItem(e.val, key, func(item *yaml.Node) bool { return mountTarget(item, key) == target }); n != nil {
			return n.Line, n.Column
		}
	}
	return line, col
}

// seqItem returns the first item of the sequence under key that matches.
func seqItem(m *yaml.Node, key string, match func(*yaml.Node) bool) *yaml.Node {
	_, seq := mapGet(m, key)
	seq = resolve(seq)
	if seq == nil || seq.Kind != yaml.SequenceNode {
		return nil
	}
	for _, item := range seq.Content {
		if match(resolve(item)) {
			return item
		}
	}
	return nil
}

// mountTarget is the target of a volumes: (SOURCE:TARGET[:MODE] or
// mapping) or tmpfs: (TARGET[:OPTIONS]) item.
func mountTarget(item *yaml.Node, key string) string {
	if item = resolve(item); item == nil {
		return ""
	}
	switch item.Kind {
	case yaml.ScalarNode:
		parts := strings.Split(item.Value, ":")
		if len(parts) > 1 && key == "volumes" {
			return path.Clean(parts[1])
		}
		return path.Clean(parts[0])
	case yaml.MappingNode:
		if _, tv := mapGet(item, "target"); tv != nil {
			return path.Clean(tv.Value)
		}
	}
	return ""
}
