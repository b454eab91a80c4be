package explain

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/ledger-docker/ledger-docker/internal/cli"
	"github.com/ledger-docker/ledger-docker/internal/cli/clitest"
)

func TestFlags(t *testing.T) {
	cmd := func(guard bool) clitest.NewCmd[Options] {
		return clitest.WithFactory(func(f *cli.Factory, runF func(*Options) error) *cobra.Command { return newCmd(f, runF, guard) })
	}
	omit := func(o *Options) { o.Factory = nil }
	clitest.RunCases(t, cmd(false), omit, []clitest.Case[Options]{
		{Argv: "-- compose down -v", Want: Options{Args: []string{"compose", "down", "-v"}}},
		{Argv: "compose down -v", Want: Options{Args: []string{"compose", "down", "-v"}}},
		{Argv: "volume prune -af", Want: Options{Args: []string{"volume", "prune", "-af"}}},
		{Argv: "--as docker-compose -- down -v", Want: Options{Program: "docker-compose", Args: []string{"down", "-v"}}},
		{Argv: "--json -- -H tcp://x:2375 volume rm v", Want: Options{Args: []string{"-H", "tcp://x:2375", "volume", "rm", "v"}}},
		{Argv: "", WantErr: true},
	})
	clitest.RunCases(t, cmd(true), omit, []clitest.Case[Options]{
		{Argv: "--as docker -- ps", Want: Options{Program: "docker", Args: []string{"ps"}, Guard: true}},
	})
}

func TestPluginGlobalArgs(t *testing.T) {
	got := cli.PluginGlobalArgs(strings.Fields("/p/docker-ledger --context prod -D ledger explain -- volume rm x"))
	if strings.Join(got, " ") != "--context prod -D" {
		t.Errorf("%q", got)
	}
	if got := cli.PluginGlobalArgs(strings.Fields("docker-ledger ledger guard --as docker -- -H h ps")); len(got) != 0 {
		t.Errorf("%q", got)
	}
}
