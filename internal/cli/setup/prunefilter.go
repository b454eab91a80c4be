package setup

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// PruneFiltersKey is the docker CLI config.json key whose filters the CLI
// adds to every `docker ... prune` (docker CLI >= 23).
const PruneFiltersKey = "pruneFilters"

// ProtectFilter is the prune filter that keeps volumes labelled key=true.
func ProtectFilter(labelKey string) string { return "label!=" + labelKey + "=true" }

// ConflictingFilters are the other "label!=" filters in filters. The engine
// ANDs label! filters (it keeps a volume only when it carries every one of
// them), so ours beside another would protect neither the user's volumes nor
// ours: we do not add it then.
func ConflictingFilters(filters []string, ours string) []string {
	var out []string
	for _, f := range filters {
		if f != ours && strings.HasPrefix(f, "label!=") {
			out = append(out, f)
		}
	}
	return out
}

// member is one top-level key of config.json, in file order.
type member struct {
	key string
	val json.RawMessage
}

// parseObject reads a JSON object's top-level members in order. Empty or
// blank input is an empty object.
func parseObject(data []byte) ([]member, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	var ms []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("value of %q: %w", key, err)
		}
		ms = append(ms, member{key, raw})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON object")
	}
	return ms, nil
}

// format writes members the way the docker CLI writes config.json
// (tab-indented), keeping their order.
func format(ms []member) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("{")
	for i, m := range ms {
		if i > 0 {
			b.WriteString(",")
		}
		key, _ := json.Marshal(m.key)
		b.WriteString("\n\t")
		b.Write(key)
		b.WriteString(": ")
		if err := json.Indent(&b, m.val, "\t", "\t"); err != nil {
			return nil, fmt.Errorf("value of %q: %w", m.key, err)
		}
	}
	if len(ms) > 0 {
		b.WriteString("\n")
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}

// EditPruneFilter adds (add=true) or removes filter in config.json's
// pruneFilters, keeping every other setting and the user's other filters.
// It returns the new content and whether anything changed; when nothing
// changes the input is returned as is. Removing the last filter removes the
// key.
func EditPruneFilter(data []byte, filter string, add bool) ([]byte, bool, error) {
	ms, err := parseObject(data)
	if err != nil {
		return nil, false, fmt.Errorf("config.json: %w", err)
	}
	idx := slices.IndexFunc(ms, func(m member) bool { return m.key == PruneFiltersKey })
	var filters []string
	if idx >= 0 && string(bytes.TrimSpace(ms[idx].val)) != "null" {
		if err := json.Unmarshal(ms[idx].val, &filters); err != nil {
			return nil, false, fmt.Errorf("config.json: %s must be a list of strings: %w", PruneFiltersKey, err)
		}
	}
	has := slices.Contains(filters, filter)
	switch {
	case add && has, !add && !has:
		return data, false, nil
	case add:
		filters = append(filters, filter)
	default:
		filters = slices.DeleteFunc(filters, func(f string) bool { return f == filter })
	}
	val, err := json.Marshal(filters)
	if err != nil {
		return nil, false, err
	}
	switch {
	case len(filters) == 0 && idx >= 0:
		ms = slices.Delete(ms, idx, idx+1)
	case idx >= 0:
		ms[idx].val = val
	default:
		ms = append(ms, member{PruneFiltersKey, val})
	}
	out, err := format(ms)
	return out, err == nil, err
}
