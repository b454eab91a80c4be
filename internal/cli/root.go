// Package cli is the root of `docker ledger`: the root command and the
// Factory. The exit codes are internal/exitcode's; the verbs are listed in
// internal/cli/verbs.
package cli

import (
	"errors"
	"fmt"

	dockercli "github.com/docker/cli/cli"
	"github.com/spf13/cobra"

	"github.com/ledger-docker/ledger-docker/internal/exitcode"
	"github.com/ledger-docker/ledger-docker/internal/version"
)

// Verb builds one subcommand. Each verb package exposes NewCmd(f, nil).
type Verb func(f *Factory) *cobra.Command

// NewRootCmd returns `docker ledger` with the given verbs (the list is
// internal/cli/verbs.All: the verb packages import this one, so it cannot
// import them).
func NewRootCmd(f *Factory, verbs ...Verb) *cobra.Command {
	root := &cobra.Command{
		Use:   "ledger",
		Short: "Back up, verify, restore and protect Docker Compose project data",
		Long: `docker ledger backs up a Compose project's database and volumes, proves every
backup restores, restores safely, and protects volumes from deletion.` + "\n" + exitcode.Help,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version.Version,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		//lint:ignore ST1005 printed as is, in docker's own usage-error form ("See '... --help'.")
		return fmt.Errorf("%w: %v\nSee 'docker ledger %s --help'.", exitcode.ErrUsage, err, c.Name())
	})
	for _, v := range verbs {
		root.AddCommand(v(f))
	}
	wrapRunE(root)
	return root
}

// wrapRunE turns every command's error into a docker/cli StatusError with
// the exit code from exitcode.Of, so the plugin framework exits with it.
func wrapRunE(c *cobra.Command) {
	if c.RunE != nil {
		orig := c.RunE
		c.RunE = func(cmd *cobra.Command, args []string) error {
			return StatusError(orig(cmd, args))
		}
	}
	if c.Args != nil {
		origArgs := c.Args
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := origArgs(cmd, args); err != nil {
				return StatusError(fmt.Errorf("%w: %v", exitcode.ErrUsage, err))
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		sub.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
			//lint:ignore ST1005 printed as is, in docker's own usage-error form ("See '... --help'.")
			return StatusError(fmt.Errorf("%w: %v\nSee 'docker ledger %s --help'.", exitcode.ErrUsage, err, c.Name()))
		})
		wrapRunE(sub)
	}
}

// StatusError converts err into a docker/cli StatusError (nil stays nil).
func StatusError(err error) error {
	if err == nil {
		return nil
	}
	var se dockercli.StatusError
	if errors.As(err, &se) {
		return err
	}
	var st exitcode.Status
	if errors.As(err, &st) {
		return dockercli.StatusError{Cause: st.Cause, StatusCode: st.Code, Status: st.Message}
	}
	return dockercli.StatusError{StatusCode: exitcode.Of(err), Status: Message(err)}
}

// Message is what a person reads for err: the error text, and for usage
// errors without the sentinel's own words.
func Message(err error) string {
	return "docker ledger: " + err.Error()
}
