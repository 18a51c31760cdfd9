package provision

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/infractl/infractl/internal/compose"
)

// ErrSelection is the category of a selection that names no declaration:
// a service not in the project, or no x-infractl at all (a usage error).
var ErrSelection = errors.New("nothing to provision")

// BackendError is a backend that could not be reached or refused a call,
// after the retries: the run stops there (exit 1).
type BackendError struct {
	Service string
	Err     error
}

func (e *BackendError) Error() string { return e.Service + ": " + e.Err.Error() }
func (e *BackendError) Unwrap() error { return e.Err }

// Request is one `infractl provision` run.
type Request struct {
	// Services selects declarations (empty: every one).
	Services []string
	// Check compares instead of creating (VAL-SPC-103).
	Check bool
	// SecretsDir is where secrets are mounted in a container; when it is
	// not a directory, secrets are read from their source files.
	SecretsDir string
	Retry      Retry
}

// Run is `infractl provision` as a use case: it provisions (or checks)
// the selected declarations in order and reports each item to emit as it
// comes. It returns every item and whether one is bad (missing, drift); it
// stops at the first backend that fails (*BackendError).
func Run(ctx context.Context, m *compose.Model, req Request, emit func(service string, it Item)) ([]Item, bool, error) {
	decls, err := Declarations(m)
	if err != nil {
		return nil, false, err
	}
	if len(req.Services) > 0 {
		want := map[string]bool{}
		for _, s := range req.Services {
			if _, ok := m.Services[s]; !ok {
				return nil, false, fmt.Errorf("service %q is not in the project: %w", s, ErrSelection)
			}
			want[s] = true
		}
		var keep []Declaration
		for _, d := range decls {
			if want[d.Service] {
				keep = append(keep, d)
			}
		}
		decls = keep
	}
	if len(decls) == 0 {
		where := "in the project"
		if len(req.Services) > 0 {
			where = fmt.Sprintf("on %v", req.Services)
		}
		return nil, false, fmt.Errorf("no x-infractl resource declaration found %s: %w", where, ErrSelection)
	}
	env := Env{Retry: req.Retry}
	if st, err := os.Stat(req.SecretsDir); req.SecretsDir != "" && err == nil && st.IsDir() {
		env.Secrets = ContainerSecrets(req.SecretsDir)
	} else {
		env.Secrets = HostSecrets(m)
	}
	var all []Item
	bad := false
	for _, d := range decls {
		for _, p := range For(d, env) {
			var items []Item
			var err error
			if req.Check {
				items, err = p.Check(ctx)
			} else {
				items, err = p.Ensure(ctx)
			}
			for _, it := range items {
				if emit != nil {
					emit(d.Service, it)
				}
				bad = bad || it.Bad()
			}
			all = append(all, items...)
			if err != nil {
				if errors.Is(err, context.Canceled) {
					return all, bad, err
				}
				return all, bad, &BackendError{Service: d.Service, Err: err}
			}
		}
	}
	return all, bad, nil
}
