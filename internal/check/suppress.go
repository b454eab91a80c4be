package check

import (
	"regexp"
	"slices"
	"strings"
)

// Findings can be silenced in the file itself (dclint and shellcheck
// style), for a volume that is meant to be disposable:
//
//	cache: {}   # ledger-check: ignore volume-unprotected
//	# ledger-check: ignore            (the next line, every rule)
//	# ledger-check: ignore-file destructive-command
var suppressMark = regexp.MustCompile(`#\s*ledger-check:\s*(ignore-file|ignore)\b([^#]*)`)

type suppression struct {
	file  bool
	rules []string // empty: every rule
}

// covers: a mark for volume-unprotected also silences its cache variant,
// volume-unprotected-cache (the volume was marked disposable either way).
func (s suppression) covers(rule string) bool {
	return len(s.rules) == 0 || slices.Contains(s.rules, rule) ||
		(rule == RuleUnprotectedCache && slices.Contains(s.rules, RuleUnprotected))
}

// suppressions maps a line number to the marks on it (0 = whole file).
func suppressions(src string) map[int][]suppression {
	out := map[int][]suppression{}
	for i, line := range strings.Split(src, "\n") {
		for _, m := range suppressMark.FindAllStringSubmatch(line, -1) {
			s := suppression{file: m[1] == "ignore-file"}
			s.rules = append(s.rules, strings.FieldsFunc(m[2], func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\r' })...)
			n := i + 1
			if s.file {
				n = 0
			} else if strings.HasPrefix(strings.TrimSpace(line), "#") {
				n = i + 2 // a comment line of its own covers the next line
			}
			out[n] = append(out[n], s)
		}
	}
	return out
}

// suppress drops the findings their files silence and returns how many.
func suppress(fs []Finding) ([]Finding, int) {
	marks := map[string]map[int][]suppression{}
	kept := fs[:0]
	dropped := 0
	for _, f := range fs {
		m, ok := marks[f.File]
		if !ok {
			if src, err := readFile(f.File); err == nil && strings.Contains(string(src), "ledger-check:") {
				m = suppressions(string(src))
			}
			marks[f.File] = m
		}
		silenced := false
		for _, s := range append(m[0], m[f.Line]...) {
			if s.covers(f.Rule) {
				silenced = true
			}
		}
		if silenced {
			dropped++
			continue
		}
		kept = append(kept, f)
	}
	return kept, dropped
}
