package check

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"

	"gopkg.in/yaml.v3"
)

// ref is a scalar of a file that names another file compose reads (an
// include, an extends file), resolved to its path.
type ref struct {
	path string
	node *yaml.Node
}

// read reads the unit's files, and the files they include or extend, into
// u.docs, and keeps from compose-go what it cannot load safely: a file
// past the bounds (parseYAML), or a project that makes it build more than
// maxWeight in all (a file included or extended many times). Those are parse-error findings; the
// error is a file of the unit that cannot be read.
func (u *unit) read(dir string) ([]Finding, error) {
	var out []Finding
	refs := map[string][]ref{} // by file: the files it makes compose read
	seen := map[string]bool{}
	queue := slices.Clone(u.files)
	for len(queue) > 0 {
		f := queue[0]
		queue = queue[1:]
		if seen[f] {
			continue
		}
		seen[f] = true
		src, err := readFile(f)
		if err != nil {
			if slices.Contains(u.files, f) {
				return nil, readError(dir, f, err)
			}
			if errors.Is(err, fs.ErrNotExist) {
				continue // a missing include or extends file: compose-go reports it
			}
			// one compose-go must not open either (a FIFO, a device): at
			// the reference that names it
			out = append(out, referenceFinding(refs, f, fmt.Sprintf(
				"%s cannot be read: %v; the project was not loaded", display(dir, f), unwrapPath(err))))
			continue
		}
		d, err := parseYAML(f, src)
		if err == nil {
			u.docs = append(u.docs, d)
		}
		if err != nil {
			line, col := errorPos(err)
			out = append(out, Finding{File: f, Line: line, Column: col,
				Severity: SeverityError, Rule: RuleParse, Message: err.Error()})
			continue
		}
		for _, n := range d.references() {
			r := ref{path: abs(filepath.Dir(f), n.Value), node: n}
			refs[f] = append(refs[f], r)
			queue = append(queue, r.path)
		}
	}
	// the .env compose-go reads beside the first file
	if dotEnv := filepath.Join(filepath.Dir(u.files[0]), ".env"); notRegular(dotEnv) != nil {
		out = append(out, Finding{File: u.files[0], Line: 1, Column: 1, Severity: SeverityError, Rule: RuleParse,
			Message: fmt.Sprintf("%s cannot be read: %v; the project was not loaded", display(dir, dotEnv), errNotRegular)})
	}
	if len(out) > 0 {
		return out, nil
	}
	if f, over := u.overWeight(refs); over {
		return []Finding{f}, nil
	}
	return nil, nil
}

// overWeight reports whether the project makes compose-go build more than
// maxWeight: each file's weight once per time compose reads it (an
// included or extended file once per reference, and what it reads in
// turn). The finding points at the reference of the project's own files
// that costs the most.
func (u *unit) overWeight(refs map[string][]ref) (Finding, bool) {
	weight := map[string]int{}
	for _, d := range u.docs {
		weight[d.path] = d.weight
	}
	memo := map[string]int{}
	var cost func(string) int
	cost = func(p string) int {
		if c, ok := memo[p]; ok {
			return c // a cycle counts 0 here: compose-go reports it
		}
		memo[p] = 0
		c := weight[p]
		for _, r := range refs[p] {
			c = min(c+cost(r.path), maxWeight+1)
		}
		memo[p] = c
		return c
	}
	total := 0
	for _, f := range u.files {
		total = min(total+cost(f), maxWeight+1)
	}
	if total <= maxWeight {
		return Finding{}, false
	}
	f := Finding{File: u.files[0], Line: 1, Column: 1, Severity: SeverityError, Rule: RuleParse,
		Message: fmt.Sprintf("the project makes compose load more YAML than a check loads (over %d nodes, "+
			"weighted by depth, counting a file once per include or extends that names it); it was not loaded",
			maxWeight)}
	heaviest := -1
	for _, file := range u.files {
		for _, r := range refs[file] {
			if c := cost(r.path); c > heaviest {
				heaviest, f.File, f.Line, f.Column = c, file, r.node.Line, r.node.Column
			}
		}
	}
	return f, true
}

// validate checks every file of the unit against the compose schema (one
// finding per file it rejects).
func (u *unit) validate() []Finding {
	var out []Finding
	for _, d := range u.docs {
		if err := d.validate(); err != nil {
			line, col := errorPos(err)
			out = append(out, Finding{File: d.path, Line: line, Column: col,
				Severity: SeverityError, Rule: RuleParse, Message: err.Error()})
		}
	}
	return out
}

// referenceFinding is a parse-error finding at the include or extends
// reference that names file.
func referenceFinding(refs map[string][]ref, file, msg string) Finding {
	for from, rs := range refs {
		for _, r := range rs {
			if r.path == file {
				return Finding{File: from, Line: r.node.Line, Column: r.node.Column,
					Severity: SeverityError, Rule: RuleParse, Message: msg}
			}
		}
	}
	return Finding{File: file, Line: 1, Column: 1, Severity: SeverityError, Rule: RuleParse, Message: msg}
}

// unwrapPath is err without the *fs.PathError's operation and path.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
