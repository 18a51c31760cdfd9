package dockerapi

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/infractl/infractl/internal/compose"
	"github.com/infractl/infractl/internal/engine"
	"github.com/infractl/infractl/internal/fileobj"
)

// buildKeys are the build: keys the classic builder honours here.
var buildKeys = map[string]bool{"context": true, "dockerfile": true, "args": true, "target": true}

// UnsupportedBuildKeys lists the build: keys of a service infractl cannot
// honour with the Engine API's classic builder, as "build.<key>".
func UnsupportedBuildKeys(b *types.BuildConfig) []string {
	if b == nil {
		return nil
	}
	raw, err := json.Marshal(b)
	if err != nil {
		return []string{"build"}
	}
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	var bad []string
	for k, v := range m {
		if !buildKeys[k] && !isEmpty(v) {
			bad = append(bad, "build."+k)
		}
	}
	sort.Strings(bad)
	return bad
}

// Build builds a service's image through the Engine API (the classic
// builder every engine has) when it is missing, or always with force, and
// tags it as compose names it (image:, else <project>-<service>). The
// context is sent as a tar that honours .dockerignore; build output lines
// go to out. It reports whether it built.
func (e *Engine) Build(ctx context.Context, p *types.Project, service string, force bool, out func(string)) (bool, error) {
	sc := p.Services[service]
	if sc.Build == nil {
		return false, nil
	}
	tag := ImageName(p.Name, sc)
	if !force {
		if _, err := e.cli.ImageInspect(ctx, tag); err == nil {
			return false, nil
		} else if !cerrdefs.IsNotFound(err) {
			return false, engineErr("inspect image "+tag, err)
		}
	}
	if bad := UnsupportedBuildKeys(sc.Build); len(bad) > 0 {
		return false, fmt.Errorf("service %q: %s cannot be built through the Engine API's classic builder here (build it with docker build, or remove them): %w",
			service, strings.Join(bad, ", "), engine.ErrUnsupported)
	}
	dockerfile := sc.Build.Dockerfile
	if dockerfile == "" {
		dockerfile = "Dockerfile"
	}
	tarball, dockerfile, err := contextTar(sc.Build.Context, dockerfile)
	if err != nil {
		return false, fmt.Errorf("service %q: build.context %s: %w: %w", service, sc.Build.Context, err, compose.ErrInvalidProject)
	}
	defer func() {
		tarball.Close()
		os.Remove(tarball.Name())
	}()
	args := map[string]*string{}
	for k, v := range sc.Build.Args {
		args[k] = v
	}
	res, err := e.cli.ImageBuild(ctx, tarball, client.ImageBuildOptions{
		Tags: []string{tag}, Dockerfile: dockerfile, BuildArgs: args, Target: sc.Build.Target,
		Remove: true, ForceRemove: true, Version: build.BuilderV1,
		Labels: map[string]string{LabelProject: p.Name, LabelService: service, LabelManagedBy: "infractl"},
	})
	if err != nil {
		if ctx.Err() != nil {
			return false, fmt.Errorf("build %s (service %q) interrupted: %w", tag, service, ctx.Err())
		}
		if client.IsErrConnectionFailed(err) || errors.Is(err, engine.ErrLost) {
			return false, fmt.Errorf("build %s (service %q): %w", tag, service, classify(err))
		}
		// The engine answered and refused the build (a missing target, a
		// bad Dockerfile): the project's to fix, not the engine's.
		return false, fmt.Errorf("build %s (service %q) was refused by the engine: %s: %w", tag, service, strings.TrimSpace(err.Error()), compose.ErrInvalidProject)
	}
	defer res.Body.Close()
	// The answer is a stream of JSON messages: output lines, then an
	// error or the image's ID.
	dec := json.NewDecoder(bufio.NewReader(res.Body))
	for {
		var msg struct {
			Stream string `json:"stream"`
			Status string `json:"status"`
			Error  string `json:"error"`
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			if ctx.Err() != nil {
				return false, fmt.Errorf("build %s (service %q) interrupted: %w", tag, service, ctx.Err())
			}
			return false, fmt.Errorf("build %s (service %q): reading the engine's answer: %w", tag, service, classify(err))
		}
		if msg.Error != "" {
			return false, fmt.Errorf("build %s (service %q) failed: %s: %w", tag, service, strings.TrimSpace(msg.Error), compose.ErrInvalidProject)
		}
		for _, l := range strings.Split(strings.TrimRight(msg.Stream+msg.Status, "\n"), "\n") {
			if strings.TrimSpace(l) != "" && out != nil {
				out(l)
			}
		}
	}
	return true, nil
}

// contextTar packs a build context folder into a temporary file (so an
// unreadable file is an error before anything is sent), leaving out what
// its .dockerignore excludes; the Dockerfile and .dockerignore are always
// sent (docker build does the same). The caller removes the file.
//
// A Dockerfile outside the context is sent in it under a name of its own
// (.dockerfile.<hash>), as the docker CLI does; the name to build with is
// returned.
func contextTar(dir, dockerfile string) (*os.File, string, error) {
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", errors.New("no such folder (fix build.context, or create it)")
	} else if err != nil {
		return nil, "", err
	}
	if !st.IsDir() {
		return nil, "", fmt.Errorf("%s is not a folder", dir)
	}
	var outside []byte
	{
		path := dockerfile
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		if rel, err := filepath.Rel(dir, path); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			if outside, err = fileobj.Read(path); err != nil {
				return nil, "", fmt.Errorf("dockerfile %s: %w", path, err)
			}
			sum := sha256.Sum256(outside)
			dockerfile = ".dockerfile." + hex.EncodeToString(sum[:6])
		} else {
			dockerfile = rel
		}
	}
	var patterns []string
	if f, err := os.Open(filepath.Join(dir, ".dockerignore")); err == nil {
		patterns, err = ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, "", fmt.Errorf(".dockerignore: %w", err)
		}
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, "", fmt.Errorf(".dockerignore: %w", err)
	}
	keep := map[string]bool{filepath.ToSlash(filepath.Clean(dockerfile)): true, ".dockerignore": true}
	tmp, err := os.CreateTemp("", "infractl-build-*.tar")
	if err != nil {
		return nil, "", err
	}
	fail := func(err error) (*os.File, string, error) {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, "", err
	}
	tw := tar.NewWriter(tmp)
	walk := func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == tmp.Name() {
			return nil // the tar itself, when the temp folder is in the context
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if !keep[rel] {
			excluded, err := pm.MatchesOrParentMatches(rel)
			if err != nil {
				return err
			}
			if excluded {
				if d.IsDir() && !pm.Exclusions() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(path); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = rel
		if d.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			return err
		}
		return nil
	}
	if err := filepath.WalkDir(dir, walk); err != nil {
		return fail(err)
	}
	if outside != nil {
		hdr := &tar.Header{Name: dockerfile, Mode: 0o644, Size: int64(len(outside)), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return fail(err)
		}
		if _, err := tw.Write(outside); err != nil {
			return fail(err)
		}
	}
	if err := tw.Close(); err != nil {
		return fail(err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return fail(err)
	}
	return tmp, dockerfile, nil
}
