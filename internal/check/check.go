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
	"sync"
	"time"

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
	Files    []string  `json:"files"`
	Findings []Finding `json:"findings"`
	Errors   int       `json:"errors"`
	Warnings int       `json:"warnings"`
	// Suppressed counts findings silenced by "# ledger-check: ignore".
	Suppressed int `json:"suppressed"`
	// Engine says whether the engine rule ran: "checked", "unavailable" or "off".
	Engine string `json:"engine"`
	// Fixed lists what --fix changed.
	Fixed []Fix `json:"fixed,omitempty"`
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

// Run checks the files of req.
func Run(ctx context.Context, req Request) (*Report, error) {
	req.ProtectLabel = req.protection().WriteKey()
	if req.Env == nil {
		req.Env = os.Environ()
	}
	if req.Dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		req.Dir = wd
	}
	files := req.Files
	if len(files) == 0 {
		var err error
		if files, err = Discover(ctx, req.Dir, req.Env); err != nil {
			return nil, err
		}
	}
	set, err := classify(req.Dir, files, req.Env)
	if err != nil {
		return nil, err
	}

	probe := startProbe(ctx, req.Engine, req.EngineTimeout)

	var (
		mu       sync.Mutex
		findings []Finding
		declared []declaredVolume
	)
	var ioErrs []error
	work := make(chan func(), len(set.units)+len(set.scripts))
	for _, u := range set.units {
		work <- func() {
			fs, dv, err := checkUnit(ctx, req, u)
			mu.Lock()
			findings = append(findings, fs...)
			declared = append(declared, dv...)
			if err != nil {
				ioErrs = append(ioErrs, err)
			}
			mu.Unlock()
		}
	}
	for _, s := range set.scripts {
		work <- func() {
			fs, err := checkScript(s)
			mu.Lock()
			findings = append(findings, fs...)
			if err != nil {
				ioErrs = append(ioErrs, err)
			}
			mu.Unlock()
		}
	}
	close(work)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(set.units)+len(set.scripts)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for w := range work {
				w()
			}
		}()
	}
	wg.Wait()
	if len(ioErrs) > 0 {
		return nil, errors.Join(ioErrs...)
	}

	if req.Fix {
		fixable, _ := suppress(dedupe(slices.Clone(findings)))
		fixes, err := fixFiles(fixable, req.ProtectLabel)
		<-probe.done
		if len(fixes) > 0 {
			again := req
			again.Fix, again.Files = false, set.all
			rep, rerr := Run(ctx, again)
			if rerr != nil {
				return nil, errors.Join(err, rerr)
			}
			for _, f := range fixes {
				f.File = display(req.Dir, f.File)
				rep.Fixed = append(rep.Fixed, f)
			}
			return rep, err
		}
		if err != nil {
			return nil, err
		}
	}

	rep := &Report{Files: append([]string{}, set.all...)}
	efs, state := probe.check(declared, req.protection())
	rep.Engine = state
	findings = append(findings, efs...)
	rep.Findings, rep.Suppressed = suppress(dedupe(append([]Finding{}, findings...)))
	for i := range rep.Findings {
		rep.Findings[i].File = display(req.Dir, rep.Findings[i].File)
		rep.Findings[i].Message = strings.ReplaceAll(rep.Findings[i].Message, req.Dir+string(filepath.Separator), "")
		switch rep.Findings[i].Severity {
		case SeverityError:
			rep.Errors++
		case SeverityWarning:
			rep.Warnings++
		}
	}
	for i, f := range rep.Files {
		rep.Files[i] = display(req.Dir, f)
	}
	return rep, nil
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
