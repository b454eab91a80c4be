package check

import (
	"context"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"

	"github.com/ledger-docker/ledger-docker/internal/compose"
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
	out, err := u.read(req.Dir)
	if err != nil || len(out) > 0 {
		return out, nil, err
	}
	// compose-go loads first and the schema is checked after, so that the
	// schema compiles (once per process) while the first files load; a file
	// the schema rejects is reported as such, whatever compose-go did with
	// it, a panic included.
	p, crash, err := loadRecovering(ctx, compose.Options{
		ConfigPaths: files,
		ProjectDir:  filepath.Dir(files[0]),
		Env:         req.Env,
		Lenient:     true,
	})
	if fs := u.validate(); len(fs) > 0 {
		return fs, nil, nil
	}
	if crash != nil {
		panic(crash) // checkFiles makes it this file's finding
	}
	if err != nil {
		return []Finding{u.loadError(err)}, nil, nil
	}
	fs, dv := u.volumeRules(p, req.protection())
	out = append(out, fs...)
	out = append(out, u.databaseRule(p, req.DatabaseImages)...)
	return out, dv, nil
}

// loadRecovering is compose.Load, with a panic returned instead of raised.
func loadRecovering(ctx context.Context, o compose.Options) (p *types.Project, crash any, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, crash, err = nil, r, nil
		}
	}()
	p, err = compose.Load(ctx, o)
	return p, nil, err
}

// errPath finds the key path a compose-go message names: dotted
// (services.db.ports.[].target) or mapstructure's (services[db].mem_limit).
var errPath = regexp.MustCompile(`(?:^|[\s'"])((?:services|volumes|networks|configs|secrets|include|models)(?:\[[^\]]*\]|\.[^\s'":,]+)+)`)

// loadError places compose-go's message at the value it is about: a file
// or value the message quotes, else the key path it names.
func (u *unit) loadError(err error) Finding {
	msg := strings.Join(strings.Fields(strings.TrimPrefix(err.Error(), "load compose project: ")), " ")
	f := Finding{File: u.files[0], Line: 1, Column: 1, Severity: SeverityError, Rule: RuleParse, Message: msg}
	// a line the YAML decoder names (a duplicate key): in the file the
	// message names, at the first value on that line
	if line := yamlErrorLine(err); line > 0 && len(u.docs) > 0 {
		at := u.docs[0]
		for _, d := range u.docs {
			if strings.Contains(msg, d.path+":") {
				at = d
			}
		}
		f.File, f.Line = at.path, line
		walkScalars(at.root, func(n *yaml.Node) {
			if n.Line == line && (f.Column == 1 || n.Column < f.Column) {
				f.Column = n.Column
			}
		})
		return f
	}
	// a file the message names (a missing include or extends file): point
	// at the scalar that names it
	var best *yaml.Node
	named := false
	for _, d := range u.docs {
		if strings.Contains(msg, d.path) && d.path != u.files[0] {
			f.File, named = d.path, true
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
	// a key path compose-go names: the file that sets it (the last one
	// when several do, as the last one wins), at the value
	m := errPath.FindStringSubmatch(msg)
	if m == nil {
		return f
	}
	parts := splitPath(m[1])
	bestDepth := 0
	for _, d := range u.docs {
		if named && d.path != f.File {
			continue
		}
		for _, root := range d.roots {
			key, val, depth := lookup(root, parts)
			if depth < bestDepth || depth == 0 {
				continue
			}
			at := val
			if at == nil || (at.Kind != yaml.ScalarNode && key != nil) {
				at = key
			}
			if at != nil {
				bestDepth, f.File, f.Line, f.Column = depth, d.path, at.Line, at.Column
			}
		}
	}
	return f
}

// splitPath splits services.db.ports.[].target or services[db].mem_limit
// into keys, "[]" standing for any list item.
func splitPath(p string) []string {
	p = strings.NewReplacer("[]", ".\x00", "[", ".", "]", "").Replace(p)
	parts := strings.FieldsFunc(p, func(r rune) bool { return r == '.' })
	for i := range parts {
		if parts[i] == "\x00" {
			parts[i] = "[]"
		}
	}
	return parts
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
// first of the project's files (base first), then included files; in a
// file of several YAML documents (---), which compose merges, the first
// document that has it.
//
// With keys, the last of the project's own files whose entry sets one of
// them comes first: compose merges the files in order, so a fragment or
// override that sets a service's image, or resets a volume's labels, is
// where what the finding is about was decided.
func (u *unit) find(section, name string, keys ...string) entry {
	for i := len(u.files) - 1; i > 0 && len(keys) > 0; i-- {
		for _, d := range u.docs {
			if d.path != u.files[i] {
				continue
			}
			for _, root := range d.roots {
				if e, ok := rootEntries(d.path, root, section)[name]; ok &&
					slices.ContainsFunc(keys, func(k string) bool { kn, _ := mapGet(e.val, k); return kn != nil }) {
					return e
				}
			}
		}
	}
	for _, d := range u.docs {
		for _, root := range d.roots {
			if e, ok := rootEntries(d.path, root, section)[name]; ok {
				return e
			}
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
