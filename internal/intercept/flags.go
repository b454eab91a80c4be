package intercept

import (
	"strconv"
	"strings"
)

// flagSpec describes a command's flags the way pflag parses them. Only the
// flags that take a value must be listed: every other flag is read as a
// boolean, so a flag we do not know never swallows a positional argument.
type flagSpec struct {
	// values are long flags that take a value.
	values []string
	// shortValues are the one-letter flags that take a value.
	shortValues string
	// short maps one-letter flags to their long names.
	short map[byte]string
	// norm maps deprecated or alternative long names to the canonical one
	// (compose: --volume -> --volumes, --y -> --yes).
	norm map[string]string
	// prefixes allows unambiguous prefixes of these long flags (docopt,
	// Compose v1).
	prefixes []string
}

// opt is one flag as given: canonical long name (or "-x" for an unnamed
// short flag), its value, and whether a value was given.
type opt struct {
	name     string
	value    string
	hasValue bool
}

type parsed struct {
	opts []opt
	// args are the positional arguments (all of them when interspersed,
	// none otherwise).
	args []string
	// rest is what follows the first positional when not interspersed
	// (the subcommand and its arguments).
	rest []string
}

func merge(specs ...flagSpec) flagSpec {
	out := flagSpec{short: map[byte]string{}, norm: map[string]string{}}
	for _, s := range specs {
		out.values = append(out.values, s.values...)
		out.shortValues += s.shortValues
		for k, v := range s.short {
			out.short[k] = v
		}
		for k, v := range s.norm {
			out.norm[k] = v
		}
		out.prefixes = append(out.prefixes, s.prefixes...)
	}
	return out
}

func (s flagSpec) takesValue(long string) bool {
	for _, v := range s.values {
		if v == long {
			return true
		}
	}
	return false
}

func (s flagSpec) canonical(long string) string {
	if n, ok := s.norm[long]; ok {
		return n
	}
	if s.takesValue(long) {
		return long
	}
	var match string
	for _, p := range s.prefixes {
		if p == long {
			return long
		}
		if strings.HasPrefix(p, long) {
			if match != "" {
				return long // ambiguous: docopt refuses it, so do we
			}
			match = p
		}
	}
	if match != "" {
		return match
	}
	return long
}

// parse reads flags from args. With interspersed, flags and positionals
// mix (cobra's default for subcommands); without, parsing stops at the
// first positional (docker's and compose's root commands).
func (s flagSpec) parse(args []string, interspersed bool) parsed {
	var p parsed
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			if interspersed {
				p.args = append(p.args, args[i+1:]...)
			} else {
				p.rest = args[i+1:]
			}
			return p
		case strings.HasPrefix(a, "--"):
			name, val, has := strings.Cut(a[2:], "=")
			name = s.canonical(name)
			if !has && s.takesValue(name) && i+1 < len(args) {
				i++
				val, has = args[i], true
			}
			p.opts = append(p.opts, opt{name: name, value: val, hasValue: has})
		case strings.HasPrefix(a, "-") && len(a) > 1:
			i += s.parseShorts(a[1:], args[i+1:], &p)
		default:
			if !interspersed {
				p.rest = args[i:]
				return p
			}
			p.args = append(p.args, a)
		}
	}
	return p
}

// parseShorts reads a group of one-letter flags ("-sfv", "-t5", "-cfoo",
// "-v=false") and returns how many following args it consumed.
func (s flagSpec) parseShorts(group string, next []string, p *parsed) int {
	for j := 0; j < len(group); j++ {
		c := group[j]
		name, ok := s.short[c]
		if !ok {
			name = "-" + string(c)
		}
		name = s.canonical(name)
		if strings.IndexByte(s.shortValues, c) >= 0 {
			val := strings.TrimPrefix(group[j+1:], "=")
			if j+1 < len(group) {
				p.opts = append(p.opts, opt{name: name, value: val, hasValue: true})
				return 0
			}
			if len(next) > 0 {
				p.opts = append(p.opts, opt{name: name, value: next[0], hasValue: true})
				return 1
			}
			p.opts = append(p.opts, opt{name: name})
			return 0
		}
		if j+1 < len(group) && group[j+1] == '=' {
			p.opts = append(p.opts, opt{name: name, value: group[j+2:], hasValue: true})
			return 0
		}
		p.opts = append(p.opts, opt{name: name})
	}
	return 0
}

// bool reports a boolean flag's final value (the last one wins, as in
// pflag). A value that is not a boolean counts as true: the real command
// rejects it, and reading it as destructive fails closed.
func (p parsed) bool(name string) bool {
	v := false
	for _, o := range p.opts {
		if o.name != name {
			continue
		}
		if !o.hasValue {
			v = true
			continue
		}
		b, err := strconv.ParseBool(o.value)
		v = b || err != nil
	}
	return v
}

// values returns every value of a repeatable flag.
func (p parsed) values(name string) []string {
	var out []string
	for _, o := range p.opts {
		if o.name == name && o.hasValue {
			out = append(out, o.value)
		}
	}
	return out
}

// value returns a flag's last value.
func (p parsed) value(name string) string {
	vs := p.values(name)
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}
