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

// fixFiles adds the protect label to every volume reported unprotected in
// one of the files given (or discovered), editing the text at the nodes'
// positions (comments, order and layout stay as they were), and writes each
// file atomically. What it cannot fix it returns in notFixed, with the
// reason as the Action.
func fixFiles(findings []Finding, label string, given []string) (fixed, notFixed []Fix, err error) {
	byFile := map[string][]Finding{}
	for _, f := range findings {
		if f.Rule != RuleUnprotected || f.Volume == "" || f.Line <= 0 {
			continue
		}
		if !slices.Contains(given, f.File) {
			notFixed = append(notFixed, Fix{File: f.File, Line: f.Line, Volume: f.Volume,
				Action: "the file was not given (a file that another includes or extends): --fix edits only " +
					"the files it checks; pass this file too, or add the label by hand"})
			continue
		}
		byFile[f.File] = append(byFile[f.File], f)
	}
	var errs []error
	for _, file := range slices.Sorted(maps.Keys(byFile)) {
		var volumes []string
		for _, f := range byFile[file] {
			volumes = append(volumes, f.Volume)
		}
		src, err := os.ReadFile(file)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: %v", ErrIO, err))
			continue
		}
		out, fx, nf, err := fixSource(src, volumes, label)
		if err != nil {
			// nothing written: each volume is left as it was, with the reason
			for _, f := range byFile[file] {
				notFixed = append(notFixed, Fix{File: file, Line: f.Line, Volume: f.Volume, Action: err.Error()})
			}
			continue
		}
		for i := range nf {
			nf[i].File = file
		}
		notFixed = append(notFixed, nf...)
		for _, f := range byFile[file] {
			handled := func(x Fix) bool { return x.Volume == f.Volume }
			if !slices.ContainsFunc(fx, handled) && !slices.ContainsFunc(nf, handled) {
				notFixed = append(notFixed, Fix{File: file, Line: f.Line, Volume: f.Volume, Action: "the volume is " +
					"not written as a key of the file's volumes: (a merge key brings it); add the label by hand"})
			}
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
		fixed = append(fixed, fx...)
	}
	return fixed, notFixed, errors.Join(errs...)
}

// fixSource returns src with label=true added to the named top-level
// volumes, and the volumes it found but could not edit, each with the
// reason as the Action. It refuses (error) rather than write a file that
// no longer parses or still lacks the label.
func fixSource(src []byte, volumes []string, label string) (out []byte, fixes, notFixed []Fix, err error) {
	d, err := parseYAML("", src)
	if err != nil {
		return nil, nil, nil, err
	}
	_, sec := mapGet(d.root, "volumes")
	if sec != nil && sec.Kind == yaml.AliasNode {
		for _, name := range volumes {
			if k, _ := mapGet(sec, name); k != nil {
				notFixed = append(notFixed, Fix{Line: k.Line, Volume: name, Action: "the top-level volumes: is an " +
					"alias (*" + sec.Value + "), and an edit there would change what else uses it; add the label by hand"})
			}
		}
		return src, nil, notFixed, nil
	}
	if sec == nil || sec.Kind != yaml.MappingNode {
		return src, nil, nil, nil
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
	for _, name := range volumes {
		k, v := mapGet(sec, name)
		if k == nil {
			continue
		}
		e, action, why := t.labelEdits(k, v, label, unit, sec.Style&yaml.FlowStyle != 0)
		if why != "" {
			notFixed = append(notFixed, Fix{Line: k.Line, Volume: name, Action: why + "; add the label by hand"})
			continue
		}
		edits = append(edits, e...)
		fixes = append(fixes, Fix{Line: k.Line, Volume: name, Action: action})
	}
	out = apply(src, edits)
	// verify: the result parses and each fixed volume now carries the label
	d2, err := parseYAML("", out)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("the edited file would not parse (%v); add the label by hand", err)
	}
	_, sec2 := mapGet(d2.root, "volumes")
	for _, fx := range fixes {
		_, v := mapGet(sec2, fx.Volume)
		if !hasTrueLabel(v, label) {
			return nil, nil, nil, fmt.Errorf("volume %q: the edit did not take; add the label by hand", fx.Volume)
		}
	}
	return out, fixes, notFixed, nil
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

// labelEdits computes the edits that set label=true on one volume, or why
// it cannot.
func (t text) labelEdits(k, v *yaml.Node, label string, unit int, flowParent bool) ([]edit, string, string) {
	ind := func(col int) string { return strings.Repeat(" ", col-1) }
	nl := t.nl()
	entry := yamlKey(label) + `: "true"`
	switch {
	case v == nil:
		return nil, "", "the volume has no value"
	case v.Kind == yaml.AliasNode:
		return nil, "", "the volume is an alias (*" + v.Value + "), and an edit there would change what else uses it"
	}
	// the label is there with another value: set it to "true"
	if n := labelNode(v, label); n != nil {
		if n.Kind == yaml.ScalarNode && strings.HasPrefix(n.Value, label+"=") {
			item := label + "=true"
			if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
				item = `"` + item + `"`
			}
			return []edit{{t.off(n.Line, n.Column), t.scalarEnd(n), item}}, "set label to true", ""
		}
		_, labels := mapGet(v, "labels")
		_, val := mapGet(labels, label)
		if val == nil || val.Kind != yaml.ScalarNode {
			return nil, "", "the label's value is not a plain value"
		}
		return []edit{{t.off(val.Line, val.Column), t.scalarEnd(val), `"true"`}}, "set label to true", ""
	}
	switch {
	case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
		return t.nullEdits(k, v, entry, unit, flowParent), "added labels", ""
	case v.Kind != yaml.MappingNode:
		return nil, "", "the volume's value is not a mapping"
	}
	lk, labels := mapGet(v, "labels")
	if labels != nil && labels.Kind != yaml.ScalarNode && labels.Style&yaml.FlowStyle != 0 {
		return flowInsert(t, labels, entry, `"`+label+`=true"`), "added label", ""
	}
	if v.Style&yaml.FlowStyle != 0 {
		if labels != nil {
			return nil, "", "the volume's labels: is not a list or a mapping"
		}
		return flowInsert(t, v, "labels: {"+entry+"}", ""), "added labels", ""
	}
	switch {
	case labels == nil:
		first := v.Content[0]
		at := t.starts[first.Line-1]
		return []edit{{at, at, ind(first.Column) + "labels:" + nl + ind(first.Column+unit) + entry + nl}}, "added labels", ""
	case labels.Kind == yaml.ScalarNode && labels.Tag == "!!null" && labels.Value == "":
		at := t.eol(lk.Line)
		return []edit{{at, at, nl + ind(lk.Column+unit) + entry}}, "added label", ""
	case labels.Kind == yaml.MappingNode && len(labels.Content) > 0:
		first := labels.Content[0]
		at := t.starts[first.Line-1]
		return []edit{{at, at, ind(first.Column) + entry + nl}}, "added label", ""
	case labels.Kind == yaml.SequenceNode && len(labels.Content) > 0:
		first := labels.Content[0]
		at := t.starts[first.Line-1]
		lead := t.src[at:t.off(first.Line, first.Column)]
		return []edit{{at, at, string(lead) + label + "=true" + nl}}, "added label", ""
	}
	return nil, "", "the volume's labels: is not a list or a mapping"
}

// nullEdits gives a volume with no value (`name:`, `name: ~`, `name:
// null`) a labels mapping: in block style on the lines under the key (the
// null and the blanks before it removed, so no line ends in a blank), or
// as `{labels: {...}}` in place inside a flow mapping.
func (t text) nullEdits(k, v *yaml.Node, entry string, unit int, flowParent bool) []edit {
	ind := func(col int) string { return strings.Repeat(" ", col-1) }
	labels := "{labels: {" + entry + "}}"
	if v.Value != "" { // ~ or null
		start := t.off(v.Line, v.Column)
		end := start + len(v.Value)
		if flowParent {
			return []edit{{start, end, labels}}
		}
		for start > 0 && (t.src[start-1] == ' ' || t.src[start-1] == '\t') {
			start--
		}
		at := t.eol(k.Line)
		return []edit{{start, end, ""}, {at, at, t.nl() + ind(k.Column+unit) + "labels:" + t.nl() + ind(k.Column+2*unit) + entry}}
	}
	if !flowParent {
		at := t.eol(k.Line)
		return []edit{{at, at, t.nl() + ind(k.Column+unit) + "labels:" + t.nl() + ind(k.Column+2*unit) + entry}}
	}
	// `{a: {}, b: }` or `{a: {}, b}`: after the colon, or a colon and the
	// value after the key
	at := t.scalarEnd(k)
	colon := at
	for colon < len(t.src) && (t.src[colon] == ' ' || t.src[colon] == '\t') {
		colon++
	}
	if colon < len(t.src) && t.src[colon] == ':' {
		return []edit{{colon + 1, colon + 1, " " + labels}}
	}
	return []edit{{at, at, ": " + labels}}
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
	out, fixes, notFixed, err := fixSource(src, []string{key}, label)
	if err != nil {
		return err
	}
	if len(fixes) == 0 {
		why := "no place to add the label"
		if len(notFixed) > 0 {
			why, _ = strings.CutSuffix(notFixed[0].Action, "; add the label by hand")
		}
		return fmt.Errorf("volume %q in %s: %s; add the label by hand", key, path, why)
	}
	return replaceFile(path, out)
}
