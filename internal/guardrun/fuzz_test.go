package guardrun

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/apiguard/apiguardtest"
	"github.com/ledger-docker/ledger-docker/internal/config"
	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/engine/fake"
	"github.com/ledger-docker/ledger-docker/internal/exitcode"
	"github.com/ledger-docker/ledger-docker/internal/intercept"
	"github.com/ledger-docker/ledger-docker/internal/snapshot"
	"github.com/ledger-docker/ledger-docker/internal/wrapper"
)

const fzAnon = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

// requests a stand-in for the real docker may send: every request that
// can lose a volume, in several spellings.
var fzRequests = []struct{ method, url, body string }{
	{"DELETE", "/v1.41/volumes/keep", ""},
	{"DELETE", "/v1.41/volumes/free", ""},
	{"DELETE", "/v1.41//volumes/./keep", ""},
	{"DELETE", "/VOLUMES/keep", ""},
	{"POST", "/v1.41/volumes/prune", ""},
	{"POST", `/v1.41/volumes/prune?filters={"label!":{"com.ledgerflow.protect=true":true}}`, ""},
	{"POST", `/v1.41/volumes/prune?filters={"all":{"1":true},"label":{"x":true}}`, ""},
	{"DELETE", "/v1.41/containers/holder?v=1&force=1", ""},
	{"DELETE", "/v1.41/containers/holder?v=yes", ""},
	{"POST", "/v1.41/containers/create", `{"HostConfig":{"AutoRemove":true,"VolumesFrom":["holder"]}}`},
	{"GET", "/v1.41/containers/json", ""},
	{"POST", "/v1.41/volumes/keep/delete", ""},
}

// FuzzArgvThroughWrapperAndGuard runs a command line through the
// wrapper's routing and the guard, against a fake engine with the
// engine's semantics:
//   - a line that passes straight to the real docker must have, for
//     docker/cli's own flag parser, a subcommand on the allow-list (the
//     C front's rule is the same, see internal/wrapper's front tests);
//   - every other line runs behind the guard; whatever requests the
//     program then sends (chosen by the fuzzer), no protected volume or
//     the marker file in it is ever lost, and a refused request for a
//     protected volume ends in exit status 77.
func FuzzArgvThroughWrapperAndGuard(f *testing.F) {
	for _, seed := range []string{"volume rm keep", "volume --help=false rm keep", "-Dl debug ps", "-H unix:///x ps",
		"--context=x volume prune -af", "builder down -v", "ps", "-D ps", "--config /tmp ps", "-lps ps", "--tls=true ps"} {
		f.Add(seed, []byte{0, 4, 7, 9})
	}
	f.Fuzz(func(t *testing.T, line string, reqs []byte) {
		argv := append([]string{"docker"}, strings.Fields(line)...)
		getenv := func(string) string { return "" }
		if intercept.PassesThrough(argv, getenv) {
			fs, _ := dockerFlags()
			if err := fs.Parse(argv[1:]); err != nil || len(fs.Args()) == 0 || !slices.Contains(intercept.PassThrough, fs.Args()[0]) {
				t.Fatalf("%q passes straight to docker, but docker/cli reads its subcommand as %q (%v)", line, fs.Args(), err)
			}
			return
		}
		e := fake.New()
		prot := map[string]string{config.DefaultProtectLabel: "true"}
		e.AddVolume(engine.Volume{Name: "keep", Driver: "local", Labels: prot}, map[string]string{"marker": "m"})
		e.AddVolume(engine.Volume{Name: fzAnon, Driver: "local", Labels: prot, Anonymous: true}, map[string]string{"marker": "m"})
		e.AddVolume(engine.Volume{Name: "free", Driver: "local"}, nil)
		e.AddContainer(engine.Container{ID: "holder", Name: "holder", Mounts: []engine.Mount{{Type: "volume", Name: fzAnon, Destination: "/d"}}})
		e.AddImage(snapshot.HelperImage)
		fe := apiguardtest.New(t, e)
		cfg, _ := config.Load(getenv)
		in := intercept.Parse(argv, getenv)
		var refused403 bool
		code := Run(context.Background(), Request{
			Intent: in, Cmd: Command{Args: in.Args}, Conn: Connection{Engine: e, Dial: fe.Dial}, Config: cfg,
			Env: []string{"PATH=/nonexistent", wrapper.EnvRealDocker + "=/bin/true"}, Stderr: &bytes.Buffer{},
			Run: func(ctx context.Context, _ string, _, env []string) int {
				sock := strings.TrimPrefix(wrapper.Getenv(env)("DOCKER_HOST"), "unix://")
				c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
					return net.Dial("unix", sock)
				}}}
				for _, b := range reqs {
					rq := fzRequests[int(b)%len(fzRequests)]
					req, _ := http.NewRequest(rq.method, "http://docker"+rq.url, strings.NewReader(rq.body))
					if resp, err := c.Do(req); err == nil {
						resp.Body.Close()
						refused403 = refused403 || resp.StatusCode == http.StatusForbidden
					}
					if b%5 == 0 {
						_ = e.RemoveContainer(ctx, "holder", false)
					}
				}
				return 0
			},
		})
		for _, v := range []string{"keep", fzAnon} {
			if !e.HasVolume(v) || e.VolumeFiles(v)["marker"] != "m" {
				t.Fatalf("%q with requests %v lost protected volume %s", line, reqs, v)
			}
		}
		if refused403 && code != exitcode.Blocked {
			t.Fatalf("%q: a refused request, exit status %d", line, code)
		}
	})
}
