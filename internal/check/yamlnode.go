package check

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// compose-go drops positions, so findings are placed by walking the YAML
// node tree of each file ourselves.

// yamlDoc is one parsed file.
type yamlDoc struct {
	path  string
	src   []byte
	root  *yaml.Node   // the first document's top-level node (nil for an empty file)
	roots []*yaml.Node // every document's top-level node: compose reads them all
	// weight is what compose-go builds for it (shape.weight), and
	// aliasWeight what expanding aliases adds to it.
	weight, aliasWeight int
}

// Bounds on what a file, or a project, may make compose-go build.
// compose-go expands every alias (its !reset pass walks each one anew,
// before yaml.v3's own alias guard), so a few hundred bytes of anchors that
// nest aliases (the "billion laughs" shape) would cost it minutes and
// gigabytes; and it matches every value's path against each of its
// patterns, so its time and memory grow with the nodes times their depth.
// A file past a bound is reported as a parse error, never loaded.
//
// Weight is nodes plus their summed depth / 6. What aliases add to it is
// bounded tightly (maxAliasWeight); a file written out in full, as large
// files are, may weigh more (maxWeight): on a 2-core machine a file of
// 8,000 lines (about 28,000) loads in about 0.4 s and 50 MB.
const (
	maxFileBytes = 4 << 20
	// maxWeight bounds the weight of the YAML compose-go would build for
	// a project, aliases expanded and each file once per reference to it:
	// about 20,000 lines of compose file, a second and 100 MB of loading.
	maxWeight = 64_000
	// maxAliasWeight bounds what expanding aliases adds to a file's weight:
	// well past what anchors for shared settings add, well short of a
	// shape that multiplies.
	maxAliasWeight = 16_000
	// maxYAMLDepth is how deep values may nest (a compose file's rarely
	// pass 10).
	maxYAMLDepth = 64
)

// posError is an error at a position of the file.
type posError struct {
	line, col int
	msg       string
}

func (e *posError) Error() string { return e.msg }

// errorPos is where err points in the file: its own position, else the
// line yaml.v3 names (column 1), else 1:1.
func errorPos(err error) (int, int) {
	var pe *posError
	if errors.As(err, &pe) {
		return pe.line, pe.col
	}
	return max(yamlErrorLine(err), 1), 1
}

// parseYAML reads every document of src into node trees (aliases are not
// expanded) and refuses files past maxFileBytes, maxWeight, maxAliasWeight
// or maxYAMLDepth.
func parseYAML(path string, src []byte) (*yamlDoc, error) {
	if len(src) > maxFileBytes {
		return nil, &posError{1, 1, fmt.Sprintf("the file is %d bytes, over the %d a compose file may have here; "+
			"it was not loaded", len(src), maxFileBytes)}
	}
	d := &yamlDoc{path: path, src: src}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	m := measurer{memo: map[*yaml.Node]shape{}}
	for {
		var n yaml.Node
		if err := dec.Decode(&n); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, err
		}
		sh, err := m.measure(&n)
		if err != nil {
			return nil, err
		}
		d.weight += sh.weight()
		if d.aliasWeight += sh.weight() - sh.plainWeight(); sh.over() || d.weight > maxWeight || d.aliasWeight > maxAliasWeight {
			return nil, tooBig(sh, &n, d.aliasWeight > maxAliasWeight)
		}
		var root *yaml.Node
		if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
			root = n.Content[0]
		}
		if len(d.roots) == 0 {
			d.root = root
		}
		d.roots = append(d.roots, root)
	}
	return d, nil
}

// shape is the size of a node with every alias expanded, as compose-go
// builds it: nodes, their summed depth below it, and its height; and the
// same as written (an alias one node). Past a bound it is not measured
// further; at is where the first bound was crossed.
type shape struct {
	size, depths, height   int
	plainSize, plainDepths int
	busy                   bool // being measured (an alias target)
	at                     *yaml.Node
}

func (sh shape) weight() int { return sh.size + sh.depths/6 }

func (sh shape) plainWeight() int { return sh.plainSize + sh.plainDepths/6 }

func (sh shape) over() bool {
	return sh.weight() > maxWeight || sh.weight()-sh.plainWeight() > maxAliasWeight || sh.height > maxYAMLDepth
}

func tooBig(sh shape, doc *yaml.Node, aliases bool) error {
	at := sh.at
	if at == nil {
		at = doc
	}
	switch {
	case sh.height > maxYAMLDepth:
		return &posError{max(at.Line, 1), max(at.Column, 1), fmt.Sprintf("values nest more than %d deep here "+
			"(aliases expanded): compose's loader slows down with the square of the depth; it was not loaded",
			maxYAMLDepth)}
	case aliases || sh.weight()-sh.plainWeight() > maxAliasWeight:
		return &posError{max(at.Line, 1), max(at.Column, 1), fmt.Sprintf("aliases expand the file past what a "+
			"check loads (over %d nodes more than written, weighted by depth: anchors whose aliases nest, the "+
			"\"billion laughs\" shape); compose would spend seconds to minutes and gigabytes on it; it was not "+
			"loaded", maxAliasWeight)}
	}
	return &posError{max(at.Line, 1), max(at.Column, 1), fmt.Sprintf("the file is larger than a check loads "+
		"(over %d nodes, weighted by depth, aliases expanded: about 20,000 lines); it was not loaded", maxWeight)}
}

// measurer measures nodes, each alias target once.
type measurer struct {
	memo map[*yaml.Node]shape
}

func (m *measurer) measure(n *yaml.Node) (shape, error) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		sh, ok := m.memo[n.Alias]
		if !ok {
			m.memo[n.Alias] = shape{busy: true}
			var err error
			if sh, err = m.measure(n.Alias); err != nil {
				return shape{}, err
			}
			m.memo[n.Alias] = sh
		}
		if sh.busy {
			return shape{}, &posError{max(n.Line, 1), max(n.Column, 1), fmt.Sprintf("alias *%s refers to the "+
				"value that holds it: it would expand forever", n.Value)}
		}
		sh.plainSize, sh.plainDepths = 1, 0 // as written, an alias is one node
		if sh.over() && sh.at == nil {
			sh.at = n
		}
		return sh, nil
	}
	out := shape{size: 1, height: 1, plainSize: 1}
	for _, ch := range n.Content {
		sh, err := m.measure(ch)
		if err != nil {
			return shape{}, err
		}
		out.size += sh.size
		out.depths += sh.depths + sh.size
		out.plainSize += sh.plainSize
		out.plainDepths += sh.plainDepths + sh.plainSize
		out.height = max(out.height, sh.height+1)
		if out.at == nil {
			out.at = sh.at
		}
		if out.over() {
			if out.at == nil {
				out.at = ch
			}
			return out, nil
		}
	}
	return out, nil
}

// resolve follows an alias.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// mapGet returns the key and value nodes of key in mapping m.
func mapGet(m *yaml.Node, key string) (k, v *yaml.Node) {
	m = resolve(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

// entry is a key of a top-level section (a volume, a service) in a file.
type entry struct {
	file     string
	key, val *yaml.Node
}

// entries lists the keys of the top-level section (volumes, services) of
// the file's first document: the one --fix edits. find looks at every
// document.
func (d *yamlDoc) entries(section string) map[string]entry {
	return rootEntries(d.path, d.root, section)
}

// rootEntries lists the keys of the top-level section of one document.
func rootEntries(file string, root *yaml.Node, section string) map[string]entry {
	out := map[string]entry{}
	_, sec := mapGet(root, section)
	sec = resolve(sec)
	if sec == nil || sec.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(sec.Content); i += 2 {
		out[sec.Content[i].Value] = entry{file, sec.Content[i], sec.Content[i+1]}
	}
	return out
}

// references lists the scalars that name other compose files d makes
// compose read: those of the top-level include: and of the services'
// extends: file (paths as written, relative to the file's folder;
// interpolated paths are skipped). compose reads a file once per
// reference.
func (d *yamlDoc) references() []*yaml.Node {
	var out []*yaml.Node
	add := func(n *yaml.Node) {
		if n = resolve(n); n != nil && n.Kind == yaml.ScalarNode && !strings.Contains(n.Value, "$") {
			out = append(out, n)
		}
	}
	for _, root := range d.roots {
		_, inc := mapGet(root, "include")
		if inc = resolve(inc); inc != nil && inc.Kind == yaml.SequenceNode {
			for _, item := range inc.Content {
				if _, p := mapGet(item, "path"); p != nil {
					item = p
				}
				if item = resolve(item); item.Kind == yaml.SequenceNode {
					for _, c := range item.Content {
						add(c)
					}
					continue
				}
				add(item)
			}
		}
		_, svcs := mapGet(root, "services")
		if svcs = resolve(svcs); svcs != nil && svcs.Kind == yaml.MappingNode {
			for i := 1; i < len(svcs.Content); i += 2 {
				_, ext := mapGet(svcs.Content[i], "extends")
				_, f := mapGet(ext, "file")
				add(f)
			}
		}
	}
	return out
}

// lookup walks a path of keys and list indices (services, db, ports, 0)
// from root as far as it goes: the deepest key (nil for a list item or
// nothing) and value found, and how many parts matched. A part "[]" is any
// item of a list: the first one that holds a variable, else the first. A
// service or volume name may hold dots, so parts join again when a key is
// not found alone.
func lookup(root *yaml.Node, parts []string) (key, val *yaml.Node, depth int) {
	cur := root
	for i := 0; i < len(parts) && cur != nil; {
		cur = resolve(cur)
		switch cur.Kind {
		case yaml.MappingNode:
			j := i + 1
			k, v := mapGet(cur, parts[i])
			for ; k == nil && j < len(parts); j++ {
				k, v = mapGet(cur, strings.Join(parts[i:j+1], "."))
			}
			if k == nil {
				return key, val, depth
			}
			key, val, cur, depth, i = k, v, v, j, j
		case yaml.SequenceNode:
			idx, err := strconv.Atoi(parts[i])
			switch {
			case parts[i] == "[]" && len(cur.Content) > 0:
				idx = 0
				for n, item := range cur.Content {
					if hasVariable(item) {
						idx = n
						break
					}
				}
			case err != nil || idx < 0 || idx >= len(cur.Content):
				return key, val, depth
			}
			key, val, cur, depth, i = nil, cur.Content[idx], cur.Content[idx], i+1, i+1
		default:
			return key, val, depth
		}
	}
	return key, val, depth
}

// hasVariable reports whether a scalar under n (aliases not followed)
// refers to a variable.
func hasVariable(n *yaml.Node) bool {
	found := false
	walkScalars(n, func(s *yaml.Node) { found = found || strings.Contains(s.Value, "$") })
	return found
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// yamlErrorLine extracts the line of a yaml.v3 error (0 when none).
func yamlErrorLine(err error) int {
	m := yamlLine.FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}
