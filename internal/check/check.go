// Package check is the engine of `ledger-precommit` and `docker ledger
// check`: it reads compose files (as compose does, through compose-go) and
// scripts, and reports what could lose a project's data by accident, each
// finding with a rule id, a severity and a position in the file.
package check

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ledger-docker/ledger-docker/internal/config"
	"github.com/ledger-docker/ledger-docker/internal/engine"
)

// Finding is one problem at one place.
type Finding struct {
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Column   int      `json:"column"`
	Severity Severity `json:"severity"`
	Rule     string   `json:"rule"`
	Message  string   `json:"message"`
	// Volume is the compose volume key a volume finding is about.
	Volume string `json:"volume,omitempty"`
	// Service is the compose service a finding is about.
	Service string `json:"service,omitempty"`
}

// String is the `file:line:col: severity: message [rule]` form.
func (f Finding) String() string {
	return fmt.Sprintf("%s:%d:%d: %s: %s [%s]", f.File, f.Line, f.Column, f.Severity, f.Message, f.Rule)
}

// Request is what to check.
type Request struct {
	// Files to check; empty means discover them under Dir's repository.
	Files []string
	// Dir is where discovery starts and relative paths are shown from
	// ("" = the working directory).
	Dir string
	// Env is the environment compose interpolates from (nil = os.Environ()).
	Env []string
	// ProtectLabel is the protect label key --fix writes and messages name
	// ("" = config.DefaultProtectLabel).
	ProtectLabel string
	// ProtectKeys are more keys that protect a volume when true. The
	// default key and ProtectLabel always do (config.Config's rule).
	ProtectKeys []string
	// DatabaseImages are more database images (the user configuration's
	// database_images), beside the known ones and the project's x-ledger.
	DatabaseImages []config.DatabaseImage
	// Fix adds the protect label to unprotected volumes in place, then
	// checks again.
	Fix bool
	// Engine, when not nil, is asked (briefly) which declared-protected
	// volumes exist without the label. A nil func or an engine that does
	// not answer within EngineTimeout skips that rule.
	Engine func() (engine.Engine, error)
	// EngineTimeout bounds the engine lookup (0 = DefaultEngineTimeout).
	EngineTimeout time.Duration
}

// Report is the result of a check.
type Report struct {
	Files []string `json:"files"`
	// Checked counts the files checked: compose files (with those loaded
	// with them) and scripts. Other files given are not read.
	Checked  int       `json:"checked"`
	Findings []Finding `json:"findings"`
	Errors   int       `json:"errors"`
	Warnings int       `json:"warnings"`
	// Suppressed counts findings silenced by "# ledger-check: ignore".
	Suppressed int `json:"suppressed"`
	// Engine says whether the engine rule ran: "checked", "unavailable" or "off".
	Engine string `json:"engine"`
	// Fixed lists what --fix changed.
	Fixed []Fix `json:"fixed,omitempty"`
	// NotFixed lists what --fix left alone, each with the reason (Action).
	NotFixed []Fix `json:"not_fixed,omitempty"`
}

// protection is the protect rule of req: config.Config's, one decision
// for the check, the wrapper and the policy.
func (r Request) protection() *config.Config {
	return &config.Config{ProtectLabel: r.ProtectLabel, ProtectLabels: r.ProtectKeys}
}

// HasErrors reports whether any finding is an error.
func (r *Report) HasErrors() bool { return r.Errors > 0 }

// ErrIO marks a file that could not be read or written (exit 2).
var ErrIO = errors.New("cannot read or write file")

// Run checks the files of req: find the files, check each (in parallel),
// fix what --fix can fix and check the fixed files again, then ask the
// engine and build the report. A file that cannot be read (or written by
// --fix) costs no other file its findings: the report has them all, and
// the error (ErrIO) names the file.
func Run(ctx context.Context, req Request) (*Report, error) {
	req, err := req.withDefaults()
	if err != nil {
		return nil, err
	}
	set, err := req.fileSet(ctx)
	if err != nil {
		return nil, err
	}
	if len(set.units) > 0 {
		go composeSchema() // compiled while the files are read
	}
	probe := startProbe(ctx, req.Engine, req.EngineTimeout)
	res := checkFiles(ctx, req, set)
	res.errs = append(set.errs, res.errs...)
	var fixes, notFixed []Fix
	var fixErr error
	if req.Fix {
		fixable, _ := suppress(dedupe(slices.Clone(res.findings)))
		fixes, notFixed, fixErr = fixFiles(fixable, req.ProtectLabel, set.all)
		if len(fixes) > 0 {
			// The report is about the files as they are now; a volume
			// left alone may be protected now (an alias of one fixed).
			res = checkFiles(ctx, req, set)
			notFixed = stillFound(notFixed, res.findings)
		}
	}
	rep := req.report(set, res, probe)
	for _, f := range fixes {
		f.File = display(req.Dir, f.File)
		rep.Fixed = append(rep.Fixed, f)
	}
	for _, f := range notFixed {
		f.File = display(req.Dir, f.File)
		rep.NotFixed = append(rep.NotFixed, f)
	}
	return rep, errors.Join(append(res.errs, fixErr)...)
}

// stillFound keeps the volumes left alone by --fix that still have a
// finding.
func stillFound(notFixed []Fix, findings []Finding) []Fix {
	return slices.DeleteFunc(notFixed, func(n Fix) bool {
		return !slices.ContainsFunc(findings, func(f Finding) bool { return f.Volume == n.Volume && f.File == n.File })
	})
}

// withDefaults fills in the protect label, the environment and the folder.
func (r Request) withDefaults() (Request, error) {
	r.ProtectLabel = r.protection().WriteKey()
	if r.Env == nil {
		r.Env = os.Environ()
	}
	if r.Dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return r, err
		}
		r.Dir = wd
	}
	return r, nil
}

// fileSet groups the files to check (the given ones, or those discovered
// under Dir) into compose projects and scripts.
func (r Request) fileSet(ctx context.Context) (*fileSet, error) {
	files := r.Files
	if len(files) == 0 {
		var err error
		if files, err = Discover(ctx, r.Dir, r.Env); err != nil {
			return nil, err
		}
	}
	return classify(r.Dir, files, r.Env)
}

// results are the findings of one pass over the files, the volumes they
// declare protected (for the engine rule), and the files that could not be
// read.
type results struct {
	findings []Finding
	declared []declaredVolume
	errs     []error
}

// checkFiles checks every compose project and script of set, as many at
// once as there are CPUs. Each file stands alone: one that cannot be read
// adds its error, and a panic while checking one becomes a finding for it.
func checkFiles(ctx context.Context, req Request, set *fileSet) results {
	type result struct {
		findings []Finding
		declared []declaredVolume
		err      error
	}
	out := make([]result, len(set.units)+len(set.scripts))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	// each runs one file's check; a panic becomes that file's finding
	each := func(r *result, file string, check func(r *result)) {
		g.Go(func() error {
			defer func() {
				if p := recover(); p != nil {
					*r = result{findings: []Finding{internalError(file, p)}}
				}
			}()
			check(r)
			return nil
		})
	}
	for i, u := range set.units {
		each(&out[i], u[0], func(r *result) { r.findings, r.declared, r.err = checkUnitFunc(ctx, req, u) })
	}
	for i, s := range set.scripts {
		each(&out[len(set.units)+i], s.path, func(r *result) {
			if r.findings, r.err = checkScript(s); r.err != nil {
				r.err = readError(req.Dir, s.path, r.err)
			}
		})
	}
	_ = g.Wait() // the functions return nil: each keeps its own error
	var res results
	var alone []Finding
	for i, r := range out {
		if i < len(set.units) && set.alone[i] {
			alone = append(alone, aloneFindings(req.Dir, set.units[i][0], r.findings)...)
			continue // its volumes are the merged unit's too
		}
		res.findings = append(res.findings, r.findings...)
		res.declared = append(res.declared, r.declared...)
		if r.err != nil {
			res.errs = append(res.errs, r.err)
		}
	}
	// what loading a fragment alone adds to loading it over its base
	seen := map[[2]string]map[[2]int]bool{}
	for _, f := range res.findings {
		k := [2]string{f.File, f.Rule}
		if seen[k] == nil {
			seen[k] = map[[2]int]bool{}
		}
		seen[k][[2]int{f.Line, f.Column}] = true
	}
	for _, f := range alone {
		if !seen[[2]string{f.File, f.Rule}][[2]int{f.Line, f.Column}] {
			res.findings = append(res.findings, f)
		}
	}
	return res
}

// aloneFindings are the findings of a fragment loaded alone, as warnings
// that say so: the fragment is complete (every service has an image or a
// build), so it may be deployed alone (docker compose -f FILE), but it is
// named to be loaded over its base, and that is how it is checked first.
// When it does not load alone, it is not meant to: nothing.
func aloneFindings(dir, file string, fs []Finding) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Rule == RuleParse {
			return nil
		}
		if f.Severity == SeverityError {
			f.Severity = SeverityWarning
		}
		f.Message = fmt.Sprintf("when %s is loaded alone (docker compose -f %[1]s): %s", display(dir, file), f.Message)
		out = append(out, f)
	}
	return out
}

// checkUnitFunc is checkUnit; a test makes it panic.
var checkUnitFunc = checkUnit

// internalErrorMessage starts the message of a finding made from a panic.
const internalErrorMessage = "internal error: the checker failed on this file"

// internalError is the finding for a file whose check panicked: the file
// is not passed, and the other files keep their findings.
func internalError(file string, p any) Finding {
	return Finding{File: file, Line: 1, Column: 1, Severity: SeverityError, Rule: RuleParse,
		Message: fmt.Sprintf("%s (%v, in %s), so it was not checked; please report it with the file",
			internalErrorMessage, p, panicSite())}
}

// panicSite names the function that panicked, called from the deferred
// function that recovered.
func panicSite() string {
	pc := make([]uintptr, 64)
	frames := runtime.CallersFrames(pc[:runtime.Callers(1, pc)])
	panicking := false
	for {
		f, more := frames.Next()
		switch {
		case f.Function == "runtime.gopanic":
			panicking = true
		case panicking && !strings.HasPrefix(f.Function, "runtime."):
			return f.Function
		}
		if !more {
			return "an unknown function"
		}
	}
}

// readError is a file that could not be read (ErrIO: exit 2), named as the
// report shows it.
func readError(dir, path string, err error) error {
	return fmt.Errorf("%w: %s: %v", ErrIO, display(dir, path), unwrapPath(err))
}

// report adds the engine's findings to res, drops repeats and suppressed
// findings, counts errors and warnings, and shows paths relative to Dir.
func (r Request) report(set *fileSet, res results, probe *probe) *Report {
	rep := &Report{Files: make([]string, len(set.all))}
	for i, f := range set.all {
		rep.Files[i] = display(r.Dir, f)
	}
	checked := map[string]bool{}
	for _, u := range set.units {
		for _, f := range u {
			checked[f] = true
		}
	}
	rep.Checked = len(checked) + len(set.scripts)
	efs, state := probe.check(res.declared, r.protection())
	rep.Engine = state
	rep.Findings, rep.Suppressed = suppress(dedupe(append(slices.Clone(res.findings), efs...)))
	for i := range rep.Findings {
		f := &rep.Findings[i]
		f.File = display(r.Dir, f.File)
		f.Message = strings.ReplaceAll(f.Message, r.Dir+string(filepath.Separator), "")
		switch f.Severity {
		case SeverityError:
			rep.Errors++
		case SeverityWarning:
			rep.Warnings++
		}
	}
	return rep
}

// dedupe sorts findings by file and position and drops repeats (a file
// included by two projects is checked twice).
func dedupe(fs []Finding) []Finding {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		return a.Rule < b.Rule
	})
	out := fs[:0]
	for i, f := range fs {
		if i > 0 && f == fs[i-1] {
			continue
		}
		out = append(out, f)
	}
	return out
}

// display shows path relative to dir (with ../ like git when it lies
// outside).
func display(dir, path string) string {
	if !filepath.IsAbs(path) {
		return path
	}
	if rel, err := filepath.Rel(dir, path); err == nil {
		return rel
	}
	return path
}

func abs(dir, path string) string {
	if filepath.IsAbs(path) {
		return filepath.Clean(path)
	}
	return filepath.Join(dir, path)
}
