// Package layers holds the tests that keep the dependency directions: the
// domain packages (what ledger-docker does) link neither the command
// framework nor docker/cli (how a command line reaches it). The command
// layer, the engine adapter and the wrapper's endpoint resolution may.
package layers

import (
	"os/exec"
	"strings"
	"testing"
)

// domain are the packages that do the work.
var domain = []string{"backup", "restore", "verify", "protect", "check", "policy", "snapshot", "pg", "lock",
	"atomicfile", "settings", "compose", "exitcode", "apiguard", "intercept", "config", "backupname"}

// forbidden are the import paths (and their prefixes, ending in "/") the
// domain packages must not link, with why.
var forbidden = map[string]string{
	"github.com/spf13/cobra":                              "the command framework",
	"github.com/docker/cli/":                              "the docker CLI's packages",
	"github.com/ledger-docker/ledger-docker/internal/cli": "ledger-docker's command layer (exit codes are in internal/exitcode)",
	"github.com/AlecAivazis/survey/v2":                    "terminal prompts",
}

func TestDomainPackagesLinkNoCommandLayer(t *testing.T) {
	for _, p := range domain {
		out, err := exec.Command("go", "list", "-deps", "github.com/ledger-docker/ledger-docker/internal/"+p).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", p, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for bad, why := range forbidden {
				if dep == bad || (strings.HasSuffix(bad, "/") && strings.HasPrefix(dep, bad)) ||
					strings.HasPrefix(dep, bad+"/") {
					t.Errorf("internal/%s links %s (%s)", p, dep, why)
				}
			}
		}
	}
}

// The pre-commit hook pays its start-up on every commit: it links neither
// ledger-docker's command layer nor docker/cli's command packages (with
// them, package initialisation takes about a third longer).
func TestHookLinksNoPluginFramework(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/ledger-docker/ledger-docker/hooks").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps ./hooks: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, bad := range []string{"github.com/ledger-docker/ledger-docker/internal/cli",
			"github.com/docker/cli/cli/command", "google.golang.org/grpc"} {
			if dep == bad {
				t.Errorf("the hook links %s", dep)
			}
		}
	}
}
