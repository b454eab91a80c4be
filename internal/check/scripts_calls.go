package check

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// Functions, positional parameters and arrays: what a script runs through
// a wrapper of its own.
//
// A function's body is checked where it is defined, with its arguments
// unknown ("$@" may be anything, or nothing). A call to it (`dc down -v`
// after `dc() { docker compose "$@"; }`) reads the body again with the
// call's arguments in "$@", "$*" and $1..., and reports at the call what
// only those arguments make destructive: the body is read twice, once with
// the arguments unknown and once with the call's, and a finding of the
// second reading that the first does not have is the call's. A call from
// a function body to another function goes the same way, up to maxDepth
// calls deep; a function calling itself is not read again. An argument the
// check cannot know stays a word it cannot know ($FLAGS, "$(...)"), read
// as the rule reads such words everywhere.
//
// A function named docker or docker-compose that the file defines before
// the command is what the command runs (`docker() { ledger_docker "$@";
// }`), as in the shell; `command docker` and a full path still run docker.

// callBudget bounds the shell that calls make the check read again (each
// call's body twice, plus the variables it copies; about half a second): a
// file whose calls go past it gets a warning at the first call not
// followed. A call from the top of the script that repeats one already
// followed, with nothing assigned or defined since, costs nothing.
const callBudget = maxScriptBytes

// callState is what the rule knows of a script's functions and positional
// parameters as it reads the script.
type callState struct {
	// funcs are the functions defined so far in the text being read;
	// laterFuncs all of them, for a call from a function body to a
	// function defined after it.
	funcs, laterFuncs map[string]function
	// frame holds the positional parameters ("$@", $1...) when the check
	// knows them: in a call it follows, after `set --`, in `sh -c STRING
	// NAME ARGS...`. nil: unknown.
	frame *frame
	// stack holds the bodies of the calls being followed; inFunc counts
	// the function bodies being read.
	stack  []*syntax.Stmt
	inFunc int
	// budget is what calls may still read (callBudget); spent says a
	// call went past it.
	budget int
	spent  bool
	// gen counts the changes to what a call depends on (variables, arrays,
	// functions); memo holds what the calls from the top of the script
	// found, by function, arguments and gen.
	gen  int
	memo map[callKey][]string
	// sink, when not nil, takes the findings of a body read for a call.
	sink *[]sunk
	// dry counts the bodies being read with their arguments unknown;
	// there, unset holds the variables assigned a value the check cannot
	// know.
	dry   int
	unset map[string]bool
}

type function struct {
	t    shellText
	body *syntax.Stmt
}

type frame struct {
	args []field
}

type callKey struct {
	body  *syntax.Stmt
	args  string
	gen   int
	depth int
}

// sunk is a finding of a body read for a call: the command what, at file
// offset off.
type sunk struct {
	off  int
	what string
}

// definedIn lists the functions p defines.
func definedIn(p parsedText) map[string]function {
	fns := map[string]function{}
	for _, st := range p.stmts {
		syntax.Walk(st, func(n syntax.Node) bool {
			if fd, ok := n.(*syntax.FuncDecl); ok && fd.Name != nil && fd.Body != nil {
				fns[fd.Name.Value] = function{t: p.t, body: fd.Body}
			}
			return true
		})
	}
	return fns
}

// define records a function where the shell defines it and, when check,
// checks its body with its arguments unknown. The result is whether the
// walk goes on into the body.
func (r *scriptRun) define(t shellText, fd *syntax.FuncDecl, check bool, depth int) bool {
	if !check || fd.Name == nil || fd.Body == nil {
		return true
	}
	r.funcs[fd.Name.Value] = function{t: t, body: fd.Body}
	r.gen++
	saved := r.frame
	r.frame = nil
	r.inFunc++
	r.walk(parsedText{t: t, stmts: []*syntax.Stmt{fd.Body}}, true, depth)
	r.inFunc--
	r.frame = saved
	return false
}

// function is the function a command named name runs: one defined so far,
// or, from a function body, one defined later (a docker function only once
// defined).
func (r *scriptRun) function(name string) (function, bool) {
	if fn, ok := r.funcs[name]; ok {
		return fn, true
	}
	if r.inFunc == 0 || isDocker(name) {
		return function{}, false
	}
	fn, ok := r.laterFuncs[name]
	return fn, ok
}

// call follows a call of fn with args, made at file offset at: what the
// body runs only with these arguments is reported at the call.
func (r *scriptRun) call(fn function, args []field, at int, depth int) {
	if slices.Contains(r.stack, fn.body) || len(r.stack) >= maxDepth {
		return // a function calling itself: its body is checked already
	}
	lo, hi := span(fn.t, fn.body)
	if !strings.Contains(fn.t.src[lo:hi], "$") {
		return // nothing in it reads the arguments: checked where defined
	}
	var key callKey
	if len(r.stack) == 0 && r.sink == nil {
		var b strings.Builder
		for _, a := range args {
			fmt.Fprintf(&b, "%q %t %t\x00", a.s, a.unknown, a.prefix)
		}
		key = callKey{fn.body, b.String(), r.gen, depth}
		if whats, ok := r.memo[key]; ok {
			for _, what := range whats {
				r.report(at, what)
			}
			return
		}
	}
	cost := 2*(hi-lo) + len(r.vars) + len(r.arrays) + len(r.funcs) + len(r.over) + len(r.unset)
	if cost > r.budget {
		if !r.spent {
			r.spent = true
			r.warn(at, fmt.Sprintf("the function calls of this file go past %d bytes of shell to read again: "+
				"this call and the later ones were not checked for destructive docker commands", callBudget))
		}
		return
	}
	r.budget -= cost
	body := parsedText{t: fn.t, stmts: []*syntax.Stmt{fn.body}}
	sink, saved, unset := r.sink, r.frame, r.unset
	vars, arrays, funcs, over := maps.Clone(r.vars), maps.Clone(r.arrays), maps.Clone(r.funcs), maps.Clone(r.over)
	r.stack = append(r.stack, fn.body)
	r.inFunc++

	// the body with its arguments unknown, without side effects
	var unknown, known []sunk
	r.sink, r.frame, r.unset = &unknown, nil, maps.Clone(unset)
	r.dry++
	r.walk(body, true, depth)
	r.dry--
	r.vars, r.arrays, r.funcs, r.over, r.unset = vars, arrays, funcs, over, unset

	// the body with the call's arguments, as the shell runs it
	r.sink, r.frame = &known, &frame{args: slices.Clone(args)}
	r.walk(body, true, depth)

	r.inFunc--
	r.stack = r.stack[:len(r.stack)-1]
	r.sink, r.frame = sink, saved
	var whats []string
	for _, k := range known {
		if !slices.Contains(unknown, k) {
			whats = append(whats, k.what)
			r.report(at, k.what)
		}
	}
	if key.body != nil && key.gen == r.gen {
		r.memo[key] = whats
	}
}

// unknownVar records an assignment of a value the check cannot know: in a
// body read with its arguments unknown, the variable is no longer known
// (elsewhere it keeps the value the check knew, as before).
func (r *scriptRun) unknownVar(vars map[string]string, name string) {
	if r.dry > 0 {
		delete(vars, name)
		r.unset[name] = true
	}
}

// positional runs `set -- ARGS` (the positional parameters become ARGS)
// and `shift [N]`.
func (r *scriptRun) positional(prog string, args []field) {
	switch {
	case prog == "set" && len(args) > 0 && args[0].s == "--":
		r.frame = &frame{args: slices.Clone(args[1:])}
	case prog == "set":
		for i := 0; i < len(args); i++ {
			switch w := args[i].s; {
			case w == "-o" || w == "+o":
				i++
			case !strings.HasPrefix(w, "-") && !strings.HasPrefix(w, "+"):
				r.frame = nil // set ARGS... without --: not followed
				return
			}
		}
	case prog == "shift" && r.frame != nil:
		n := 1
		if len(args) > 0 {
			var err error
			if n, err = strconv.Atoi(args[0].s); err != nil || n < 0 {
				r.frame = nil
				return
			}
		}
		if n <= len(r.frame.args) { // else shift fails and changes nothing
			r.frame = &frame{args: r.frame.args[n:]}
		}
	}
}

// loneExpansion is the one parameter expansion or command substitution w
// is made of, alone or in double quotes ("$SUDO", $(cmd), "${a[@]}"), and
// whether it is quoted; nil when w is anything else.
func loneExpansion(w *syntax.Word) (syntax.WordPart, bool) {
	if len(w.Parts) != 1 {
		return nil, false
	}
	p, quoted := w.Parts[0], false
	if dq, ok := p.(*syntax.DblQuoted); ok {
		if len(dq.Parts) != 1 {
			return nil, false
		}
		p, quoted = dq.Parts[0], true
	}
	switch p.(type) {
	case *syntax.ParamExp, *syntax.CmdSubst:
		return p, quoted
	}
	return nil, false
}

// vanishes says whether p is "$@" or "${a[@]}": a list of words, which may
// hold none, even in quotes.
func vanishes(p syntax.WordPart) bool {
	x, ok := p.(*syntax.ParamExp)
	if !ok || x.Param == nil {
		return false
	}
	if x.Index == nil {
		return x.Param.Value == "@"
	}
	return indexLit(x) == "@"
}

// plainParam says whether p is $X, ${X}, ${X[i]} or ${X:-default} (and
// the like): what param can resolve.
func plainParam(p *syntax.ParamExp) bool {
	return p.Param != nil && p.Flags == nil && !p.Excl && !p.Length && !p.Width && !p.IsSet && p.NestedParam == nil &&
		len(p.Modifiers) == 0 && p.Slice == nil && p.Repl == nil && p.Names == 0
}

// indexLit is the index of ${a[i]} as written ("" when it is not a plain
// word).
func indexLit(p *syntax.ParamExp) string {
	if w, ok := p.Index.(*syntax.Word); ok {
		return w.Lit()
	}
	return ""
}

// get is the value of p's parameter without its default: a variable, a
// positional parameter ($1, "$*", "$@" joined), an element of an array or
// an array joined (${a[*]}); ok is false when the check cannot know it.
func (r *scriptRun) get(p *syntax.ParamExp) (string, bool) {
	if p.Index != nil {
		arr, ok := r.array(p.Param.Value)
		if !ok {
			return "", false
		}
		switch i := indexLit(p); i {
		case "@", "*":
			return joinKnown(arr)
		default:
			n, err := strconv.Atoi(i)
			if err != nil || n < 0 {
				return "", false
			}
			if n >= len(arr) {
				return "", true
			}
			return joinKnown(arr[n : n+1])
		}
	}
	name := p.Param.Value
	if name == "@" || name == "*" {
		if r.frame == nil {
			return "", false
		}
		return joinKnown(r.frame.args)
	}
	if n, err := strconv.Atoi(name); err == nil {
		switch {
		case r.frame == nil || n == 0:
			return "", false
		case n > len(r.frame.args):
			return "", true
		}
		// an argument the check cannot know counts as one word, as
		// written ($FLAGS in `f $FLAGS down`: $2 is down)
		return joinKnown(r.frame.args[n-1 : n])
	}
	if v, ok := r.lookup(name); ok {
		return v, true
	}
	if arr, ok := r.array(name); ok { // $a is ${a[0]}
		if len(arr) == 0 {
			return "", true
		}
		return joinKnown(arr[:1])
	}
	return "", false
}

// joinKnown joins fs with spaces; ok is false when one is a word the check
// cannot know.
func joinKnown(fs []field) (string, bool) {
	s := joinFields(fs)
	return s, !strings.Contains(s, unknownWord)
}

// list is the words of "$@" / "$*" or "${a[@]}" / "${a[*]}" when the
// check knows them; star: the * form.
func (r *scriptRun) list(p *syntax.ParamExp) (words []field, star, ok bool) {
	if !plainParam(p) || p.Exp != nil {
		return nil, false, false
	}
	if p.Index != nil {
		i := indexLit(p)
		if i != "@" && i != "*" {
			return nil, false, false
		}
		arr, ok := r.array(p.Param.Value)
		return arr, i == "*", ok
	}
	if name := p.Param.Value; (name == "@" || name == "*") && r.frame != nil {
		return r.frame.args, name == "*", true
	}
	return nil, false, false
}

// listFields appends the fields a word that is only a list expansion
// expands to, all at the word's offset off: in quotes, one per element
// ("$@") or one joined ("$*"); unquoted, each element split at blanks.
func listFields(list []field, star, quoted bool, off int, out []field) ([]field, bool) {
	at := func(f field) field {
		f.off, f.soff, f.exact = off, off, false
		return f
	}
	_, known := joinKnown(list)
	switch {
	case quoted && star:
		s := joinFields(list)
		return append(out, at(field{s: s, prefix: s == "" || !known})), known
	case quoted:
		for _, f := range list {
			out = append(out, at(f))
		}
	default:
		for _, f := range list {
			if f.s == unknownWord || f.unknown {
				f.unknown = true
				out = append(out, at(f))
				continue
			}
			for _, s := range strings.Fields(f.s) {
				out = append(out, at(field{s: s}))
			}
		}
	}
	return out, known
}

// assignArray records a=(...) and a+=(...) when the elements are plain
// (no [i]=v), each element as the words it expands to.
// A value too long to follow makes the array one that warns where it is
// used.
func (r *scriptRun) assignArray(t shellText, a *syntax.Assign, arrays map[string][]field) {
	name := a.Name.Value
	var elems []field
	if a.Append {
		old, ok := r.array(name)
		if !ok {
			if !r.isOver(name) {
				delete(arrays, name)
			}
			return
		}
		elems = slices.Clone(old)
	}
	r.overflows = r.overflows[:0]
	size, docker := len(joinFields(elems)), false
	for _, e := range a.Array.Elems {
		if e.Index != nil || e.Value == nil {
			delete(arrays, name)
			return
		}
		var fs []field
		fs, _ = r.expand(t, e.Value, nil)
		for _, f := range fs {
			size += len(f.s) + 1
			docker = docker || strings.Contains(f.s, "docker")
			elems = append(elems, f)
		}
	}
	if size > maxValue || len(r.overflows) > 0 {
		delete(arrays, name)
		r.over[name] = r.over[name] || docker || slices.ContainsFunc(r.overflows, func(o overflow) bool { return o.docker })
		return
	}
	arrays[name] = elems
	delete(r.over, name)
}

// array is the array name as assigned so far, else as last assigned in
// the file.
func (r *scriptRun) array(name string) ([]field, bool) {
	if a, ok := r.arrays[name]; ok {
		return a, true
	}
	if r.isOver(name) {
		return nil, false
	}
	a, ok := r.laterArrays[name]
	return a, ok
}
