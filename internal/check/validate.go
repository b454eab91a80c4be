package check

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/schema"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"gopkg.in/yaml.v3"
)

// Compose validates every file against the compose specification's JSON
// schema before it transforms the file; compose-go's transforms assume a
// valid file and panic, or drop data silently, on one that is not (a list
// where a mapping belongs). The checker loads files leniently (it must not
// depend on the committer's environment), so it validates each file
// itself, with the schema compose-go embeds, before compose-go sees it.
//
// compose-go's schema.Validate compiles the schema at every call (about
// 10 ms); it is compiled once here, in the background while files are read.
var composeSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(schema.Schema))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("compose-spec.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("compose-spec.json")
})

// PrepareSchema starts compiling the compose schema in the background (a
// check waits for it when it validates the first file).
func PrepareSchema() { go composeSchema() }

// validate checks every document of d against the compose schema, as
// compose does, and returns the first error at the position of the bad
// value. A value that holds a variable is left to compose: whether it fits
// depends on the environment.
func (d *yamlDoc) validate() error {
	sch, err := composeSchema()
	if err != nil {
		return fmt.Errorf("internal error: the compose schema does not compile: %w", err)
	}
	for _, root := range d.roots {
		if root == nil {
			continue
		}
		v := toValue(root)
		verr, ok := sch.Validate(v).(*jsonschema.ValidationError)
		if !ok {
			continue
		}
		e := mostSpecific(verr)
		if s, ok := valueAt(v, e.InstanceLocation).(string); ok && strings.Contains(s, "$") {
			continue
		}
		key, val, _ := lookup(root, e.InstanceLocation)
		at := val
		if ap, ok := e.ErrorKind.(*kind.AdditionalProperties); ok && len(ap.Properties) > 0 {
			// the key that is not allowed
			at, _ = mapGet(at, ap.Properties[0])
		}
		if at == nil {
			at = key
		}
		if at == nil {
			at = root
		}
		return &posError{at.Line, at.Column, schemaMessage(e)}
	}
	return nil
}

// mostSpecific and schemaMessage word a validation error as compose does
// (compose-go's schema package: getMostSpecificError, validationError).
func mostSpecific(err *jsonschema.ValidationError) *jsonschema.ValidationError {
	var best *jsonschema.ValidationError
	if len(err.Causes) == 0 {
		return err
	}
	for _, c := range err.Causes {
		c = mostSpecific(c)
		if specificity(c) > specificity(best) {
			best = c
		}
	}
	return best
}

func specificity(err *jsonschema.ValidationError) int {
	if err == nil {
		return -1
	}
	if _, ok := err.ErrorKind.(*kind.AdditionalProperties); ok {
		return len(err.InstanceLocation) + 1
	}
	return len(err.InstanceLocation)
}

func schemaMessage(e *jsonschema.ValidationError) string {
	path := strings.Join(e.InstanceLocation, ".")
	switch k := e.ErrorKind.(type) {
	case *kind.Type:
		if path == "" {
			return "top-level object must be a mapping" // compose-go's loader's words
		}
		return fmt.Sprintf("%s must be a %s", path, typeNames(k.Want))
	case *kind.Minimum:
		return fmt.Sprintf("%s must be greater than or equal to %s", path, k.Want.Num())
	case *kind.Maximum:
		return fmt.Sprintf("%s must be less than or equal to %s", path, k.Want.Num())
	}
	return strings.TrimSpace(path + " " + e.ErrorKind.LocalizedString(message.NewPrinter(language.English)))
}

func typeNames(want []string) string {
	names := make([]string, len(want))
	for i, w := range want {
		names[i] = w
		if w == "object" {
			names[i] = "mapping"
		}
	}
	if len(names) == 1 {
		return names[0]
	}
	slices.Sort(names)
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// valueAt is the value at a location of v (nil when there is none).
func valueAt(v any, loc []string) any {
	for _, p := range loc {
		switch c := v.(type) {
		case map[string]any:
			v = c[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(c) {
				return nil
			}
			v = c[i]
		default:
			return nil
		}
	}
	return v
}

// toValue is n as compose-go decodes it for validation: aliases expanded
// (parseYAML bounded them), merge keys applied, values tagged !reset left
// out and !override ones kept.
func toValue(n *yaml.Node) any {
	n = resolve(n)
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil
		}
		return toValue(n.Content[0])
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			if resolve(c).Tag != "!reset" {
				out = append(out, toValue(c))
			}
		}
		return out
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		var merges []*yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			switch {
			case k.ShortTag() == "!!merge":
				merges = append(merges, v)
			case resolve(v).Tag != "!reset":
				out[resolve(k).Value] = toValue(v)
			}
		}
		// merged keys never replace the mapping's own, and an earlier merge
		// wins over a later one
		for _, m := range merges {
			m = resolve(m)
			from := []*yaml.Node{m}
			if m.Kind == yaml.SequenceNode {
				from = m.Content
			}
			for _, f := range from {
				mv, ok := toValue(f).(map[string]any)
				if !ok {
					continue
				}
				for k, v := range mv {
					if _, set := out[k]; !set {
						out[k] = v
					}
				}
			}
		}
		return out
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return n.Value
		case "!!null":
			return nil
		}
		var v any
		if err := n.Decode(&v); err == nil {
			switch v.(type) {
			case nil, bool, string, int, int64, uint64, float64:
				return v
			}
		}
		return n.Value
	}
	return nil
}
