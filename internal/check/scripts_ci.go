package check

import (
	"errors"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// A CI file's shell: the strings under the keys CI systems run as shell,
// wherever they sit (GitHub Actions `run:`; GitLab CI `script:`,
// `before_script:`, `after_script:`; Drone and Woodpecker `commands:`;
// CircleCI `run:` or its `command:`; Taskfile `cmds:`/`cmd:`; Azure
// Pipelines `script:`/`bash:`), a string or a list of strings (nested lists
// too). GitLab's `!reference` lists name other jobs and are skipped, and
// aliases are not followed. GitHub's `${{ ... }}` expressions are words the
// shell cannot know.
var ciShellKeys = map[string]bool{
	"run": true, "script": true, "before_script": true, "after_script": true, "commands": true,
	"command": true, "cmds": true, "cmd": true, "bash": true,
}

var ciExpression = regexp.MustCompile(`\$\{\{.*?\}\}`)

// ciShell returns the shell blocks of a CI file, and records the variables
// it gives them (GitLab `variables:`, GitHub `env:`) in vars; ok is false
// when the file is not YAML.
func ciShell(src string, vars map[string]string) (_ []shellText, ok bool) {
	lines := []int{0}
	for i := range len(src) {
		if src[i] == '\n' {
			lines = append(lines, i+1)
		}
	}
	var out []shellText
	var visit func(n *yaml.Node, shell bool)
	visit = func(n *yaml.Node, shell bool) {
		switch {
		case n.Tag == "!reference":
		case n.Kind == yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i].Value, n.Content[i+1]
				if (k == "variables" || k == "env") && v.Kind == yaml.MappingNode {
					ciVariables(v, vars)
				}
				visit(v, ciShellKeys[k])
			}
		case n.Kind == yaml.DocumentNode || n.Kind == yaml.SequenceNode:
			for _, c := range n.Content {
				visit(c, shell)
			}
		case n.Kind == yaml.ScalarNode && shell && (strings.Contains(n.Value, "docker") || strings.Contains(n.Value, "$")):
			out = append(out, ciExpressions(scalarText(src, lines, n)))
		}
	}
	dec := yaml.NewDecoder(strings.NewReader(src))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out, true
		}
		if err != nil {
			return nil, false
		}
		visit(&doc, false)
	}
}

// ciVariables records a variables: or env: mapping's plain values (and
// GitLab's {value: ...} form).
func ciVariables(m *yaml.Node, vars map[string]string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		v := m.Content[i+1]
		if v.Kind == yaml.MappingNode {
			for j := 0; j+1 < len(v.Content); j += 2 {
				if v.Content[j].Value == "value" {
					v = v.Content[j+1]
				}
			}
		}
		if v.Kind == yaml.ScalarNode {
			vars[m.Content[i].Value] = v.Value
		}
	}
}

// scalarSkip bounds the file text looked at between two characters of a
// scalar's value (indentation, escapes): a character the file does not
// hold there (an escape's result) keeps its neighbour's position.
const scalarSkip = 256

// scalarText is a scalar's value with where each byte lies in the file:
// the value is matched against the file from the scalar's start, skipping
// what YAML drops (indentation, quotes, escapes, folded line breaks).
func scalarText(src string, lines []int, n *yaml.Node) shellText {
	start := len(src)
	if n.Line >= 1 && n.Line <= len(lines) {
		start = lines[n.Line-1]
		for col := 1; col < n.Column && start < len(src) && src[start] != '\n'; col++ {
			_, size := utf8.DecodeRuneInString(src[start:])
			start += size
		}
		if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 && n.Line < len(lines) {
			start = lines[n.Line] // the block starts on the next line
		}
	}
	v := n.Value
	at := make([]int, len(v)+1)
	j := start
	for i := range len(v) {
		c := v[i]
		if j < len(src) && src[j] != c && c != ' ' && c != '\n' && c != '\t' {
			// what YAML drops between two characters is short
			if k := strings.IndexByte(src[j:min(j+scalarSkip, len(src))], c); k >= 0 {
				j += k
			}
		}
		at[i] = min(j, len(src))
		if j < len(src) && src[j] == c {
			j++
		}
	}
	at[len(v)] = min(j, len(src))
	return shellText{src: v, at: at}
}

// ciExpressions replaces GitHub's ${{ ... }} expressions, which the shell
// would reject, by a word it cannot know.
func ciExpressions(t shellText) shellText {
	locs := ciExpression.FindAllStringIndex(t.src, -1)
	if locs == nil {
		return t
	}
	var b textBuilder
	prev := 0
	for _, l := range locs {
		b.addFrom(t, prev, l[0])
		b.add(unknownWord, t.fileOffset(l[0]), false)
		prev = l[1]
	}
	b.addFrom(t, prev, len(t.src))
	return b.done(t.fileOffset(len(t.src)))
}
