package check

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"mvdan.cc/sh/v3/syntax"

	"github.com/ledger-docker/ledger-docker/internal/intercept"
)

// The destructive-command rule reads scripts as a shell does: the text is
// parsed (mvdan.cc/sh, the parser behind shfmt), and every command the
// shell would run is looked at, wherever it sits: in a pipeline, an &&/||
// chain, an if/while/for/case, a function body, a subshell, a command
// substitution, a here-document or here-string fed to a shell, an
// `sh -c '...'`, `su USER -c '...'`, `flock FILE -c '...'`, `ssh HOST
// '...'`, `watch '...'`, `parallel`, `eval` or `trap` string, a `find
// -exec` command, or text echoed into `| sh`. Words are expanded where the
// file says what they hold (variables and arrays assigned a literal value,
// `${X:-default}` (also read as X's own value when X is not known),
// `${X:+word}` (nothing or the word), `$(command -v docker)`, the
// arguments of a call to a function of the file, `set --`); any other
// expansion is a word the check cannot know, and one that stands alone
// unquoted ($FLAGS), or is "$@" or "${ARRAY[@]}", is also read as expanding
// to nothing. A docker or docker-compose command line goes through the
// wrapper's own parser (intercept.Parse).
//
// A call to a function of the file runs its body with the call's
// arguments (scripts_calls.go): `dc down -v` after `dc() { docker compose
// "$@"; }` is reported at the call. A value too long to follow (maxValue)
// is never passed over in silence: the line that uses it gets a warning.
//
// Text that is not run is not reported: comments, arguments of echo,
// here-documents fed to cat or tee, quoted strings.
//
// A Makefile's recipes, a CI file's script blocks and a Jenkinsfile's sh
// steps are shell too; they are cut out of their file (scripts_make.go,
// scripts_ci.go, scripts_jenkins.go) with where each byte came from, so
// that a finding points at the command in the file.
//
// Text the parser rejects is not passed over: the statements before the
// error are read as parsed, the rest line by line (scripts_words.go), each
// line the parser accepts alone as shell and any other as words split at
// ; & | ( ) < > and backquotes. There, text in quotes on a broken line can
// be reported.

// scriptRun is the check of one file.
type scriptRun struct {
	path  string
	src   string
	lines []int // offsets where the file's lines start
	// vars holds the values assigned so far, in the order the shell runs
	// the file; later holds every value the file assigns (the last one
	// wins), for a function that uses a variable assigned after it.
	vars, later map[string]string
	// arrays and laterArrays are the bash arrays the file spells out, in
	// the same way.
	arrays, laterArrays map[string][]field
	// over holds the variables whose value is too long to follow; true
	// when that value may hold a docker command.
	over map[string]bool
	// overflows are the expansions too long to follow since the last
	// fields or assign.
	overflows []overflow
	callState
	// reading is how the words of a command read a parameter the check
	// cannot know that has a word (${X:-WORD}, ${X:+WORD}); forks are the
	// other readings the last words expanded call for (commandWords).
	reading, forks reading

	kind  scriptKind
	found map[Finding]bool
	out   []Finding
}

// maxScriptBytes bounds the scripts the rule reads: the walk costs about
// 0.5 s and 130 MB per MiB of shell, and a script past 1 MiB is rare.
const maxScriptBytes = 1 << 20

// maxDepth bounds strings handed to a shell inside strings (sh -c "sh -c '...'").
const maxDepth = 8

// checkScript reports destructive docker commands run directly. The error
// is the file's, when it cannot be read.
func checkScript(s scriptFile) ([]Finding, error) {
	src, err := readFile(s.path)
	if err != nil {
		return nil, err
	}
	if len(src) > maxScriptBytes {
		// never a silent pass: say that it was not read
		return []Finding{{File: s.path, Line: 1, Column: 1, Severity: SeverityWarning, Rule: RuleDestructive,
			Message: fmt.Sprintf("the file is over %d bytes: it was not checked for destructive docker commands", maxScriptBytes)}}, nil
	}
	return scriptFindings(s, src), nil
}

// scriptFindings checks src, the content of s.
func scriptFindings(s scriptFile, src []byte) []Finding {
	if !bytes.Contains(src, []byte("docker")) {
		return nil
	}
	r := &scriptRun{path: s.path, src: string(src), vars: map[string]string{}, later: map[string]string{},
		arrays: map[string][]field{}, laterArrays: map[string][]field{}, over: map[string]bool{},
		kind: s.kind, found: map[Finding]bool{}}
	r.budget, r.unset, r.memo = callBudget, map[string]bool{}, map[callKey][]string{}
	r.lines = append(r.lines, 0)
	for i, c := range src {
		if c == '\n' {
			r.lines = append(r.lines, i+1)
		}
	}
	var texts []shellText
	yamlPrefixes := false
	switch s.kind {
	case kindMake:
		texts = makeShell(r.src, r.later, r.over)
	case kindJenkins:
		texts = jenkinsShell(r.src)
	case kindYAML:
		var ok bool
		if texts, ok = ciShell(r.src, r.later); !ok {
			texts, yamlPrefixes = []shellText{{src: r.src}}, true // not YAML: line by line
		}
	default:
		texts = []shellText{{src: r.src}}
	}
	parsed := make([]parsedText, len(texts))
	for i, t := range texts {
		parsed[i] = parsedText{t: t} // a CI file that is not YAML: line by line
		if !yamlPrefixes {
			parsed[i] = parse(t)
		}
		r.walk(parsed[i], false, 0) // every assignment first, into later
	}
	for _, p := range parsed {
		// each text is a shell of its own (a Makefile's recipe line, a CI
		// step): its own functions
		r.funcs, r.laterFuncs = map[string]function{}, definedIn(p)
		r.walk(p, true, 0)
		r.lineByLine(p.t, p.tail, yamlPrefixes, 0)
	}
	slices.SortFunc(r.out, func(a, b Finding) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		if a.Column != b.Column {
			return a.Column - b.Column
		}
		return strings.Compare(a.Message, b.Message)
	})
	return r.out
}

// parsedText is a shellText with the statements the parser read from it;
// tail is where it gave up (len(src) when it read everything).
type parsedText struct {
	t     shellText
	stmts []*syntax.Stmt
	tail  int
}

func parse(t shellText) parsedText {
	p := parsedText{t: t}
	// CRLF files: the shell would keep the \r in the last word.
	src := strings.ReplaceAll(t.src, "\r\n", " \n")
	if tooDeep(src) {
		return p // line by line: no script nests that deep
	}
	if err := readStmts(src, &p.stmts); err == nil {
		p.tail = len(src)
	} else {
		p.tail = 0
		if n := len(p.stmts); n > 0 {
			// after the last statement read, its here-documents included
			syntax.Walk(p.stmts[n-1], func(n syntax.Node) bool {
				if n != nil {
					p.tail = max(p.tail, int(n.End().Offset()))
				}
				return true
			})
		}
	}
	return p
}

// maxNesting bounds the brackets a text may nest before the shell
// parser is asked to read it (its time grows with the depth).
const maxNesting = 200

// tooDeep reports whether src nests ( or { more than maxNesting deep.
func tooDeep(src string) bool {
	depth := 0
	for i := range len(src) {
		switch src[i] {
		case '(', '{':
			if depth++; depth > maxNesting {
				return true
			}
		case ')', '}':
			depth = max(depth-1, 0)
		}
	}
	return false
}

// readStmts appends the statements of src to stmts, up to the first
// error. The loop never stops the parser's iterator early: v3.14.1 calls
// it again after an error, which panics when the loop has broken off. A
// panic of the parser is an error like any other.
func readStmts(src string, stmts *[]*syntax.Stmt) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("shell parser: %v", p)
		}
	}()
	for s, e := range syntax.NewParser(syntax.Variant(syntax.LangBash)).StmtsSeq(strings.NewReader(src)) {
		switch {
		case err != nil:
		case e != nil:
			err = e
		default:
			*stmts = append(*stmts, s)
		}
	}
	return err
}

// shell parses t and checks what it runs.
func (r *scriptRun) shell(t shellText, depth int) {
	if depth > maxDepth {
		return
	}
	p := parse(t)
	r.walk(p, true, depth)
	r.lineByLine(t, p.tail, false, depth)
}

// walk visits every node of p's statements. It records assignments (into
// vars when check, else into later) and, when check, checks every command
// and what is fed to a shell's standard input.
func (r *scriptRun) walk(p parsedText, check bool, depth int) {
	for _, st := range p.stmts {
		syntax.Walk(st, func(n syntax.Node) bool {
			switch x := n.(type) {
			case *syntax.CallExpr:
				if len(x.Args) == 0 {
					r.assign(p.t, x.Assigns, check)
				} else if check {
					r.commandWords(p.t, x.Args, depth)
				}
			case *syntax.DeclClause:
				r.assign(p.t, x.Args, check)
			case *syntax.FuncDecl:
				return r.define(p.t, x, check, depth)
			case *syntax.Stmt:
				if check {
					r.redirects(p.t, x, depth)
				}
			case *syntax.BinaryCmd:
				if check && (x.Op == syntax.Pipe || x.Op == syntax.PipeAll) {
					r.pipe(p.t, x, depth)
				}
			}
			return true
		})
	}
}

// assign records variables and arrays assigned a value the file spells
// out (into vars and arrays when check, else into later and laterArrays).
// A value too long to follow makes the variable one that warns where it is
// used.
func (r *scriptRun) assign(t shellText, as []*syntax.Assign, check bool) {
	vars, arrays := r.later, r.laterArrays
	if check {
		vars, arrays = r.vars, r.arrays
	}
	for _, a := range as {
		if a.Name == nil || a.Naked {
			continue
		}
		name := a.Name.Value
		r.gen++ // what a call reads may change
		switch {
		case a.Index != nil: // a[3]=x: the array is no longer known
			delete(arrays, name)
			continue
		case a.Array != nil:
			r.assignArray(t, a, arrays)
			continue
		}
		r.overflows = r.overflows[:0]
		var v string
		if a.Value != nil {
			fs, known := r.expand(t, a.Value, nil)
			if len(r.overflows) > 0 {
				r.tooLong(vars, name, slices.ContainsFunc(r.overflows, func(o overflow) bool { return o.docker }))
				continue
			}
			if !known {
				r.unknownVar(vars, name)
				continue
			}
			v = joinFields(fs)
		}
		if a.Append {
			if _, set := vars[name]; !set && r.isOver(name) {
				continue // still too long
			}
			v = r.value(vars, name) + v
		}
		if len(v) > maxValue {
			r.tooLong(vars, name, strings.Contains(v, "docker"))
			continue
		}
		vars[name] = v
		delete(r.unset, name)
		delete(r.over, name)
	}
}

// tooLong records that name's value is too long to follow: it is no
// longer known, and a line that uses it gets a warning.
func (r *scriptRun) tooLong(vars map[string]string, name string, docker bool) {
	delete(vars, name)
	r.over[name] = r.over[name] || docker
}

// isOver says whether name holds a value too long to follow (and none
// assigned since).
func (r *scriptRun) isOver(name string) bool {
	_, set := r.vars[name]
	_, array := r.arrays[name]
	if set || array {
		return false
	}
	_, over := r.over[name]
	return over
}

// overflow is an expansion too long to follow, at off in its text: name's
// value, or (name "") the word it is part of. docker: it may hold a docker
// command.
type overflow struct {
	off    int
	name   string
	docker bool
}

// maxValue bounds the variables the check follows: X="$X$X" repeated
// must not grow without end.
const maxValue = 4096

// value is what a variable holds: its last value so far, else the last
// the file gives it.
func (r *scriptRun) value(vars map[string]string, name string) string {
	if v, ok := vars[name]; ok {
		return v
	}
	return r.later[name]
}

func (r *scriptRun) lookup(name string) (string, bool) {
	if v, ok := r.vars[name]; ok {
		return v, true
	}
	if r.isOver(name) || r.unset[name] {
		return "", false
	}
	v, ok := r.later[name]
	return v, ok
}

// field is one word of a command after expansion.
type field struct {
	s string
	// off is where the word starts in its shellText; s[i] lies at soff+i
	// when exact.
	off, soff int
	exact     bool
	// unknown: an expansion alone and unquoted that the check cannot
	// resolve ($FLAGS), or "$@": the shell may expand it to no word at all.
	unknown bool
	// prefix: an expansion alone, quoted or not ("$SUDO", "${SUDO:-}",
	// "$(...)"), that the check cannot resolve or that is empty: before
	// docker, it may be sudo or nothing.
	prefix bool
}

func joinFields(fs []field) string {
	var b strings.Builder
	for i, f := range fs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(f.s)
	}
	return b.String()
}

// reading is a way to read the parameters with a word that the check
// cannot know. The first reading (0) takes the word of ${X:-WORD} and
// ${X=WORD}, and reads ${X:+WORD} as a word the check cannot know (which
// may be nothing); readAlternate takes the word of both; readValue reads
// both as words the check cannot know.
type reading uint8

const (
	readAlternate reading = 1 << iota
	readValue
)

// commandWords checks the command of words ws as the first reading
// expands them, then as each other reading that changes them: ${CLEAN:+-v}
// is nothing or -v, ${DOCKER:-docker} the value of DOCKER or docker.
func (r *scriptRun) commandWords(t shellText, ws []*syntax.Word, depth int) {
	r.forks = 0
	fs := r.fields(t, ws)
	forks := r.forks
	r.command(t, fs, false, depth)
	for _, rd := range []reading{readAlternate, readValue} {
		if forks&rd != 0 {
			r.reading = rd
			fs = r.fields(t, ws)
			r.reading = 0
			r.command(t, fs, false, depth)
		}
	}
}

// fields expands the words of a command; a value too long to follow gets
// a warning (unchecked).
func (r *scriptRun) fields(t shellText, ws []*syntax.Word) []field {
	r.overflows = r.overflows[:0]
	var out []field
	for _, w := range ws {
		out, _ = r.expand(t, w, out)
	}
	for _, o := range r.overflows {
		r.unchecked(t, o)
	}
	return out
}

// unchecked warns that the line of o was not checked, when that line or
// the value may hold a docker command.
func (r *scriptRun) unchecked(t shellText, o overflow) {
	off := min(max(o.off, 0), len(t.src))
	start := strings.LastIndexByte(t.src[:off], '\n') + 1
	end := len(t.src)
	if nl := strings.IndexByte(t.src[off:], '\n'); nl >= 0 {
		end = off + nl
	}
	if !o.docker && !strings.Contains(t.src[start:end], "docker") {
		return
	}
	what := fmt.Sprintf("this word expands to over %d bytes", maxValue)
	if o.name != "" {
		ref := "$" + o.name
		if r.kind == kindMake {
			ref = "$(" + o.name + ")"
		}
		what = fmt.Sprintf("the value of %s is over %d bytes", ref, maxValue)
	}
	r.warn(t.fileOffset(off), what+": this line was not checked for destructive docker commands")
}

// expand appends the fields word w expands to; known is false when part of
// it could not be expanded (it is then kept as written).
func (r *scriptRun) expand(t shellText, w *syntax.Word, out []field) (_ []field, known bool) {
	lone, quoted := loneExpansion(w)
	if p, ok := lone.(*syntax.ParamExp); ok {
		if list, star, ok := r.list(p); ok { // "$@", "${cmd[@]}"
			return listFields(list, star, quoted, int(w.Pos().Offset()), out)
		}
	}
	known = true
	vanish := false
	off := int(w.Pos().Offset())
	cur := field{off: off, soff: off, exact: true}
	var buf []byte // cur.s as it grows
	put := func(s string, from int, exact bool) {
		if len(buf) == 0 {
			cur.soff, cur.exact = from, exact
		} else if !exact || !cur.exact || from != cur.soff+len(buf) {
			cur.exact = false
		}
		buf = append(buf, s...)
	}
	flush := func() field {
		f := cur
		f.s = string(buf)
		buf = buf[:0]
		return f
	}
	// a part the check cannot know is a word it cannot know, at the
	// part's place (its text could hold the whole rest of the file)
	source := func(n syntax.Node) {
		known = false
		put(unknownWord, int(n.Pos().Offset()), false)
	}
	var part func(p syntax.WordPart, quoted bool)
	part = func(p syntax.WordPart, quoted bool) {
		switch p := p.(type) {
		case *syntax.Lit:
			s := unescape(p.Value, quoted)
			put(s, int(p.Pos().Offset()), s == p.Value)
		case *syntax.SglQuoted:
			from := int(p.Pos().Offset()) + 1
			if p.Dollar {
				from++
			}
			put(p.Value, from, !p.Dollar)
		case *syntax.DblQuoted:
			if len(p.Parts) == 0 {
				put("", int(p.Pos().Offset()), false)
			}
			for _, q := range p.Parts {
				part(q, true)
			}
		case *syntax.ParamExp:
			v, ok := r.param(t, p)
			switch {
			case !ok && p.Param != nil && r.isOver(p.Param.Value):
				r.overflows = append(r.overflows, overflow{int(p.Pos().Offset()), p.Param.Value, r.over[p.Param.Value]})
			case ok && len(buf)+len(v) > maxValue:
				r.overflows = append(r.overflows, overflow{int(p.Pos().Offset()), "",
					strings.Contains(string(buf), "docker") || strings.Contains(v, "docker")})
			}
			if !ok || len(buf)+len(v) > maxValue {
				source(p)
				return
			}
			if quoted || len(w.Parts) > 1 {
				put(v, int(p.Pos().Offset()), false)
				return
			}
			// $DC alone: the shell splits its value into words, and an
			// empty one ($SUDO) into none
			vanish = strings.TrimSpace(v) == ""
			for i, s := range strings.Fields(v) {
				if i > 0 {
					out = append(out, flush())
					cur = field{off: off}
				}
				put(s, off, false)
			}
		case *syntax.CmdSubst:
			if v, ok := commandPath(p); ok {
				put(v, int(p.Pos().Offset()), false)
				return
			}
			source(p)
		default:
			source(p)
		}
	}
	if len(w.Parts) == 0 {
		return out, true
	}
	for _, p := range w.Parts {
		part(p, false)
	}
	if lone != nil {
		switch {
		case !known:
			cur.prefix = true
			cur.unknown = !quoted || vanishes(lone)
		case len(buf) == 0:
			cur.prefix = true
		}
	}
	if vanish {
		return out, known
	}
	return append(out, flush()), known
}

// unescape drops the backslashes the shell drops: before any character
// outside quotes, before $ ` " \ and newline inside double quotes.
func unescape(s string, quoted bool) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && (!quoted || strings.IndexByte("$`\"\\\n", s[i+1]) >= 0) {
			i++
			if s[i] == '\n' {
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// param is the value of $X, ${X}, ${X:-default}, ${X:=default} or
// ${X:+alternate} (X a variable, a positional parameter or an array
// element) when the file says what it is; when it does not know X, the
// word is read as r.reading says.
func (r *scriptRun) param(t shellText, p *syntax.ParamExp) (string, bool) {
	if !plainParam(p) {
		return "", false
	}
	if r.isOver(p.Param.Value) {
		return "", false // never its default: the variable is set
	}
	v, ok := r.get(p)
	if p.Exp == nil {
		return v, ok
	}
	switch op := p.Exp.Op; op {
	case syntax.DefaultUnset, syntax.AssignUnset, syntax.DefaultUnsetOrNull, syntax.AssignUnsetOrNull:
		switch {
		case ok && (v != "" || op == syntax.DefaultUnset || op == syntax.AssignUnset):
			return v, true
		case !ok:
			r.forks |= readValue
			if r.reading&readValue != 0 {
				return "", false // the value of X
			}
		}
	case syntax.AlternateUnset, syntax.AlternateUnsetOrNull:
		switch {
		case ok && v != "": // X is set: the word
		case ok && op == syntax.AlternateUnsetOrNull:
			return "", true
		default: // X unknown, or maybe unset: nothing or the word
			r.forks |= readAlternate
			if r.reading&readAlternate == 0 {
				return "", false
			}
		}
	default:
		return "", false
	}
	if p.Exp.Word == nil {
		return "", true
	}
	fs, known := r.expand(t, p.Exp.Word, nil)
	return joinFields(fs), known
}

// commandPath is the value of $(command -v X), $(which X) or $(type -P X):
// X, the program the shell would find.
func commandPath(c *syntax.CmdSubst) (string, bool) {
	if len(c.Stmts) != 1 {
		return "", false
	}
	call, ok := c.Stmts[0].Cmd.(*syntax.CallExpr)
	if !ok {
		return "", false
	}
	var words []string
	for _, w := range call.Args {
		words = append(words, w.Lit())
	}
	switch {
	case len(words) == 2 && words[0] == "which",
		len(words) == 3 && words[0] == "command" && words[1] == "-v",
		len(words) == 3 && words[0] == "type" && words[1] == "-P":
		return words[len(words)-1], words[len(words)-1] != ""
	}
	return "", false
}

// Programs that run a command for another, and their options that take a
// value: `sudo -u deploy docker ...` runs docker. runnerLong are their long
// options that take a value (`timeout --signal KILL 60 docker ...`).
var runners = map[string]string{
	"sudo": "ugChpDrtUT", "doas": "uC", "exec": "a", "command": "", "nohup": "", "builtin": "",
	"nice": "n", "timeout": "sk", "env": "uCS", "xargs": "adEILnPs", "stdbuf": "ioe", "time": "fo",
	"setsid": "", "ionice": "cnpPu", "chronic": "", "unbuffer": "",
	"flock": "wE", "runuser": "ugGsw", "caffeinate": "tw",
}

var runnerLong = map[string][]string{
	"sudo": {"user", "group", "host", "prompt", "chdir", "chroot", "close-from", "role", "type", "other-user",
		"command-timeout", "login-class"},
	"timeout": {"signal", "kill-after"},
	"nice":    {"adjustment"},
	"env":     {"unset", "chdir", "split-string"},
	"xargs":   {"arg-file", "delimiter", "max-args", "max-procs", "max-chars", "process-slot-var"},
	"stdbuf":  {"input", "output", "error"},
	"time":    {"format", "output"},
	"ionice":  {"class", "classdata", "pid", "pgid", "uid"},
	"flock":   {"timeout", "wait", "conflict-exit-code"},
	"runuser": {"user", "group", "supp-group", "shell", "whitelist-environment"},
}

// keywords start a command in the text read line by line (the parser
// knows them otherwise).
var keywords = map[string]bool{"if": true, "then": true, "else": true, "elif": true, "do": true,
	"while": true, "until": true, "!": true, "{": true, "(": true}

var envAssign = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// commandAt is the index of the program fs runs once runners and VAR=value
// prefixes are skipped (len(fs) when none). With yaml, `-` and `key:`
// words are skipped too (a CI file read line by line).
func commandAt(fs []field, yaml bool) int {
	i, _ := commandStart(fs, yaml)
	return i
}

// commandStart is commandAt, and whether a runner was skipped (a runner
// runs a program, never a function of the script).
func commandStart(fs []field, yaml bool) (int, bool) {
	i, ran := 0, false
	for i < len(fs) {
		w := fs[i].s
		name := path.Base(w)
		opts, runner := runners[name]
		switch {
		case keywords[w], envAssign.MatchString(w), yaml && (w == "-" || strings.HasSuffix(w, ":")):
			i++
		case (fs[i].unknown || fs[i].prefix) && i+1 < len(fs) && isDocker(fs[i+1].s):
			// a value the check cannot know, or an empty one, then docker:
			// $SUDO docker ... and "$SUDO" docker ... run docker when SUDO
			// is sudo, and the first also when it is empty
			i++
		case runner:
			if name == "command" && i+1 < len(fs) && (fs[i+1].s == "-v" || fs[i+1].s == "-V") {
				return len(fs), true // prints where the program is
			}
			if wrapperShell(name, fs[i+1:]) >= 0 {
				return i, ran // flock FILE -c STRING: run reads the string
			}
			i, ran = skipOptions(fs, i+1, opts, runnerLong[name]...), true
			switch name {
			case "timeout":
				i++ // the duration
			case "flock":
				i++ // the lock file
			}
		default:
			return i, ran
		}
	}
	return len(fs), ran
}

// skipOptions skips the options starting at fs[i]; the letters of
// withValue and the long options long take a value.
func skipOptions(fs []field, i int, withValue string, long ...string) int {
	for ; i < len(fs); i++ {
		w := fs[i].s
		if w == "--" {
			return i + 1
		}
		if len(w) < 2 || w[0] != '-' {
			return i
		}
		if w[1] == '-' {
			if !strings.Contains(w, "=") && slices.Contains(long, w[2:]) {
				i++ // the value is the next word
			}
			continue
		}
		for j := 1; j < len(w); j++ {
			if strings.IndexByte(withValue, w[j]) >= 0 {
				if j == len(w)-1 {
					i++ // the value is the next word
				}
				break
			}
		}
	}
	return min(i, len(fs))
}

// isDocker reports whether w names docker or docker-compose.
func isDocker(w string) bool {
	name := strings.TrimSuffix(path.Base(w), ".exe")
	return name == string(intercept.Docker) || name == string(intercept.DockerCompose)
}

var shells = map[string]bool{"sh": true, "bash": true, "dash": true, "ash": true, "zsh": true, "ksh": true, "mksh": true}

// command checks one command, given as its fields. words: fs comes from a
// line read as words, where a string handed to a shell is the rest of the
// line.
func (r *scriptRun) command(t shellText, fs []field, words bool, depth int) {
	r.run(t, fs, words, false, depth)
}

// run is command; external: a program runs fs (find -exec), not the
// shell, so fs never calls a function of the script.
func (r *scriptRun) run(t shellText, fs []field, words, external bool, depth int) {
	i, ran := commandStart(fs, false)
	if i >= len(fs) {
		return
	}
	prog, args := fs[i].s, fs[i+1:]
	if !ran && !external {
		if fn, ok := r.function(prog); ok {
			r.call(fn, args, t.fileOffset(fs[i].off), depth)
			return
		}
		switch prog {
		case "set", "shift":
			r.positional(prog, args)
			return
		}
	}
	switch name := strings.TrimSuffix(path.Base(prog), ".exe"); {
	case isDocker(prog):
		// Words the check cannot know are read as written, and, when that
		// deletes nothing, as expanding to nothing: docker compose $FLAGS
		// down -v.
		var argv, known []string
		for _, a := range args {
			argv = append(argv, a.s)
			if !a.unknown {
				known = append(known, a.s)
			}
		}
		if slices.ContainsFunc(fs[:i], func(f field) bool { return path.Base(f.s) == "xargs" }) {
			argv, known = append(argv, unknownWord), append(known, unknownWord) // the names xargs reads
		}
		what := scriptOp(prog, argv)
		if what == "" && len(known) < len(argv) {
			what = scriptOp(prog, known)
		}
		if what != "" {
			r.report(t.fileOffset(fs[i].off), what)
		}
	case shells[name]:
		if j, _ := shellArgs(args); j >= 0 {
			if words { // the rest of the line is the string
				r.newShell(t, args[j:], nil, depth)
			} else { // sh -c 'docker volume rm "$1"' sh data
				r.newShell(t, args[j:j+1], &frame{args: args[min(j+2, len(args)):]}, depth)
			}
		}
	case name == "ssh":
		if j := sshCommand(args); j >= 0 {
			r.newShell(t, args[j:], nil, depth)
		}
	case name == "eval":
		r.nested(t, args, depth)
	case name == "trap":
		if j := trapAction(args); j >= 0 {
			r.nested(t, args[j:j+1], depth)
		}
	case wrapperShell(name, args) >= 0: // su, runuser, flock -c STRING
		j := wrapperShell(name, args)
		if words { // the rest of the line is the string
			r.newShell(t, args[j:], nil, depth)
		} else {
			r.newShell(t, args[j:j+1], nil, depth)
		}
	case name == "watch":
		if j := skipOptions(args, 0, "nq", "interval", "equexit"); j < len(args) {
			r.newShell(t, args[j:], nil, depth)
		}
	case name == "parallel":
		for _, c := range parallelCommands(args) {
			r.newShell(t, c, nil, depth)
		}
	case name == "find":
		for _, c := range findCommands(args) {
			r.run(t, c, words, true, depth)
		}
	}
}

// newShell checks fs as the text of another shell, whose positional
// parameters are f's (nil: unknown).
func (r *scriptRun) newShell(t shellText, fs []field, f *frame, depth int) {
	saved := r.frame
	r.frame = f
	r.nested(t, fs, depth)
	r.frame = saved
}

// shellArgs reads a shell's arguments: script is the index of the -c
// string (-1: none); stdin says whether it reads its commands from its
// standard input (no script file, or -s).
func shellArgs(args []field) (script int, stdin bool) {
	c, s := false, false
	for i := 0; i < len(args); i++ {
		w := args[i].s
		switch {
		case w == "--" || w == "-":
			if c && i+1 < len(args) {
				return i + 1, false
			}
			return -1, !c && (s || i+1 == len(args))
		case w == "-o" || w == "+o" || w == "-O" || w == "+O" || w == "--rcfile" || w == "--init-file":
			i++
		case strings.HasPrefix(w, "--"):
		case len(w) > 1 && (w[0] == '-' || w[0] == '+'):
			c = c || (w[0] == '-' && strings.Contains(w, "c"))
			s = s || (w[0] == '-' && strings.Contains(w, "s"))
		case c:
			return i, false
		default:
			return -1, s // a script file
		}
	}
	return -1, !c
}

// sshCommand is the index of the remote command in ssh's arguments (-1:
// none, the remote shell reads standard input).
func sshCommand(args []field) int {
	i := skipOptions(args, 0, "BbcDEeFIiJLlmOoPpQRSWw")
	if i+1 < len(args) {
		return i + 1
	}
	return -1
}

// readsShell says whether cmd is a shell reading its commands from its
// standard input (sh, bash -s, ssh HOST with no command).
func (r *scriptRun) readsShell(t shellText, cmd syntax.Command) bool {
	call, ok := cmd.(*syntax.CallExpr)
	if !ok || len(call.Args) == 0 {
		return false
	}
	fs := r.fields(t, call.Args)
	i := commandAt(fs, false)
	if i >= len(fs) {
		return false
	}
	switch name := path.Base(fs[i].s); {
	case shells[name]:
		_, stdin := shellArgs(fs[i+1:])
		return stdin
	case name == "ssh":
		args := fs[i+1:]
		return sshCommand(args) < 0 && skipOptions(args, 0, "BbcDEeFIiJLlmOoPpQRSWw") < len(args)
	case name == "su":
		// `su deploy <<EOF`: the user's shell reads the here-document
		return wrapperShell(name, fs[i+1:]) < 0
	}
	return false
}

// redirects checks a here-document or here-string fed to a shell.
func (r *scriptRun) redirects(t shellText, st *syntax.Stmt, depth int) {
	for _, rd := range st.Redirs {
		switch {
		case (rd.Op == syntax.Hdoc || rd.Op == syntax.DashHdoc) && rd.Hdoc != nil && r.readsShell(t, st.Cmd):
			r.shell(t.slice(span(t, rd.Hdoc)), depth+1)
		case rd.Op == syntax.WordHdoc && rd.Word != nil && r.readsShell(t, st.Cmd):
			fs, _ := r.expand(t, rd.Word, nil)
			r.nested(t, fs, depth)
		}
	}
}

// pipe checks text echoed, printed or cat'ed from a here-document into a
// shell: `echo "docker compose down -v" | sh`.
func (r *scriptRun) pipe(t shellText, b *syntax.BinaryCmd, depth int) {
	if !r.readsShell(t, b.Y.Cmd) {
		return
	}
	call, ok := b.X.Cmd.(*syntax.CallExpr)
	if !ok || len(call.Args) == 0 {
		return
	}
	switch call.Args[0].Lit() {
	case "echo":
		fs := r.fields(t, call.Args[1:])
		for len(fs) > 0 && (fs[0].s == "-n" || fs[0].s == "-e" || fs[0].s == "-E") {
			fs = fs[1:]
		}
		r.nested(t, fs, depth)
	case "printf":
		r.nested(t, r.fields(t, call.Args[1:]), depth)
	case "cat":
		for _, rd := range b.X.Redirs {
			if (rd.Op == syntax.Hdoc || rd.Op == syntax.DashHdoc) && rd.Hdoc != nil {
				r.shell(t.slice(span(t, rd.Hdoc)), depth+1)
			}
		}
	}
}

// nested checks fs, joined with spaces, as shell text (the string of
// sh -c, ssh or eval).
func (r *scriptRun) nested(t shellText, fs []field, depth int) {
	if len(fs) == 0 {
		return
	}
	if text := joinFields(fs); !strings.Contains(text, "docker") && !strings.Contains(text, "$") {
		return
	}
	var b textBuilder
	for i, f := range fs {
		if i > 0 {
			b.add(" ", t.fileOffset(f.off), false)
		}
		for k := range len(f.s) {
			from := f.off
			if f.exact {
				from = f.soff + k
			}
			b.add(f.s[k:k+1], t.fileOffset(from), false)
		}
	}
	last := fs[len(fs)-1]
	r.shell(b.done(t.fileOffset(last.off)), depth+1)
}

// report adds a finding at file offset off: the command what runs there.
// Inside a function body read for a call, it goes to the call (sink).
func (r *scriptRun) report(off int, what string) {
	if r.sink != nil {
		*r.sink = append(*r.sink, sunk{off, what})
		return
	}
	r.add(off, SeverityError, destructiveMessage(what))
}

// warn adds a warning at file offset off.
func (r *scriptRun) warn(off int, msg string) {
	r.add(off, SeverityWarning, msg)
}

func (r *scriptRun) add(off int, sev Severity, msg string) {
	off = min(max(off, 0), len(r.src))
	line, ok := slices.BinarySearch(r.lines, off)
	if ok {
		line++
	}
	start := r.lines[line-1]
	f := Finding{File: r.path, Line: line, Column: 1 + utf8.RuneCountInString(r.src[start:off]),
		Severity: sev, Rule: RuleDestructive, Message: msg}
	if !r.found[f] {
		r.found[f] = true
		r.out = append(r.out, f)
	}
}

// destructiveMessage names the command and the safe way to run it.
func destructiveMessage(what string) string {
	safe := "ledger_docker " + strings.TrimPrefix(strings.TrimPrefix(what, "docker-compose "), "docker ")
	if strings.HasPrefix(what, "docker-compose ") {
		safe = "ledger_docker compose " + strings.TrimPrefix(what, "docker-compose ")
	}
	alternative := "" // docker volume rm and prune have no flag to drop
	if strings.HasSuffix(what, " -v") || strings.HasSuffix(what, " --volumes") {
		alternative = " or drop the volume flag"
	}
	return fmt.Sprintf("runs %q directly: it deletes volumes without a backup and ignores the protect label; "+
		"run it through ledger_docker (%s)%s", what, safe, alternative)
}

// scriptOp is what the wrapper's own parser (intercept.Parse) finds in a
// docker or docker-compose command line: the command as a person would
// name it ("docker compose down -v", "docker-compose rm -v", "docker
// volume prune"), "" when it deletes no volume. compose up, which the
// wrapper checks for volumes it would recreate, is an ordinary command in
// a script.
func scriptOp(cmd string, args []string) string {
	prog := strings.TrimSuffix(path.Base(cmd), ".exe")
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
