// Package clitest runs a verb's cobra command on a command line in tests
// (the argv -> Options tables of every verb).
package clitest

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/mattn/go-shellwords"
	"github.com/spf13/cobra"

	"github.com/ledger-docker/ledger-docker/internal/cli"
	"github.com/ledger-docker/ledger-docker/internal/iostreams"
)

// Execute runs cmd with argv split as a shell would, its output discarded.
func Execute(t testing.TB, cmd *cobra.Command, argv string) error {
	t.Helper()
	args, err := shellwords.Parse(argv)
	if err != nil {
		t.Fatalf("argv %q: %v", argv, err)
	}
	cmd.SetArgs(args)
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	return cmd.Execute()
}

// NewCmd builds a verb's command around runF, the function that receives the
// parsed options in place of the verb's run.
type NewCmd[O any] func(runF func(*O) error) *cobra.Command

// WithFactory adapts a verb's NewCmd(f, runF): each command gets a Factory of
// its own with test IO streams.
func WithFactory[O any](newCmd func(f *cli.Factory, runF func(*O) error) *cobra.Command) NewCmd[O] {
	return func(runF func(*O) error) *cobra.Command {
		ios, _, _, _ := iostreams.Test()
		return newCmd(&cli.Factory{IO: ios}, runF)
	}
}

// ParseOptions runs the command newCmd builds on argv and returns the options
// its runF received (nil when the command failed before running).
func ParseOptions[O any](t testing.TB, newCmd NewCmd[O], argv string) (*O, error) {
	t.Helper()
	var got *O
	err := Execute(t, newCmd(func(o *O) error { got = o; return nil }), argv)
	return got, err
}

// Case is one row of a verb's argv -> Options table.
type Case[O any] struct {
	Argv    string
	Want    O
	WantErr bool // the command line is refused
}

// RunCases runs each case as a subtest named by its argv: a WantErr case must
// fail; any other must succeed and give options equal to Want once omit has
// zeroed the fields the table leaves out (streams, funcs).
func RunCases[O any](t *testing.T, newCmd NewCmd[O], omit func(*O), cases []Case[O]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Argv, func(t *testing.T) {
			got, err := ParseOptions(t, newCmd, tc.Argv)
			if tc.WantErr {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Fatal("the command did not run")
			}
			omit(got)
			if !reflect.DeepEqual(*got, tc.Want) {
				t.Errorf("options = %+v, want %+v", *got, tc.Want)
			}
		})
	}
}

// Contains fails t for each of wants that got, the output called name
// ("stdout", "stderr"), lacks.
func Contains(t testing.TB, name, got string, wants []string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", name, w, got)
		}
	}
}
