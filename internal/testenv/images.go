package testenv

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/engine/docker"
)

// Image tags are "<repo>:<short hash of the build inputs>", so a changed
// build script or source gives a new image and an unchanged one is reused.
const (
	postgresRepo = "ledger-e2e/postgres"
	idleRepo     = "ledger-e2e/idle"
)

// buildTimeout bounds an image or plugin build so a hung download cannot
// hang the whole test run (it is a guard, not an assertion).
const buildTimeout = 15 * time.Minute

// PostgresImage returns the tag of the PostgreSQL 15 test image, building it
// (about 40 s) on first use with testdata/images/postgres/build.sh.
func PostgresImage(t testing.TB) string {
	t.Helper()
	tag, err := ensurePostgres()
	if err != nil {
		t.Fatalf("PostgreSQL test image: %v", err)
	}
	return tag
}

// IdleImage returns the tag of the idle test image: a static Go binary
// (testdata/images/idle) alone in a FROM-scratch image that exits 0 on
// SIGTERM or SIGINT.
func IdleImage(t testing.TB) string {
	t.Helper()
	tag, err := ensureIdle()
	if err != nil {
		t.Fatalf("idle test image: %v", err)
	}
	return tag
}

// ComposeV2 makes sure `docker compose version` works in the harness's
// environment: the plugin found in the tester's ~/.docker/cli-plugins (or
// $DOCKER_CONFIG/cli-plugins) or a system plugin folder is linked into every
// private DOCKER_CONFIG; when there is none it is built from its Go module
// (testdata/images/compose/build.sh, about 2 min) into a folder of the
// harness's own under TMPDIR.
func ComposeV2(t testing.TB) {
	t.Helper()
	if err := ensureCompose(); err != nil {
		t.Fatalf("Compose v2 plugin: %v", err)
	}
}

func imageDir(name string) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "testdata", "images", name), nil
}

// ensureImage returns repo:hash for the given inputs, running build (under a
// cross-process lock) when the engine does not have that tag yet.
func ensureImage(repo string, inputs []string, build func(ctx context.Context, tag string) error) (string, error) {
	hash, err := hashFiles(inputs...)
	if err != nil {
		return "", err
	}
	tag := repo + ":" + hash
	e, err := docker.FromEnv()
	if err != nil {
		return "", err
	}
	defer e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	err = withLock(strings.ReplaceAll(repo, "/", "-"), func() error {
		ok, err := e.ImageExists(ctx, tag)
		if err != nil || ok {
			return err
		}
		if err := build(ctx, tag); err != nil {
			return err
		}
		removeOldTags(ctx, repo, tag)
		return nil
	})
	return tag, err
}

// removeOldTags removes the repo's other tags (builds from older inputs),
// best effort: an image a container still uses stays.
func removeOldTags(ctx context.Context, repo, keep string) {
	dockerPath, err := realDocker()
	if err != nil {
		return
	}
	out, err := runCmd(ctx, "", nil, dockerPath, "image", "ls", "--format", "{{.Repository}}:{{.Tag}}", repo)
	if err != nil {
		return
	}
	for _, ref := range strings.Fields(string(out)) {
		if ref != keep && strings.HasPrefix(ref, repo+":") {
			_, _ = runCmd(ctx, "", nil, dockerPath, "image", "rm", ref)
		}
	}
}

var ensurePostgres = sync.OnceValues(func() (string, error) {
	dir, err := imageDir("postgres")
	if err != nil {
		return "", err
	}
	inputs := []string{filepath.Join(dir, "build.sh"), filepath.Join(dir, "entrypoint.sh"), filepath.Join(dir, "Dockerfile"),
		filepath.Join(dir, "..", "apt-sources.sh")}
	return ensureImage(postgresRepo, inputs, func(ctx context.Context, tag string) error {
		if _, err := exec.LookPath("mmdebstrap"); err != nil {
			return fmt.Errorf("building %s needs mmdebstrap (apt-get install mmdebstrap; .ci/run installs it): %w", tag, err)
		}
		dockerPath, err := realDocker()
		if err != nil {
			return err
		}
		// mmdebstrap | docker import, in its own process group (runCmd).
		if _, err := runCmd(ctx, dir, []string{"DOCKER=" + dockerPath}, "bash", filepath.Join(dir, "build.sh"), tag); err != nil {
			return fmt.Errorf("build %s with testdata/images/postgres/build.sh: %w", tag, err)
		}
		return nil
	})
})

var ensureIdle = sync.OnceValues(func() (string, error) {
	dir, err := imageDir("idle")
	if err != nil {
		return "", err
	}
	return ensureImage(idleRepo, []string{filepath.Join(dir, "main.go")}, func(ctx context.Context, tag string) error {
		tmp, err := os.MkdirTemp("", "ledger-e2e-idle-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		bin := filepath.Join(tmp, "idle")
		if _, err := runCmd(ctx, dir, []string{"CGO_ENABLED=0"}, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "."); err != nil {
			return fmt.Errorf("build the idle program for %s: %w", tag, err)
		}
		rootfs, err := tarOf(bin, "idle")
		if err != nil {
			return err
		}
		e, err := docker.FromEnv()
		if err != nil {
			return err
		}
		defer e.Close()
		return e.ImportImage(ctx, tag, rootfs, []string{`CMD ["/idle"]`, `LABEL com.ledgerflow.e2e=true`})
	})
})

// tarOf is a tar stream holding one executable file at /name.
func tarOf(path, name string) (*bytes.Buffer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(b)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(b); err != nil {
		return nil, err
	}
	return &buf, tw.Close()
}

// ensureCompose finds the Compose v2 plugin (findCompose) or, when there is
// none, builds it with testdata/images/compose/build.sh into the harness's
// own folder (composeBuildConfig), then checks that `docker compose version`
// answers with the harness's environment (the plugin linked into its
// private DOCKER_CONFIG).
var ensureCompose = sync.OnceValue(func() error {
	dockerPath, err := realDocker()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	if findCompose() == "" {
		dir, err := imageDir("compose")
		if err != nil {
			return err
		}
		err = withLock("compose", func() error {
			if findCompose() != "" {
				return nil // another test process built it meanwhile
			}
			_, err := runCmd(ctx, dir, []string{"DOCKER=" + dockerPath, "DOCKER_CONFIG=" + composeBuildConfig()},
				"bash", filepath.Join(dir, "build.sh"))
			return err
		})
		if err != nil {
			return fmt.Errorf("build the plugin with testdata/images/compose/build.sh: %w", err)
		}
		if findCompose() == "" {
			return fmt.Errorf("testdata/images/compose/build.sh ran, but no Compose v2 plugin is in %s", filepath.Join(composeBuildConfig(), "cli-plugins"))
		}
	}
	if _, err := runCmd(ctx, "", nil, dockerPath, "compose", "version"); err != nil {
		return fmt.Errorf("plugin %s: %w", foundCompose(), err)
	}
	return nil
})
