package check

import (
	"fmt"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/mattn/go-shellwords"

	"github.com/ledger-docker/ledger-docker/internal/intercept"
)

// logicalLine is a command line with its `\` continuations joined, and
// where each physical piece starts, for positions.
type logicalLine struct {
	text   string
	pieces []piece
}

type piece struct{ off, line, col int }

// pos maps a byte offset of text to a line and column (1-based).
func (l logicalLine) pos(off int) (int, int) {
	p := l.pieces[0]
	for _, q := range l.pieces {
		if q.off <= off {
			p = q
		}
	}
	return p.line, p.col + utf8.RuneCountInString(l.text[p.off:off])
}

// logicalLines joins lines ending in a backslash with the next.
func logicalLines(src string) []logicalLine {
	var out []logicalLine
	var cur *logicalLine
	for i, raw := range strings.Split(src, "\n") {
		raw = strings.TrimSuffix(raw, "\r")
		if cur == nil {
			cur = &logicalLine{}
		}
		cur.pieces = append(cur.pieces, piece{off: len(cur.text), line: i + 1, col: 1})
		if body, ok := strings.CutSuffix(raw, "\\"); ok && !strings.HasSuffix(body, "\\") {
			cur.text += body + " "
			continue
		}
		cur.text += raw
		out = append(out, *cur)
		cur = nil
	}
	if cur != nil {
		out = append(out, *cur)
	}
	return out
}

// stripComment cuts a `#` comment that starts a word outside quotes.
func stripComment(s string) string {
	var sq, dq bool
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && !sq:
			i++
		case c == '\'' && !dq:
			sq = !sq
		case c == '"' && !sq:
			dq = !dq
		case c == '#' && !sq && !dq && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t'):
			return s[:i]
		}
	}
	return s
}

// checkScript reports destructive docker commands run directly.
func checkScript(s scriptFile) ([]Finding, error) {
	src, err := os.ReadFile(s.path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrIO, err)
	}
	if !strings.Contains(string(src), "docker") {
		return nil, nil
	}
	var out []Finding
	lines := logicalLines(string(src))
	vars := variables(lines, s.kind)
	for _, l := range lines {
		text := stripComment(l.text)
		if !strings.Contains(text, "docker") && (len(vars) == 0 || !strings.Contains(text, "$")) {
			continue
		}
		for _, seg := range segments(text) {
			what, at, ok := destructive(seg.words, s.kind, vars)
			if !ok {
				continue
			}
			off := seg.off
			if i := strings.Index(text[seg.off:seg.end], at); i >= 0 {
				off += i
			}
			line, col := l.pos(off)
			out = append(out, Finding{File: s.path, Line: line, Column: col, Severity: SeverityError,
				Rule: RuleDestructive, Message: what})
		}
	}
	return out, nil
}

type segment struct {
	off, end int
	words    []string
}

// segments splits a command line at ; & | < > into shell words
// (go-shellwords); a part it cannot parse (a subshell, an unbalanced quote)
// falls back to splitting at blanks.
func segments(text string) []segment {
	var out []segment
	for off := 0; off < len(text); {
		rest := text[off:]
		p := shellwords.NewParser()
		words, err := p.Parse(rest)
		end := len(rest)
		if err == nil && p.Position >= 0 {
			end = byteIndex(rest, p.Position)
		}
		if err != nil {
			end = strings.IndexAny(rest, ";&|<>")
			if end < 0 {
				end = len(rest)
			}
			words = strings.Fields(strings.NewReplacer("(", " ", ")", " ", "{", " ", "}", " ", `"`, "", "'", "").Replace(rest[:end]))
		}
		if len(words) > 0 {
			out = append(out, segment{off: off, end: off + end, words: words})
		}
		off += end + 1
	}
	return out
}

// byteIndex converts go-shellwords' rune index into a byte index.
func byteIndex(s string, runes int) int {
	i := 0
	for b := range s {
		if i == runes {
			return b
		}
		i++
	}
	return len(s)
}

var (
	envAssign   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)
	makeAssign  = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)\s*(?::{1,3}=|\?=|=)\s*(.*)$`)
	shellAssign = regexp.MustCompile(`^\s*(?:export\s+|readonly\s+|local\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$`)
	varRef      = regexp.MustCompile(`^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|\(([A-Za-z_][A-Za-z0-9_]*)\)|([A-Za-z_][A-Za-z0-9_]*))$`)
)

// refName is the variable a word refers to as a whole ($X, ${X}, $(X)).
func refName(w string) string {
	m := varRef.FindStringSubmatch(w)
	if m == nil {
		return ""
	}
	return m[1] + m[2] + m[3]
}

// variables collects the file's assignments whose value runs docker or
// docker-compose (DC := docker compose; DC="docker compose -f x.yml"), so
// that "$(DC) down -v" is read as what it runs. Values may use variables
// defined before them.
func variables(lines []logicalLine, kind scriptKind) map[string][]string {
	all := map[string][]string{}
	for _, l := range lines {
		text := stripComment(l.text)
		var name, value string
		switch kind {
		case kindMake:
			if strings.HasPrefix(text, "\t") {
				continue
			}
			m := makeAssign.FindStringSubmatch(strings.TrimSpace(text))
			if m == nil {
				continue
			}
			name, value = m[1], m[2]
		case kindShell:
			m := shellAssign.FindStringSubmatch(text)
			if m == nil {
				continue
			}
			w, err := shellwords.Parse(m[2])
			if err != nil || len(w) != 1 {
				continue
			}
			name, value = m[1], w[0]
		default:
			return nil
		}
		words := strings.Fields(value)
		if len(words) == 0 {
			continue
		}
		if v, ok := all[refName(words[0])]; ok {
			words = append(slices.Clone(v), words[1:]...)
		}
		all[name] = words
	}
	vars := map[string][]string{}
	for k, v := range all {
		if b := path.Base(v[0]); b == "docker" || b == "docker-compose" {
			vars[k] = v
		}
	}
	return vars
}

// prefixWords may precede a command on a line.
var prefixWords = map[string]bool{
	"exec": true, "command": true, "time": true, "nohup": true, "env": true, "then": true, "do": true,
	"else": true, "if": true, "while": true, "until": true, "!": true, "{": true, "(": true, "-": true,
}

// destructive reports whether words run one of the destructive commands
// directly; what names it, at is the word to point at.
func destructive(words []string, kind scriptKind, vars map[string][]string) (what, at string, ok bool) {
	i := 0
	for ; i < len(words); i++ {
		w := words[i]
		if kind == kindMake && i == 0 {
			w = strings.TrimLeft(w, "@-+")
		}
		switch {
		case envAssign.MatchString(w), prefixWords[w], kind == kindYAML && strings.HasSuffix(w, ":"):
			continue
		case w == "sudo":
			for i+1 < len(words) && strings.HasPrefix(words[i+1], "-") {
				i++
				if words[i] == "-u" || words[i] == "-g" {
					i++
				}
			}
			continue
		}
		break
	}
	if i >= len(words) {
		return "", "", false
	}
	cmd := words[i]
	if kind == kindMake {
		cmd = strings.TrimLeft(cmd, "@-+")
	}
	at = cmd
	args := words[i+1:]
	if v, ok := vars[refName(cmd)]; ok { // $(DC) down -v, with DC = docker compose
		cmd, args = v[0], append(slices.Clone(v[1:]), args...)
	}
	what = scriptOp(cmd, args)
	if what == "" {
		return "", "", false
	}
	safe := "ledger_docker " + strings.TrimPrefix(strings.TrimPrefix(what, "docker-compose "), "docker ")
	if strings.HasPrefix(what, "docker-compose ") {
		safe = "ledger_docker compose " + strings.TrimPrefix(what, "docker-compose ")
	}
	return fmt.Sprintf("runs %q directly: it deletes volumes without a backup and ignores the protect label; "+
		"run it through ledger_docker (%s) or drop the volume flag", what, safe), at, true
}

// scriptOp is what the wrapper's own parser (intercept.Parse) finds in a
// docker or docker-compose command line: the command as a person would
// name it ("docker compose down -v", "docker-compose rm -v", "docker
// volume prune"), "" when it deletes no volume. compose up, which the
// wrapper checks for volumes it would recreate, is an ordinary command in
// a script.
func scriptOp(cmd string, args []string) string {
	prog := path.Base(cmd)
	if prog != string(intercept.Docker) && prog != string(intercept.DockerCompose) {
		return ""
	}
	in := intercept.Parse(append([]string{prog}, args...), func(string) string { return "" })
	switch in.Op {
	case intercept.OpNone, intercept.OpComposeUp:
		return ""
	}
	if in.Program == intercept.DockerCompose {
		return "docker-compose " + strings.TrimPrefix(string(in.Op), "compose ")
	}
	return "docker " + string(in.Op)
}
