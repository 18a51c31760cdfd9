package dockerapi

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/types"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/infractl/infractl/internal/compose"
	"github.com/infractl/infractl/internal/engine"
)

// Project runs one compose project on the engine. It implements
// engine.Project.
type Project struct {
	observer
	project *types.Project
	specs   map[string]*createSpec
	// policy says what Prepare does with existing containers.
	policy map[string]engine.Policy

	mu sync.Mutex
	// created is each service's container as Prepare left it; kept lists
	// the services whose running container was kept (their pre_start
	// hooks do not run: compose runs them only before a start).
	created map[string]string
	kept    map[string]bool
}

var _ engine.Project = (*Project)(nil)

// NewProject checks that every enabled service can be run (supported keys,
// images present locally, external networks present) and prepares the
// container specs; nothing is created yet. fresh names the services that
// get a new container on every run (inits).
func NewProject(ctx context.Context, cli *client.Client, p *types.Project, policy map[string]engine.Policy) (*Project, error) {
	return newProject(ctx, cli, p, policy, false)
}

// keyProblems names, per service, the keys infractl cannot run.
func keyProblems(p *types.Project) []string {
	var problems []string
	for _, n := range p.ServiceNames() {
		if bad := unsupportedKeys(p.Services[n]); len(bad) > 0 {
			problems = append(problems, fmt.Sprintf("service %q uses keys infractl cannot run yet: %s (run it with docker compose, or remove them)", n, strings.Join(bad, ", ")))
		}
	}
	return problems
}

// newProject is NewProject; remote says the engine is not this machine's
// (file secrets and configs are then copied through the API).
func newProject(ctx context.Context, cli *client.Client, p *types.Project, policy map[string]engine.Policy, remote bool) (*Project, error) {
	names := p.ServiceNames()
	problems := keyProblems(p)
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s: %w", strings.Join(problems, "; "), engine.ErrUnsupported)
	}
	images := map[string][]string{}
	for _, n := range names {
		img := ImageName(p.Name, p.Services[n])
		images[img] = append(images[img], n)
		for i := range p.Services[n].PreStart {
			if img := hookConfig(p, p.Services[n], i).Image; img != ImageName(p.Name, p.Services[n]) {
				images[img] = append(images[img], fmt.Sprintf("%s (pre_start[%d])", n, i))
			}
		}
	}
	for _, img := range slices.Sorted(maps.Keys(images)) {
		if _, err := cli.ImageInspect(ctx, img); err != nil {
			if cerrdefs.IsNotFound(err) {
				hint := "infractl does not pull images yet: pull it (docker pull " + img + ") or build it, then run again"
				for _, n := range images[img] {
					if p.Services[n].Build != nil {
						hint = "build it first (docker compose build " + n + ")"
					}
				}
				problems = append(problems, fmt.Sprintf("image %q of service %s is not present locally; %s", img, quoteJoin(images[img]), hint))
				continue
			}
			return nil, engineErr(fmt.Sprintf("inspect image %q", img), err)
		}
	}
	for _, key := range sortedKeys(p.Networks) {
		def := p.Networks[key]
		if !bool(def.External) {
			continue
		}
		if _, err := cli.NetworkInspect(ctx, networkName(p, key, def), client.NetworkInspectOptions{}); err != nil {
			problems = append(problems, fmt.Sprintf("external network %q does not exist; create it with docker network create %s", networkName(p, key, def), networkName(p, key, def)))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s: %w", strings.Join(problems, "; "), engine.ErrUnsupported)
	}
	// Names taken by what is not the project's: refused before anything
	// is created (Prepare checks again, for a race).
	taken := map[string]string{}
	for _, n := range names {
		sc := p.Services[n]
		for k := 1; k <= max(1, sc.GetScale()); k++ {
			taken[engine.ReplicaContainerName(p.Name, p.Services[n], k)] = n
		}
		for i := range p.Services[n].PreStart {
			taken[engine.HookContainerName(p.Name, n, i)] = n
		}
	}
	for _, name := range sortedKeys(taken) {
		n := taken[name]
		c, err := cli.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
		if err != nil {
			if cerrdefs.IsNotFound(err) {
				continue
			}
			return nil, engineErr("inspect "+name, err)
		}
		var labels map[string]string
		if c.Container.Config != nil {
			labels = c.Container.Config.Labels
		}
		if !engine.Owned(labels, p.Name) {
			return nil, engine.ConflictError("container", name, n, labels)
		}
	}
	version := cli.ClientVersion()
	pr := &Project{observer: observer{cli: cli, project: p.Name}, project: p, specs: map[string]*createSpec{}, policy: policy,
		created: map[string]string{}, kept: map[string]bool{}}
	for _, n := range names {
		spec, err := buildSpec(p, p.Services[n], version)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", err, engine.ErrUnsupported)
		}
		pr.specs[n] = spec
		sc := p.Services[n]
		for k := 2; k <= sc.GetScale(); k++ {
			pr.specs[engine.ReplicaName(n, k)] = spec.replica(p.Name, p.Services[n], k)
		}
		for i := range p.Services[n].PreStart {
			spec, err := buildHookSpec(p, p.Services[n], i, version)
			if err != nil {
				return nil, fmt.Errorf("%w: %w", err, engine.ErrUnsupported)
			}
			pr.specs[compose.HookName(n, i)] = spec
		}
	}
	if remote {
		for _, spec := range pr.specs {
			if err := spec.forRemote(); err != nil {
				return nil, fmt.Errorf("%w: %w", err, compose.ErrInvalidProject)
			}
		}
	}
	return pr, nil
}

func quoteJoin(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// ContainerName returns the name of a service's container.
func (pr *Project) ContainerName(service string) string {
	if s := pr.specs[service]; s != nil {
		return s.name
	}
	return ""
}

// Start starts a container.
func (pr *Project) Start(ctx context.Context, id string) error {
	if _, err := pr.cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("start: %w", classify(err))
	}
	return nil
}

// Stop stops a container, waiting at most 2 s before killing it.
func (pr *Project) Stop(ctx context.Context, id string) error {
	timeout := 2
	if _, err := pr.cli.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &timeout}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("stop: %w", classify(err))
	}
	return nil
}

// Probe runs the service's own healthcheck test once through exec.
func (pr *Project) Probe(ctx context.Context, service, id string) (bool, string, error) {
	spec := pr.specs[service]
	if spec == nil || len(spec.healthTest) == 0 {
		return false, "", nil
	}
	return execOnce(ctx, pr.cli, id, spec.healthTest, spec.healthTimeout)
}

// Remove removes a container.
func (pr *Project) Remove(ctx context.Context, id string) error {
	_, err := pr.cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true})
	if err == nil || cerrdefs.IsNotFound(err) {
		return nil
	}
	return fmt.Errorf("remove %s: %w", id, classify(err))
}

// classify keeps an API error's message and marks what cannot be answered
// (the engine is gone or failing) as an engine error; a refusal (bad
// request, conflict, not found) stays what it is.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if cerrdefs.IsNotFound(err) || cerrdefs.IsConflict(err) || cerrdefs.IsInvalidArgument(err) || cerrdefs.IsFailedPrecondition(err) {
		return err
	}
	return fmt.Errorf("%w: %w", err, engine.ErrEngine)
}

func isNotFound(err error) bool { return cerrdefs.IsNotFound(err) }
