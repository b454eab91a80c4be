// Package clitest runs a verb's cobra command on a command line in tests
// (the argv -> Options tables of every verb).
package clitest

import (
	"bytes"
	"testing"

	"github.com/mattn/go-shellwords"
	"github.com/spf13/cobra"
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
