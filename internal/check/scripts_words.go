package check

import (
	"regexp"
	"strings"
)

// The text the shell parser rejects: read line by line, each line the
// parser accepts alone as shell, any other as words.

// lineByLine checks t.src[from:], the part the parser rejected, one line
// (with its \ continuations) at a time.
func (r *scriptRun) lineByLine(t shellText, from int, yaml bool, depth int) {
	for from < len(t.src) {
		end := from
		for {
			nl := strings.IndexByte(t.src[end:], '\n')
			if nl < 0 {
				end = len(t.src)
				break
			}
			end += nl
			body := strings.TrimSuffix(t.src[from:end], "\r")
			if !strings.HasSuffix(body, `\`) || strings.HasSuffix(body, `\\`) {
				break
			}
			end++
		}
		line := t.slice(from, end)
		from = end + 1
		if !strings.Contains(line.src, "docker") && !strings.Contains(line.src, "$") {
			continue
		}
		if !yaml {
			if p := parse(line); p.tail == len(line.src) {
				r.walk(p, true, depth)
				continue
			}
		}
		for _, fs := range r.lineWords(line) {
			if yaml {
				fs = fs[commandAt(fs, true):]
			}
			r.command(line, fs, true, depth)
		}
	}
}

var varRef = regexp.MustCompile(`^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$`)

// lineWords splits a line the parser rejects into commands of words: at
// blanks, commands at ; & | ( ) < > and backquotes, a # comment cut, quotes
// honoured when they pair up on the line and dropped when they do not, and
// a word that is a whole variable ($DC, ${DC}) replaced by its value (one
// the check cannot know may be sudo or nothing before docker; one too long
// to follow gets a warning).
func (r *scriptRun) lineWords(line shellText) [][]field {
	s := line.src
	cmds, balanced := splitWords(s, true)
	if !balanced {
		cmds, _ = splitWords(s, false)
	}
	for k, fs := range cmds {
		var out []field
		for _, f := range fs {
			m := varRef.FindStringSubmatch(f.s)
			v, ok := "", false
			if m != nil {
				name := m[1] + m[2]
				if v, ok = r.lookup(name); !ok && r.isOver(name) {
					r.unchecked(line, overflow{f.off, name, r.over[name]})
				}
				f.prefix = !ok
			}
			if !ok {
				out = append(out, f)
				continue
			}
			for _, w := range strings.Fields(v) {
				out = append(out, field{s: w, off: f.off})
			}
		}
		cmds[k] = out
	}
	return cmds
}

func splitWords(s string, quotes bool) (cmds [][]field, balanced bool) {
	var cmd []field
	var w field
	var buf []byte // w.s as it grows
	in, sq, dq := false, false, false
	word := func() {
		if in {
			w.s = string(buf)
			cmd = append(cmd, w)
		}
		in, buf = false, buf[:0]
	}
	next := func() {
		word()
		if len(cmd) > 0 {
			cmds = append(cmds, cmd)
		}
		cmd = nil
	}
	add := func(i int, c byte) {
		if !in {
			w, in = field{off: i}, true
		}
		buf = append(buf, c)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'' && !dq, c == '"' && !sq:
			if quotes {
				sq, dq = sq != (c == '\''), dq != (c == '"')
			}
			if !in {
				w, in = field{off: i}, true
			}
		case c == '\\' && !sq && i+1 < len(s):
			i++
			if s[i] != '\n' && s[i] != '\r' {
				add(i-1, s[i])
			}
		case sq || dq:
			add(i, c)
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			word()
		case strings.IndexByte(";&|()<>`", c) >= 0:
			next()
		case c == '#' && !in:
			next()
			return cmds, !sq && !dq
		default:
			add(i, c)
		}
	}
	next()
	return cmds, !sq && !dq
}
