// Package snapshot copies a volume into a tar.gz file on the host and back,
// through the engine's archive API: no registry, no tar binary in any image.
// A tiny helper image (an empty /data folder) is imported in-process; a
// helper container mounts the volume but is never started.
//
// A snapshot holds the volume's content at its root ("./", "./file"...), so
// `tar -xzf SNAPSHOT -C DIR` restores it with plain tar too.
package snapshot

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/atomicfile"
	"github.com/ledger-docker/ledger-docker/internal/engine"
)

// Helper image and labels.
const (
	HelperImage = "ledger-docker/helper:1"
	HelperLabel = "com.ledgerflow.helper"
	mountPath   = "/data"
	// Suffix ends every snapshot's file name.
	Suffix = ".tar.gz"
)

// EnsureHelper imports the helper image when it is missing.
func EnsureHelper(ctx context.Context, e engine.Engine) error {
	ok, err := e.ImageExists(ctx, HelperImage)
	if err != nil || ok {
		return err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "data/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: time.Unix(0, 0)}); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	changes := []string{`CMD ["/ledger-helper-never-started"]`, "LABEL " + HelperLabel + "=true"}
	if err := e.ImportImage(ctx, HelperImage, &buf, changes); err != nil {
		return fmt.Errorf("import helper image: %w", err)
	}
	return nil
}

// withHelper runs fn with a created (never started) helper container that
// mounts volume at /data, and removes the container afterwards, also on
// failure.
func withHelper(ctx context.Context, e engine.Engine, volume string, readOnly bool, fn func(id string) error) (err error) {
	if err := EnsureHelper(ctx, e); err != nil {
		return err
	}
	// Created without cancellation: a create cut short by Ctrl-C may still
	// make the container on the engine, and we would not know its id to
	// remove it.
	createCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	id, err := e.CreateContainer(createCtx, engine.ContainerSpec{
		Image:           HelperImage,
		Cmd:             []string{"/ledger-helper-never-started"},
		Labels:          map[string]string{HelperLabel: "true"},
		Mounts:          []engine.Mount{{Type: "volume", Name: volume, Destination: mountPath, ReadOnly: readOnly}},
		NetworkDisabled: true,
	})
	if err != nil {
		return fmt.Errorf("helper container for volume %s: %w", volume, err)
	}
	defer func() {
		// A fresh context: the helper must go even when ctx was cancelled.
		rmCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if rmErr := e.RemoveContainer(rmCtx, id, false); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("remove helper container: %w", rmErr))
		}
	}()
	if err := ctx.Err(); err != nil {
		return err
	}
	return fn(id)
}

// Write streams a gzip'd tar of the volume's content to w.
func Write(ctx context.Context, e engine.Engine, volume string, w io.Writer) error {
	return withHelper(ctx, e, volume, true, func(id string) error {
		rc, err := e.CopyFrom(ctx, id, mountPath)
		if err != nil {
			return fmt.Errorf("read volume %s: %w", volume, err)
		}
		defer rc.Close()
		zw := gzip.NewWriter(w)
		if err := rebase(tar.NewReader(rc), tar.NewWriter(zw), "data"); err != nil {
			return fmt.Errorf("snapshot volume %s: %w", volume, err)
		}
		return zw.Close()
	})
}

// rebase copies a tar stream rooted at dir/ into one rooted at ./.
func rebase(tr *tar.Reader, tw *tar.Writer, dir string) error {
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(h.Name, "./")
		switch {
		case name == dir || name == dir+"/":
			name = "./"
		case strings.HasPrefix(name, dir+"/"):
			name = "./" + strings.TrimPrefix(name, dir+"/")
		default:
			return fmt.Errorf("unexpected entry %q outside %s/", h.Name, dir)
		}
		h.Name = name
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
	return tw.Close()
}

// unrebase copies a snapshot rooted at ./ into a stream rooted at dir/,
// refusing entries that would land outside dir (hostile archives).
func unrebase(tr *tar.Reader, tw *tar.Writer, dir string) error {
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if escapes(h.Name) || (h.Typeflag == tar.TypeLink && escapes(h.Linkname)) {
			return fmt.Errorf("%w: entry %q leaves the volume", ErrHostile, h.Name)
		}
		name := path.Clean("/" + h.Name)
		if h.Typeflag == tar.TypeLink {
			h.Linkname = dir + path.Clean("/"+h.Linkname)
		}
		if name == "/" {
			h.Name = dir + "/"
		} else {
			h.Name = dir + name
			if h.Typeflag == tar.TypeDir {
				h.Name += "/"
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
	return tw.Close()
}

// escapes reports whether a tar entry name climbs out of its root.
func escapes(name string) bool {
	for _, part := range strings.Split(filepath.ToSlash(name), "/") {
		if part == ".." {
			return true
		}
	}
	return false
}

// Take snapshots volume into dir (created 0700) as
// VOLUME_YYYYMMDD_HHMMSS.tar.gz (UTC), written atomically with mode 0600,
// and returns its path.
func Take(ctx context.Context, e engine.Engine, volume, dir string, now time.Time) (string, error) {
	final, err := freeName(dir, volume+"_"+now.UTC().Format("20060102_150405"))
	if err != nil {
		return "", err
	}
	f, err := atomicfile.Create(final)
	if err != nil {
		return "", err
	}
	defer f.Abort()
	if err := Write(ctx, e, volume, f); err != nil {
		return "", err
	}
	if err := f.Commit(); err != nil {
		return "", err
	}
	return final, nil
}

// freeName returns dir/base.tar.gz, or dir/base-N.tar.gz when taken.
func freeName(dir, base string) (string, error) {
	for i := 1; i < 1000; i++ {
		name := base
		if i > 1 {
			name = fmt.Sprintf("%s-%d", base, i)
		}
		p := filepath.Join(dir, name+Suffix)
		if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
			return p, nil
		}
	}
	return "", fmt.Errorf("no free snapshot name for %s in %s", base, dir)
}

// List returns the entry names of a snapshot, reading it to the end so a
// damaged file (gzip checksum, truncated tar) is an error.
func List(file string) ([]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var names []string
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		names = append(names, h.Name)
	}
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return names, nil
}

// ErrVolumeExists: Restore never writes into an existing volume.
var ErrVolumeExists = errors.New("volume already exists")

// ErrHostile: a snapshot entry would be written outside the volume.
var ErrHostile = errors.New("hostile snapshot")

// Restore creates volume (which must not exist yet) with labels and fills
// it from the snapshot file.
func Restore(ctx context.Context, e engine.Engine, file, volume string, labels map[string]string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if _, err := e.InspectVolume(ctx, volume); err == nil {
		return fmt.Errorf("%s: %w (restore into a new volume)", volume, ErrVolumeExists)
	} else if !errors.Is(err, engine.ErrNotFound) {
		return err
	}
	if _, err := e.CreateVolume(ctx, engine.VolumeSpec{Name: volume, Labels: labels}); err != nil {
		return err
	}
	err = withHelper(ctx, e, volume, false, func(id string) error {
		// The engine ignores the metadata of the folder it extracts into,
		// so the snapshot's "./" entry would be lost and the volume's root
		// left root:root 0755 (PostgreSQL refuses such a data folder).
		// Extract at "/" with entries under data/ instead: the root entry
		// then sets the mount point's owner and mode.
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			err := unrebase(tar.NewReader(zr), tar.NewWriter(pw), "data")
			if err == nil {
				// Read to the gzip trailer so its checksum is verified (a
				// truncated snapshot must fail).
				_, err = io.Copy(io.Discard, zr)
			}
			pw.CloseWithError(err)
			done <- err
		}()
		// The client closes the body it was given; keep the pipe open so
		// the rest of the stream can still be drained below.
		if err := e.CopyTo(ctx, id, "/", struct{ io.Reader }{pr}); err != nil {
			pr.CloseWithError(err)
			<-done
			return fmt.Errorf("write volume %s: %w", volume, err)
		}
		// The engine may stop reading at the tar trailer.
		_, _ = io.Copy(io.Discard, pr)
		if err := <-done; err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("restore %s into volume %s: %w (the new volume is left for inspection)", file, volume, err)
	}
	return nil
}
