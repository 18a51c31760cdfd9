// Package compose loads a Compose project exactly as `docker compose` does
// (compose-go v2, the same option sequence), and builds infractl's model of
// it: every service classified as init, backend or app, the depends_on graph,
// its topological stages and the critical path of the init phase.
package compose

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// ErrInvalidProject is the category of every error that means the user's
// project cannot be loaded or is inconsistent (exit code 2).
var ErrInvalidProject = errors.New("invalid compose project")

// Options are the loading options of `docker compose`, with the same names.
type Options struct {
	// Files are the -f/--file values, in order.
	Files []string
	// ProjectName is -p/--project-name.
	ProjectName string
	// ProjectDir is --project-directory.
	ProjectDir string
	// EnvFiles are the --env-file values, in order.
	EnvFiles []string
	// Profiles are the --profile values.
	Profiles []string
	// Env is the process environment (os.Environ() in production); it is
	// injected so tests do not depend on the caller's shell.
	Env []string
}

// Load loads the project described by opts with compose-go, in the option
// order of docker compose v2 (cmd/compose/compose.go toProjectOptions), and
// builds the model. Errors wrap ErrInvalidProject and name the file and the
// services involved where they can be found.
func Load(ctx context.Context, opts Options) (*Model, error) {
	pwd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	env := opts.Env
	hasPWD := false
	for _, kv := range env {
		if strings.HasPrefix(kv, "PWD=") {
			hasPWD = true
		}
	}
	fns := []cli.ProjectOptionsFn{
		cli.WithWorkingDirectory(opts.ProjectDir),
		cli.WithEnv(env),
	}
	if !hasPWD {
		fns = append(fns, cli.WithEnv([]string{"PWD=" + pwd}))
	}
	fns = append(fns,
		cli.WithEnvFiles(opts.EnvFiles...),
		cli.WithDotEnv,
		cli.WithConfigFileEnv,
		cli.WithDefaultConfigPath,
		cli.WithEnvFiles(opts.EnvFiles...),
		cli.WithDotEnv,
		cli.WithDefaultProfiles(opts.Profiles...),
		cli.WithName(opts.ProjectName),
		cli.WithResolvedPaths(true),
	)
	po, err := cli.NewProjectOptions(opts.Files, fns...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, ErrInvalidProject)
	}
	for _, f := range po.ConfigPaths {
		// A file that is not there is "not found", not "invalid".
		if f == "-" {
			continue
		}
		if _, err := os.Stat(f); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("compose file %s not found (-f, COMPOSE_FILE): %w", f, ErrInvalidProject)
		}
	}
	var included []string
	po.WithListeners(func(event string, md map[string]any) {
		if event != "include" {
			return
		}
		wd, _ := md["workingdir"].(string)
		if paths, ok := md["path"].(types.StringList); ok {
			for _, p := range paths {
				if !filepath.IsAbs(p) {
					p = filepath.Join(wd, p)
				}
				included = append(included, p)
			}
		}
	})
	project, err := po.LoadProject(ctx)
	if err != nil {
		return nil, explainLoadError(err, po.ConfigPaths, included)
	}
	if project.Name == "" {
		return nil, fmt.Errorf("project name can't be empty; use --project-name to set one: %w", ErrInvalidProject)
	}
	m, err := newModel(project, sortedUnique(append(append([]string{}, project.ComposeFiles...), included...)), opts.EnvFiles)
	if err != nil {
		return nil, err
	}
	return m, nil
}

var (
	quoted      = regexp.MustCompile(`"([^"]+)"`)
	openFailed  = regexp.MustCompile(`open (\S+): no such file or directory`)
	servicePath = regexp.MustCompile(`services\.([A-Za-z0-9_.-]+?)\.`)
)

// explainLoadError turns a compose-go error into one that names the file
// (and line) of the services it mentions.
func explainLoadError(err error, roots, included []string) error {
	msg := err.Error()
	files := sortedUnique(append(append([]string{}, roots...), included...))
	idx := NewLineIndex(files)
	var where []string
	for _, m := range append(quoted.FindAllStringSubmatch(msg, -1), servicePath.FindAllStringSubmatch(msg, -1)...) {
		if loc, ok := idx.Service(m[1]); ok {
			where = append(where, loc.String())
		}
	}
	missing := ""
	var pe *fs.PathError
	if errors.As(err, &pe) {
		missing = pe.Path
	} else if m := openFailed.FindStringSubmatch(msg); m != nil {
		missing = m[1]
	}
	if loc, ok := idx.Include(missing); missing != "" && ok {
		return fmt.Errorf("%s: included file %s does not exist; fix the include path or create the file: %w", loc, missing, ErrInvalidProject)
	}
	if len(where) == 0 && !mentionsFile(msg, files) {
		// Name the root file so the user knows where to start.
		if len(roots) > 0 {
			where = append(where, roots[0])
		}
	}
	if len(where) > 0 {
		return fmt.Errorf("%s: %s: %w", strings.Join(sortedUnique(where), ", "), msg, ErrInvalidProject)
	}
	return fmt.Errorf("%s: %w", msg, ErrInvalidProject)
}

func mentionsFile(msg string, files []string) bool {
	for _, f := range files {
		if strings.Contains(msg, f) || strings.Contains(msg, filepath.Base(f)) {
			return true
		}
	}
	return false
}

func sortedUnique(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}
