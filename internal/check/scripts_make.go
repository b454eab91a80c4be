package check

import (
	"regexp"
	"strings"
)

// A Makefile's shell: each recipe line (a line starting with a tab, or
// with .RECIPEPREFIX; its `\` continuations included; make's `@`, `-` and
// `+` prefixes dropped), the lines of `define` blocks (canned recipes),
// `!=` assignments and `$(shell ...)` calls. make's own syntax is turned
// into the shell's before parsing: `$$` is `$`, `$(VAR)` and `${VAR}` are
// `${VAR}` (resolved from the Makefile's assignments: `DC := $(DOCKER)
// compose`), `$(shell CMD)` is `$(CMD)`, and any other make function or
// automatic variable is a word the shell cannot know (`${_}`). A variable
// whose value goes past maxValue is not followed, and never in silence:
// it is recorded in over, and a recipe line that uses it gets a warning
// (scriptRun.unchecked).

var (
	makeAssign = regexp.MustCompile(`^\s*(?:(?:export|override|private)\s+)*([^\s:#=!?+$]+)\s*(::?=|:::=|\?=|\+=|!=|=)\s*`)
	makeDefine = regexp.MustCompile(`^\s*(?:(?:export|override|private)\s+)*define\s`)
	makeEndef  = regexp.MustCompile(`^\s*endef\b`)
	shellVar   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// unknownWord stands for a value the check cannot know.
const unknownWord = "${_}"

// makeShell returns the shell a Makefile runs, and records the variables
// it assigns in vars, or, when their value is too long to follow, in over
// (true: the value may hold a docker command).
func makeShell(src string, vars map[string]string, over map[string]bool) []shellText {
	var out []shellText
	prefix := byte('\t')
	define := 0
	for start := 0; start < len(src); {
		end := logicalEnd(src, start)
		body := strings.TrimRight(src[start:end], "\r\n")
		from := start
		start = end
		if strings.TrimSpace(body) == "" {
			continue
		}
		switch {
		case define > 0:
			if makeEndef.MatchString(body) {
				define--
				continue
			}
			if makeDefine.MatchString(body) {
				define++
			}
			out = append(out, makeRecipe(src, from, from+len(body), prefix))
		case len(body) > 0 && body[0] == prefix:
			out = append(out, makeRecipe(src, from, from+len(body), prefix))
		case makeDefine.MatchString(body):
			define++
		default:
			body = makeUncomment(body)
			out = append(out, makeShellCalls(body, from)...)
			m := makeAssign.FindStringSubmatchIndex(body)
			if m == nil {
				if i := makeInlineRecipe(body); i >= 0 { // target: prerequisites ; command
					var b textBuilder
					makeToShell(&b, body[i:], from+i)
					out = append(out, b.done(from+len(body)))
				}
				continue
			}
			name, op, value := body[m[2]:m[3]], body[m[4]:m[5]], body[m[1]:]
			switch {
			case name == ".RECIPEPREFIX":
				prefix = '\t'
				if value != "" {
					prefix = value[0]
				}
			case op == "!=": // the shell runs it when make reads the file
				var b textBuilder
				makeToShell(&b, value, from+m[1])
				out = append(out, b.done(from+len(body)))
			default:
				old, set := vars[name]
				_, wasOver := over[name]
				v, long := makeValue(value, vars, over)
				switch {
				case op == "?=" && (set || wasOver):
				case long, op == "+=" && wasOver, op == "+=" && set && len(old)+1+len(v) > maxValue:
					delete(vars, name)
					over[name] = over[name] || strings.Contains(old, "docker") || strings.Contains(value, "docker") ||
						strings.Contains(value, "$")
				case op == "+=" && set:
					vars[name] = old + " " + v
				default:
					vars[name] = v
					delete(over, name)
				}
			}
		}
	}
	return out
}

// logicalEnd is the end of the line starting at start, with its `\`
// continuations.
func logicalEnd(src string, start int) int {
	for {
		nl := strings.IndexByte(src[start:], '\n')
		if nl < 0 {
			return len(src)
		}
		line := strings.TrimSuffix(src[start:start+nl], "\r")
		start += nl + 1
		if n := len(line) - len(strings.TrimRight(line, `\`)); n%2 == 0 {
			return start
		}
	}
}

// makeRecipe is the shell text of the recipe line src[from:end]: the
// recipe prefix and make's @ - + prefixes dropped, and the prefix of each
// continuation line.
func makeRecipe(src string, from, end int, prefix byte) shellText {
	var b textBuilder
	first := true
	for from < end {
		stop := end
		if nl := strings.IndexByte(src[from:end], '\n'); nl >= 0 {
			stop = from + nl + 1
		}
		line := src[from:stop]
		skip := 0
		if len(line) > 0 && line[0] == prefix {
			skip = 1
		}
		if first {
			skip += len(line[skip:]) - len(strings.TrimLeft(line[skip:], " \t@-+"))
			first = false
		}
		makeToShell(&b, line[skip:], from+skip)
		from = stop
	}
	return b.done(end)
}

// makeToShell appends s (at file offset off) with make's syntax turned
// into the shell's.
func makeToShell(b *textBuilder, s string, off int) {
	makeToShellIn(b, s, off, 0)
}

// makeToShellIn is makeToShell inside depth $(shell ...) calls.
func makeToShellIn(b *textBuilder, s string, off, depth int) {
	for i := 0; i < len(s); {
		if s[i] != '$' || i+1 == len(s) {
			b.add(s[i:i+1], off+i, true)
			i++
			continue
		}
		switch c := s[i+1]; {
		case c == '$':
			b.add("$", off+i, false)
			i += 2
		case c == '(' || c == '{':
			j := makeClose(s, i+1)
			if j < 0 {
				b.add(s[i:], off+i, true)
				return
			}
			inner := s[i+2 : j]
			switch {
			case shellVar.MatchString(inner):
				b.add("${"+inner+"}", off+i, false)
			case depth < maxDepth && (strings.HasPrefix(inner, "shell ") || strings.HasPrefix(inner, "shell\t")):
				b.add("$(", off+i, false)
				makeToShellIn(b, inner[6:], off+i+8, depth+1)
				b.add(")", off+j, false)
			default:
				b.add(unknownWord, off+i, false)
			}
			i = j + 1
		default:
			b.add(unknownWord, off+i, false)
			i += 2
		}
	}
}

// makeClose is the index of the bracket closing s[open] (-1: none).
func makeClose(s string, open int) int {
	o, c := s[open], byte(')')
	if o == '{' {
		c = '}'
	}
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case o:
			depth++
		case c:
			if depth--; depth == 0 {
				return i
			}
		}
	}
	return -1
}

// makeShellCalls are the commands of the $(shell ...) calls in a line
// that is not a recipe.
func makeShellCalls(s string, off int) []shellText {
	var out []shellText
	for i := 0; i < len(s); i++ {
		if !strings.HasPrefix(s[i:], "$(shell ") && !strings.HasPrefix(s[i:], "$(shell\t") {
			continue
		}
		j := makeClose(s, i+1)
		if j < 0 {
			j = len(s)
		}
		var b textBuilder
		makeToShell(&b, s[i+8:j], off+i+8)
		out = append(out, b.done(off+j))
		i = j
	}
	return out
}

// makeValue is an assignment's value with the variables known so far
// expanded and `$$` turned into `$`; long when it goes past maxValue or
// uses a variable that does (over).
func makeValue(s string, vars map[string]string, over map[string]bool) (_ string, long bool) {
	s = strings.Join(strings.Fields(strings.ReplaceAll(s, "\\\n", " ")), " ")
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '$' && i+1 < len(s) {
			if s[i+1] == '$' {
				b.WriteByte('$')
				i++
				continue
			}
			if s[i+1] == '(' || s[i+1] == '{' {
				j := makeClose(s, i+1)
				if j < 0 {
					b.WriteString(s[i:])
					break
				}
				if _, o := over[s[i+2:j]]; o {
					return "", true
				}
				if v, ok := vars[s[i+2:j]]; ok {
					if b.Len()+len(v) > maxValue {
						return "", true
					}
					b.WriteString(v)
					i = j
					continue
				}
			}
		}
		b.WriteByte(s[i])
	}
	return b.String(), b.Len() > maxValue
}

// makeUncomment cuts a make comment (a # not escaped).
func makeUncomment(s string) string {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '#':
			return s[:i]
		}
	}
	return s
}

// makeInlineRecipe is where the command of `target: prerequisites ;
// command` starts (-1: the line has none).
func makeInlineRecipe(s string) int {
	colon := strings.IndexByte(s, ':')
	if colon < 0 {
		return -1
	}
	depth := 0
	for i := colon; i < len(s); i++ {
		switch s[i] {
		case '(', '{':
			depth++
		case ')', '}':
			depth--
		case ';':
			if depth == 0 {
				return i + 1
			}
		}
	}
	return -1
}
