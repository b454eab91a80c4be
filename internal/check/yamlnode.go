package check

import (
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// compose-go drops positions, so findings are placed by walking the YAML
// node tree of each file ourselves.

// yamlDoc is one parsed file.
type yamlDoc struct {
	path string
	src  []byte
	root *yaml.Node // the top-level mapping (nil for an empty file)
}

func parseYAML(path string, src []byte) (*yamlDoc, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(src, &n); err != nil {
		return nil, err
	}
	d := &yamlDoc{path: path, src: src}
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		d.root = n.Content[0]
	}
	return d, nil
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

// entries lists the keys of the top-level section (volumes, services).
func (d *yamlDoc) entries(section string) map[string]entry {
	out := map[string]entry{}
	_, sec := mapGet(d.root, section)
	sec = resolve(sec)
	if sec == nil || sec.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(sec.Content); i += 2 {
		out[sec.Content[i].Value] = entry{d.path, sec.Content[i], sec.Content[i+1]}
	}
	return out
}

// includes lists the files named by the top-level include: (paths as
// written, relative to the file's folder; interpolated paths are skipped).
func (d *yamlDoc) includes() []string {
	_, inc := mapGet(d.root, "include")
	inc = resolve(inc)
	if inc == nil || inc.Kind != yaml.SequenceNode {
		return nil
	}
	var out []string
	add := func(n *yaml.Node) {
		n = resolve(n)
		switch {
		case n == nil:
		case n.Kind == yaml.ScalarNode:
			out = append(out, n.Value)
		case n.Kind == yaml.SequenceNode:
			for _, c := range n.Content {
				if c.Kind == yaml.ScalarNode {
					out = append(out, c.Value)
				}
			}
		}
	}
	for _, item := range inc.Content {
		if item.Kind == yaml.MappingNode {
			_, p := mapGet(item, "path")
			add(p)
			continue
		}
		add(item)
	}
	var clean []string
	for _, p := range out {
		if !strings.Contains(p, "$") {
			clean = append(clean, p)
		}
	}
	return clean
}

// lookupPath walks a dotted path (services.db.image) as far as it goes and
// returns the deepest key node found.
func (d *yamlDoc) lookupPath(path string) *yaml.Node {
	var found *yaml.Node
	cur := d.root
	for _, part := range strings.Split(path, ".") {
		cur = resolve(cur)
		if cur == nil {
			break
		}
		switch cur.Kind {
		case yaml.MappingNode:
			k, v := mapGet(cur, part)
			if k == nil {
				return found
			}
			found, cur = k, v
		case yaml.SequenceNode:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(cur.Content) {
				return found
			}
			found, cur = cur.Content[i], cur.Content[i]
		default:
			return found
		}
	}
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
