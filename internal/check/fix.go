package check

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Fix is one change --fix made.
type Fix struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Volume string `json:"volume"`
	Action string `json:"action"`
}

// edit replaces src[start:end] with text.
type edit struct {
	start, end int
	text       string
}

// fixFiles adds the protect label to every volume reported unprotected,
// editing the text at the nodes' positions (comments, order and layout stay
// as they were), and writes each file atomically.
func fixFiles(findings []Finding, label string) ([]Fix, error) {
	byFile := map[string][]string{}
	for _, f := range findings {
		if f.Rule == RuleUnprotected && f.Volume != "" && f.Line > 0 {
			byFile[f.File] = append(byFile[f.File], f.Volume)
		}
	}
	var fixes []Fix
	var errs []error
	for _, file := range slices.Sorted(maps.Keys(byFile)) {
		src, err := os.ReadFile(file)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: %v", ErrIO, err))
			continue
		}
		out, fx, err := FixSource(src, byFile[file], label)
		if err != nil {
			errs = append(errs, fmt.Errorf("fix %s: %w", file, err))
			continue
		}
		if bytes.Equal(out, src) {
			continue
		}
		if err := replaceFile(file, out); err != nil {
			errs = append(errs, fmt.Errorf("%w: %v", ErrIO, err))
			continue
		}
		for i := range fx {
			fx[i].File = file
		}
		fixes = append(fixes, fx...)
	}
	return fixes, errors.Join(errs...)
}

// FixSource returns src with label=true added to the named top-level
// volumes. It refuses (error) rather than write a file that no longer
// parses or still lacks the label.
func FixSource(src []byte, volumes []string, label string) ([]byte, []Fix, error) {
	d, err := parseYAML("", src)
	if err != nil {
		return nil, nil, err
	}
	_, sec := mapGet(d.root, "volumes")
	if sec == nil || sec.Kind != yaml.MappingNode {
		return src, nil, nil
	}
	t := text{src: src, starts: lineStarts(src)}
	unit := 2
	if len(sec.Content) > 0 {
		if _, vk := mapGet(d.root, "volumes"); vk != nil {
			if u := sec.Content[0].Column - d.root.Content[0].Column; u > 0 && sec.Style&yaml.FlowStyle == 0 {
				unit = u
			}
		}
	}
	var edits []edit
	var fixes []Fix
	for _, name := range volumes {
		k, v := mapGet(sec, name)
		if k == nil {
			continue
		}
		e, action, ok := t.labelEdits(k, v, label, unit, sec.Style&yaml.FlowStyle != 0)
		if !ok {
			continue
		}
		edits = append(edits, e...)
		fixes = append(fixes, Fix{Line: k.Line, Volume: name, Action: action})
	}
	out := apply(src, edits)
	// verify: the result parses and each fixed volume now carries the label
	d2, err := parseYAML("", out)
	if err != nil {
		return nil, nil, fmt.Errorf("the edited file would not parse (%v); add the label by hand", err)
	}
	_, sec2 := mapGet(d2.root, "volumes")
	for _, fx := range fixes {
		_, v := mapGet(sec2, fx.Volume)
		if !hasTrueLabel(v, label) {
			return nil, nil, fmt.Errorf("volume %q: the edit did not take; add the label by hand", fx.Volume)
		}
	}
	return out, fixes, nil
}

func hasTrueLabel(vol *yaml.Node, label string) bool {
	n := labelNode(vol, label)
	if n == nil {
		return false
	}
	if n.Value == label+"=true" {
		return true
	}
	_, labels := mapGet(vol, "labels")
	_, val := mapGet(labels, label)
	return val != nil && val.Value == "true"
}

func apply(src []byte, edits []edit) []byte {
	sort.Slice(edits, func(i, j int) bool { return edits[i].start > edits[j].start })
	out := append([]byte(nil), src...)
	for _, e := range edits {
		out = append(out[:e.start], append([]byte(e.text), out[e.end:]...)...)
	}
	return out
}

type text struct {
	src    []byte
	starts []int
}

func lineStarts(src []byte) []int {
	starts := []int{0}
	for i, c := range src {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// off is the byte offset of a node's line and (rune) column.
func (t text) off(line, col int) int {
	o := t.starts[line-1]
	for ; col > 1 && o < len(t.src); col-- {
		_, n := utf8.DecodeRune(t.src[o:])
		o += n
	}
	return o
}

// eol is the offset of the end of line (before its newline).
func (t text) eol(line int) int {
	if line < len(t.starts) {
		end := t.starts[line] - 1
		if end > 0 && t.src[end-1] == '\r' {
			end--
		}
		return end
	}
	return len(t.src)
}

func (t text) nl() string {
	if bytes.Contains(t.src, []byte("\r\n")) {
		return "\r\n"
	}
	return "\n"
}

// scalarEnd is the offset just past a scalar's text.
func (t text) scalarEnd(n *yaml.Node) int {
	start := t.off(n.Line, n.Column)
	switch n.Style {
	case yaml.DoubleQuotedStyle:
		for i := start + 1; i < len(t.src); i++ {
			if t.src[i] == '\\' {
				i++
			} else if t.src[i] == '"' {
				return i + 1
			}
		}
	case yaml.SingleQuotedStyle:
		for i := start + 1; i < len(t.src); i++ {
			if t.src[i] == '\'' {
				if i+1 < len(t.src) && t.src[i+1] == '\'' {
					i++
					continue
				}
				return i + 1
			}
		}
	}
	return start + len(n.Value)
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]*$`)

func yamlKey(k string) string {
	if plainKey.MatchString(k) {
		return k
	}
	return fmt.Sprintf("%q", k)
}

// labelEdits computes the edits that set label=true on one volume.
func (t text) labelEdits(k, v *yaml.Node, label string, unit int, flowParent bool) ([]edit, string, bool) {
	ind := func(col int) string { return strings.Repeat(" ", col-1) }
	nl := t.nl()
	entry := yamlKey(label) + `: "true"`
	if v == nil || v.Kind == yaml.AliasNode {
		return nil, "", false
	}
	// the label is there with another value: set it to "true"
	if n := labelNode(v, label); n != nil {
		if n.Kind == yaml.ScalarNode && strings.HasPrefix(n.Value, label+"=") {
			item := label + "=true"
			if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
				item = `"` + item + `"`
			}
			return []edit{{t.off(n.Line, n.Column), t.scalarEnd(n), item}}, "set label to true", true
		}
		_, labels := mapGet(v, "labels")
		_, val := mapGet(labels, label)
		if val == nil || val.Kind != yaml.ScalarNode {
			return nil, "", false
		}
		return []edit{{t.off(val.Line, val.Column), t.scalarEnd(val), `"true"`}}, "set label to true", true
	}
	switch {
	case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
		if flowParent {
			return nil, "", false
		}
		var e []edit
		if v.Value != "" { // ~ or null
			s := t.off(v.Line, v.Column)
			e = append(e, edit{s, s + len(v.Value), ""})
		}
		at := t.eol(k.Line)
		e = append(e, edit{at, at, nl + ind(k.Column+unit) + "labels:" + nl + ind(k.Column+2*unit) + entry})
		return e, "added labels", true
	case v.Kind != yaml.MappingNode:
		return nil, "", false
	}
	lk, labels := mapGet(v, "labels")
	if labels != nil && labels.Kind != yaml.ScalarNode && labels.Style&yaml.FlowStyle != 0 {
		return flowInsert(t, labels, entry, `"`+label+`=true"`), "added label", true
	}
	if v.Style&yaml.FlowStyle != 0 {
		if labels != nil {
			return nil, "", false
		}
		return flowInsert(t, v, "labels: {"+entry+"}", ""), "added labels", true
	}
	switch {
	case labels == nil:
		first := v.Content[0]
		at := t.starts[first.Line-1]
		return []edit{{at, at, ind(first.Column) + "labels:" + nl + ind(first.Column+unit) + entry + nl}}, "added labels", true
	case labels.Kind == yaml.ScalarNode && labels.Tag == "!!null" && labels.Value == "":
		at := t.eol(lk.Line)
		return []edit{{at, at, nl + ind(lk.Column+unit) + entry}}, "added label", true
	case labels.Kind == yaml.MappingNode && len(labels.Content) > 0:
		first := labels.Content[0]
		at := t.starts[first.Line-1]
		return []edit{{at, at, ind(first.Column) + entry + nl}}, "added label", true
	case labels.Kind == yaml.SequenceNode && len(labels.Content) > 0:
		first := labels.Content[0]
		at := t.starts[first.Line-1]
		lead := t.src[at:t.off(first.Line, first.Column)]
		return []edit{{at, at, string(lead) + label + "=true" + nl}}, "added label", true
	}
	return nil, "", false
}

// flowInsert puts item first in a flow mapping or sequence ({...} / [...]).
func flowInsert(t text, n *yaml.Node, mapItem, seqItem string) []edit {
	item := mapItem
	if n.Kind == yaml.SequenceNode {
		item = seqItem
	}
	at := t.off(n.Line, n.Column) + 1 // after { or [
	if len(n.Content) > 0 {
		item += ", "
	}
	return []edit{{at, at, item}}
}

// replaceFile writes data over path atomically, keeping its mode: a temp
// file beside it, fsync, rename, fsync the folder.
func replaceFile(path string, data []byte) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".ledger-tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(st.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	df, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer df.Close()
	return df.Sync()
}

// DeclaresVolume reports whether the compose file src declares the
// top-level volume key.
func DeclaresVolume(src []byte, key string) bool {
	d, err := parseYAML("", src)
	if err != nil {
		return false
	}
	_, ok := d.entries("volumes")[key]
	return ok
}

// FixFile adds label=true to the top-level volume key of the compose file
// at path, in place (as --fix does), and writes it atomically.
func FixFile(path, key, label string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, fixes, err := FixSource(src, []string{key}, label)
	if err != nil {
		return err
	}
	if len(fixes) == 0 {
		return fmt.Errorf("volume %q: no place to add the label in %s; add it by hand", key, path)
	}
	return replaceFile(path, out)
}
