package wrapper

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/intercept"
)

func exe(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

func link(t *testing.T, target, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}

func TestFindRealSkipsWrapperAndShims(t *testing.T) {
	d := t.TempDir()
	self := filepath.Join(d, "opt", "wrapper-copy")
	exe(t, self)
	exe(t, filepath.Join(d, "shim", "docker"))       // the shim folder
	link(t, self, filepath.Join(d, "a", "docker"))   // a link to this wrapper
	exe(t, filepath.Join(d, "old", "ledger_docker")) // another wrapper install
	link(t, filepath.Join(d, "old", "ledger_docker"), filepath.Join(d, "b", "docker"))
	exe(t, filepath.Join(d, "old", FullName)) // the Go stage of another install
	link(t, filepath.Join(d, "old", FullName), filepath.Join(d, "c", "docker"))
	front := filepath.Join(d, "front", "docker") // the C front, a copy named docker
	exe(t, front)
	exe(t, filepath.Join(d, "noexec", "docker"))
	_ = os.Chmod(filepath.Join(d, "noexec", "docker"), 0o644)
	exe(t, filepath.Join(d, "real", "docker"))
	exe(t, filepath.Join(d, "real", "docker-compose"))
	path := strings.Join([]string{filepath.Join(d, "shim"), filepath.Join(d, "a"), filepath.Join(d, "b"),
		filepath.Join(d, "c"), filepath.Join(d, "front"), filepath.Join(d, "noexec"), filepath.Join(d, "real")},
		string(os.PathListSeparator))
	// EnvSelf lists the front, then the Go wrapper (as Main sets it after
	// the front's hand-off).
	env := []string{"PATH=" + path, EnvShimDir + "=" + filepath.Join(d, "shim"),
		EnvSelf + "=" + front + string(os.PathListSeparator) + self}

	got, err := FindReal(intercept.Docker, Getenv(env))
	if err != nil || got != filepath.Join(d, "real", "docker") {
		t.Errorf("docker: %q %v", got, err)
	}
	got, err = FindReal(intercept.DockerCompose, Getenv(env))
	if err != nil || got != filepath.Join(d, "real", "docker-compose") {
		t.Errorf("docker-compose: %q %v", got, err)
	}
	got, _ = FindReal(intercept.Docker, Getenv(append(env, EnvRealDocker+"=/x/docker")))
	if got != "/x/docker" {
		t.Errorf("override: %q", got)
	}
	onlyShims := append(env, "PATH="+filepath.Join(d, "shim")+string(os.PathListSeparator)+filepath.Join(d, "a"))
	if got, err := FindReal(intercept.Docker, Getenv(onlyShims)); err == nil {
		t.Errorf("only shims on PATH: want an error, got %s", got)
	}
}

func TestShimDir(t *testing.T) {
	if got := ShimDir(Getenv([]string{"HOME=/h"})); got != "/h/.local/share/ledger-docker/shim" {
		t.Error(got)
	}
	if got := ShimDir(Getenv([]string{"HOME=/h", "XDG_DATA_HOME=/x"})); got != "/x/ledger-docker/shim" {
		t.Error(got)
	}
}

func TestFindPlugin(t *testing.T) {
	d := t.TempDir()
	exe(t, filepath.Join(d, "cfg", "cli-plugins", PluginName))
	got, err := FindPlugin(Getenv([]string{"DOCKER_CONFIG=" + filepath.Join(d, "cfg")}))
	if err != nil || got != filepath.Join(d, "cfg", "cli-plugins", PluginName) {
		t.Errorf("%q %v", got, err)
	}
	got, _ = FindPlugin(Getenv([]string{EnvPlugin + "=/p"}))
	if got != "/p" {
		t.Error(got)
	}
}

func TestGetenvLastWins(t *testing.T) {
	g := Getenv([]string{"A=1", "B=x=y", "A=2", "C"})
	if g("A") != "2" || g("B") != "x=y" || g("C") != "" {
		t.Error(g("A"), g("B"))
	}
	if got := WithoutSelf([]string{"A=1", EnvSelf + "=/w"}); len(got) != 1 {
		t.Error(got)
	}
}

func TestCheckReal(t *testing.T) {
	d := t.TempDir()
	sh := func(name, body string) string {
		t.Helper()
		p := filepath.Join(d, name, "docker")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	exe(t, filepath.Join(d, "old", FrontName))
	link(t, filepath.Join(d, "old", FrontName), filepath.Join(d, "tofront", "docker"))
	exe(t, filepath.Join(d, "old", FullName))
	link(t, filepath.Join(d, "old", FullName), filepath.Join(d, "tofull", "docker"))
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	refused := map[string]string{
		"this program":                 self,
		"a link to ledger_docker":      filepath.Join(d, "tofront", "docker"),
		"a link to ledger_docker-full": filepath.Join(d, "tofull", "docker"),
		"the Go wrapper's answer":      sh("full", `[ "$1" = `+HandshakeArg+` ] && printf '`+strings.TrimSuffix(HandshakeAnswer, "\n")+`\n'`),
		"the front's answer":           sh("front", `printf '`+strings.TrimSuffix(FrontHandshakeAnswer, "\n")+`\n'; exit 0`),
		"an answer, then a child that keeps stdout open": sh("child",
			`printf '`+strings.TrimSuffix(HandshakeAnswer, "\n")+`\n'; `+sleep+` 60 &`),
	}
	for name, p := range refused {
		t.Run(name, func(t *testing.T) {
			if err := CheckReal(p); !errors.Is(err, ErrNotReal) {
				t.Errorf("CheckReal(%s) = %v, want ErrNotReal", p, err)
			}
		})
	}
	allowed := map[string]string{
		"the real docker refuses the flag": sh("real", `echo "unknown flag: $1" >&2; exit 125`),
		"it reads stdin":                   sh("stdin", `cat`),
		"no answer in time":                sh("slow", `exec `+sleep+` 60`),
		"an answer on stderr":              sh("stderr", `printf '`+strings.TrimSuffix(HandshakeAnswer, "\n")+`\n' >&2`),
	}
	for name, p := range allowed {
		t.Run(name, func(t *testing.T) {
			if err := CheckReal(p); err != nil {
				t.Errorf("CheckReal(%s) = %v", p, err)
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		if err := CheckReal(filepath.Join(d, "missing")); err == nil || errors.Is(err, ErrNotReal) {
			t.Errorf("CheckReal(missing) = %v, want an error that is not ErrNotReal", err)
		}
	})
}
