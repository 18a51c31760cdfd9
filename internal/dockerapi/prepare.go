package dockerapi

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/infractl/infractl/internal/compose"
	"github.com/infractl/infractl/internal/engine"
)

// Prepare creates the service's container, or keeps the existing one as
// engine.Decide says. A container of that name that is not the project's
// is never touched: it is an engine.ErrConflict.
func (pr *Project) Prepare(ctx context.Context, service string) (engine.Prepared, error) {
	spec := pr.specs[service]
	if spec == nil {
		return engine.Prepared{}, fmt.Errorf("unknown service %q", service)
	}
	if spec.hook != nil {
		return pr.prepareHook(ctx, spec)
	}
	existing, err := pr.cli.ContainerInspect(ctx, spec.name, client.ContainerInspectOptions{})
	var ex *engine.Existing
	switch {
	case err == nil && existing.Container.Config != nil:
		c := existing.Container
		ex = &engine.Existing{Labels: c.Config.Labels, Running: c.State != nil && c.State.Running}
	case err == nil:
		ex = &engine.Existing{}
	case !cerrdefs.IsNotFound(err):
		return engine.Prepared{}, engineErr("inspect "+spec.name, err)
	}
	switch engine.Decide(ex, pr.project.Name, spec.hashes, pr.policy[service]) {
	case engine.Conflict:
		return engine.Prepared{}, engine.ConflictError("container", spec.name, service, ex.Labels)
	case engine.Keep:
		c := existing.Container
		pr.mu.Lock()
		// Its hooks do not run when it is kept running (compose runs them
		// only before a start).
		pr.created[service], pr.kept[service] = c.ID, c.State != nil && c.State.Running
		pr.mu.Unlock()
		test, _ := execTest(c.Config.Healthcheck)
		return engine.Prepared{ID: c.ID, Reused: true, Healthcheck: len(test) > 0, State: convertState(c.State)}, nil
	case engine.Recreate:
		if _, err := pr.cli.ContainerRemove(ctx, existing.Container.ID, client.ContainerRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			return engine.Prepared{}, fmt.Errorf("remove previous container %s: %w", spec.name, classify(err))
		}
	}
	opts := spec.opts
	extra := firstNetworkOnly(&opts)
	img, imgErr := pr.cli.ImageInspect(ctx, opts.Config.Image)
	if imgErr == nil {
		labels := map[string]string{}
		for k, v := range opts.Config.Labels {
			labels[k] = v
		}
		labels[LabelImage] = img.ID
		cfg := *opts.Config
		cfg.Labels = labels
		opts.Config = &cfg
	}
	res, err := pr.cli.ContainerCreate(ctx, opts)
	if err != nil {
		if cerrdefs.IsConflict(err) {
			// Someone created that name between our inspect and create
			// (another run of the project, or by hand).
			return engine.Prepared{}, fmt.Errorf("create %s: %w (another infractl or docker compose run of this project may be running): %w", spec.name, err, engine.ErrConflict)
		}
		if strings.Contains(err.Error(), "bind source path does not exist") {
			// On a remote engine a local folder is not there.
			return engine.Prepared{}, fmt.Errorf("service %q: %s: a bind mount's source must exist on the engine's host (%s), not only here: create it there, or use a named volume: %w",
				service, strings.TrimPrefix(err.Error(), "Error response from daemon: "), pr.cli.DaemonHost(), compose.ErrInvalidProject)
		}
		return engine.Prepared{}, fmt.Errorf("create %s: %w", spec.name, classify(err))
	}
	if err := pr.attach(ctx, res.ID, spec, extra); err != nil {
		return engine.Prepared{}, err
	}
	pr.mu.Lock()
	pr.created[service] = res.ID
	pr.mu.Unlock()
	health := spec.health
	if !health && opts.Config.Healthcheck == nil && imgErr == nil && img.Config != nil && img.Config.Healthcheck != nil {
		t := img.Config.Healthcheck.Test
		health = len(t) > 0 && t[0] != "NONE"
	}
	return engine.Prepared{ID: res.ID, Healthcheck: health}, nil
}

// prepareHook creates the runner of a pre_start hook once its service's
// container exists (the scheduler creates it after): named and labelled as
// compose names them, with the service container's volumes (volumes_from).
// A runner left by an earlier run (failed, or kept as the record of its
// success) is replaced; a container of that name that is not the
// project's hook runner is a conflict. When the service's running
// container was kept, the hook does not run (Settled), as in compose.
func (pr *Project) prepareHook(ctx context.Context, spec *createSpec) (engine.Prepared, error) {
	pr.mu.Lock()
	svcID, kept := pr.created[spec.hook.service], pr.kept[spec.hook.service]
	pr.mu.Unlock()
	if kept {
		return engine.Prepared{Settled: true}, nil
	}
	if svcID == "" {
		// Run again by verify --rerun: the service's container exists.
		if c, err := pr.cli.ContainerInspect(ctx, pr.specs[spec.hook.service].name, client.ContainerInspectOptions{}); err == nil {
			svcID = c.Container.ID
		}
	}
	if svcID == "" {
		return engine.Prepared{}, fmt.Errorf("pre_start[%d] of %q: its service's container does not exist yet", spec.hook.index, spec.hook.service)
	}
	if old, err := pr.cli.ContainerInspect(ctx, spec.name, client.ContainerInspectOptions{}); err == nil {
		var labels map[string]string
		if old.Container.Config != nil {
			labels = old.Container.Config.Labels
		}
		if !engine.Owned(labels, pr.project.Name) || labels[LabelHook] == "" {
			return engine.Prepared{}, engine.ConflictError("container", spec.name, spec.hook.service, labels)
		}
		if _, err := pr.cli.ContainerRemove(ctx, old.Container.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
			return engine.Prepared{}, fmt.Errorf("remove previous %s: %w", spec.name, classify(err))
		}
	} else if !cerrdefs.IsNotFound(err) {
		return engine.Prepared{}, engineErr("inspect "+spec.name, err)
	}
	opts := spec.opts
	hc := *opts.HostConfig
	hc.VolumesFrom = append(slices.Clone(hc.VolumesFrom), svcID)
	opts.HostConfig = &hc
	opts.Name = spec.name
	extra := firstNetworkOnly(&opts)
	res, err := pr.cli.ContainerCreate(ctx, opts)
	if err != nil {
		if cerrdefs.IsConflict(err) {
			return engine.Prepared{}, fmt.Errorf("create %s: %w (another infractl or docker compose run of this project may be running): %w", spec.name, err, engine.ErrConflict)
		}
		return engine.Prepared{}, fmt.Errorf("create %s: %w", spec.name, classify(err))
	}
	if err := pr.attach(ctx, res.ID, spec, extra); err != nil {
		return engine.Prepared{}, err
	}
	return engine.Prepared{ID: res.ID}, nil
}

// firstNetworkOnly keeps one endpoint in the create options (API 1.41
// takes one at create time) and returns the others, sorted, to connect
// after.
func firstNetworkOnly(opts *client.ContainerCreateOptions) []string {
	if opts.NetworkingConfig == nil || len(opts.NetworkingConfig.EndpointsConfig) <= 1 {
		return nil
	}
	first := string(opts.HostConfig.NetworkMode)
	var extra []string
	for n := range opts.NetworkingConfig.EndpointsConfig {
		if n != first {
			extra = append(extra, n)
		}
	}
	sort.Strings(extra)
	opts.NetworkingConfig = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{first: opts.NetworkingConfig.EndpointsConfig[first]}}
	return extra
}

// attach connects a created container to its other networks and copies its
// content-based secrets and configs in.
func (pr *Project) attach(ctx context.Context, id string, spec *createSpec, extra []string) error {
	for _, n := range extra {
		ep := spec.opts.NetworkingConfig.EndpointsConfig[n]
		if _, err := pr.cli.NetworkConnect(ctx, n, client.NetworkConnectOptions{Container: id, EndpointConfig: ep}); err != nil {
			return fmt.Errorf("connect %s to %s: %w", spec.name, n, classify(err))
		}
	}
	for _, fc := range spec.copies {
		if err := copyFile(ctx, pr.cli, id, fc); err != nil {
			return fmt.Errorf("copy %s into %s: %w", fc.Path, spec.name, classify(err))
		}
	}
	return nil
}

// CreateOneOff creates (not starts) a one-off container for service with
// the same configuration, named <project>-<service>-<suffix> and labelled
// oneoff=True as `docker compose run` does; an earlier one of that name
// that is the project's is replaced, one that is not is a conflict.
func (pr *Project) CreateOneOff(ctx context.Context, service, suffix string) (string, error) {
	spec := pr.specs[service]
	if spec == nil {
		return "", fmt.Errorf("unknown service %q", service)
	}
	opts := spec.opts
	opts.Name = pr.project.Name + "-" + service + "-" + suffix
	cfg := *opts.Config
	cfg.Labels = map[string]string{}
	for k, v := range opts.Config.Labels {
		cfg.Labels[k] = v
	}
	cfg.Labels[LabelOneoff] = "True"
	cfg.Labels[LabelNumber] = "1"
	opts.Config = &cfg
	extra := firstNetworkOnly(&opts)
	if old, err := pr.cli.ContainerInspect(ctx, opts.Name, client.ContainerInspectOptions{}); err == nil {
		var labels map[string]string
		if old.Container.Config != nil {
			labels = old.Container.Config.Labels
		}
		if !engine.Owned(labels, pr.project.Name) {
			return "", engine.ConflictError("container", opts.Name, service, labels)
		}
		if _, err := pr.cli.ContainerRemove(ctx, old.Container.ID, client.ContainerRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			return "", fmt.Errorf("remove previous %s: %w", opts.Name, classify(err))
		}
	}
	res, err := pr.cli.ContainerCreate(ctx, opts)
	if err != nil {
		return "", fmt.Errorf("create %s: %w", opts.Name, classify(err))
	}
	s := *spec
	s.name = opts.Name
	if err := pr.attach(ctx, res.ID, &s, extra); err != nil {
		return res.ID, err
	}
	return res.ID, nil
}

func copyFile(ctx context.Context, cli *client.Client, id string, fc fileCopy) error {
	// The target folder may not exist in the image: create it by copying
	// a tar of the folder tree from "/".
	var full bytes.Buffer
	tw := tar.NewWriter(&full)
	dir, name := path.Split(fc.Path)
	prefix := ""
	for _, p := range strings.Split(strings.Trim(dir, "/"), "/") {
		if p == "" {
			continue
		}
		prefix += p + "/"
		if err := tw.WriteHeader(&tar.Header{Name: prefix, Mode: 0o755, Typeflag: tar.TypeDir, ModTime: time.Now()}); err != nil {
			return err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: prefix + name, Mode: fc.Mode, Size: int64(len(fc.Content)), ModTime: time.Now()}); err != nil {
		return err
	}
	if _, err := tw.Write(fc.Content); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	_, err := cli.CopyToContainer(ctx, id, client.CopyToContainerOptions{DestinationPath: "/", Content: &full})
	return err
}
