package dockerapi

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/infractl/infractl/internal/scheduler"
)

// ErrUnsupported is the category of project errors found before anything is
// created: unsupported keys, missing images (exit code 2).
var ErrUnsupported = errors.New("cannot run this project")

// Project runs one compose project on the engine. It implements
// scheduler.Runtime.
type Project struct {
	cli     *client.Client
	project *types.Project
	specs   map[string]*createSpec
	// Fresh lists services always run in a new container (the inits).
	fresh map[string]bool

	mu      sync.Mutex
	created []string // containers created by this run
}

// NewProject checks that every enabled service can be run (supported keys,
// images present locally, external networks present) and prepares the
// container specs; nothing is created yet. fresh names the services that
// get a new container on every run (inits).
func NewProject(ctx context.Context, cli *client.Client, p *types.Project, fresh map[string]bool) (*Project, error) {
	names := p.ServiceNames()
	var problems []string
	for _, n := range names {
		if bad := unsupportedKeys(p.Services[n]); len(bad) > 0 {
			problems = append(problems, fmt.Sprintf("service %q uses keys infractl cannot run yet: %s (run it with docker compose, or remove them)", n, strings.Join(bad, ", ")))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s: %w", strings.Join(problems, "; "), ErrUnsupported)
	}
	images := map[string][]string{}
	for _, n := range names {
		img := ImageName(p.Name, p.Services[n])
		images[img] = append(images[img], n)
	}
	imgNames := slices.Sorted(maps.Keys(images))
	for _, img := range imgNames {
		if _, err := cli.ImageInspect(ctx, img); err != nil {
			if cerrdefs.IsNotFound(err) {
				hint := "build or load it first (make images), there is no registry to pull from"
				for _, n := range images[img] {
					if p.Services[n].Build != nil {
						hint = "build it first (docker compose build " + n + ")"
					}
				}
				problems = append(problems, fmt.Sprintf("image %q of service %s is not present locally; %s", img, quoteJoin(images[img]), hint))
				continue
			}
			return nil, fmt.Errorf("inspect image %q: %v: %w", img, err, ErrEngine)
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
		return nil, fmt.Errorf("%s: %w", strings.Join(problems, "; "), ErrUnsupported)
	}
	version := cli.ClientVersion()
	pr := &Project{cli: cli, project: p, specs: map[string]*createSpec{}, fresh: fresh}
	for _, n := range names {
		spec, err := buildSpec(p, p.Services[n], version)
		if err != nil {
			return nil, fmt.Errorf("%v: %w", err, ErrUnsupported)
		}
		pr.specs[n] = spec
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

// EnsureResources creates the project's networks and volumes that do not
// exist yet, labelled as compose labels them.
func (pr *Project) EnsureResources(ctx context.Context) error {
	p := pr.project
	used := map[string]bool{}
	for _, sc := range p.Services {
		for k := range sc.Networks {
			used[k] = true
		}
	}
	for _, key := range sortedKeys(p.Networks) {
		def := p.Networks[key]
		if bool(def.External) || !used[key] {
			continue
		}
		name := networkName(p, key, def)
		if _, err := pr.cli.NetworkInspect(ctx, name, client.NetworkInspectOptions{}); err == nil {
			continue
		}
		labels := map[string]string{LabelProject: p.Name, LabelNetwork: key, LabelVersion: ComposeVersion, LabelManagedBy: "infractl"}
		for k, v := range def.Labels {
			labels[k] = v
		}
		driver := def.Driver
		if driver == "" {
			driver = "bridge"
		}
		_, err := pr.cli.NetworkCreate(ctx, name, client.NetworkCreateOptions{Driver: driver, Options: def.DriverOpts, Internal: def.Internal, Attachable: def.Attachable, Labels: labels})
		if err != nil && !cerrdefs.IsConflict(err) {
			return fmt.Errorf("create network %s: %v: %w", name, err, ErrEngine)
		}
	}
	for _, key := range sortedKeys(p.Volumes) {
		def := p.Volumes[key]
		if bool(def.External) {
			continue
		}
		name := def.Name
		if name == "" {
			name = p.Name + "_" + key
		}
		if _, err := pr.cli.VolumeInspect(ctx, name, client.VolumeInspectOptions{}); err == nil {
			continue
		}
		labels := map[string]string{LabelProject: p.Name, LabelVolume: key, LabelVersion: ComposeVersion, LabelManagedBy: "infractl"}
		for k, v := range def.Labels {
			labels[k] = v
		}
		if _, err := pr.cli.VolumeCreate(ctx, client.VolumeCreateOptions{Name: name, Driver: def.Driver, DriverOpts: def.DriverOpts, Labels: labels}); err != nil {
			return fmt.Errorf("create volume %s: %v: %w", name, err, ErrEngine)
		}
	}
	return nil
}

// Events streams the project's container events.
func (pr *Project) Events(ctx context.Context) (<-chan scheduler.Event, <-chan error) {
	f := client.Filters{}
	f.Add("type", "container")
	f.Add("label", LabelProject+"="+pr.project.Name)
	res := pr.cli.Events(ctx, client.EventsListOptions{Filters: f})
	out := make(chan scheduler.Event, 256)
	errs := make(chan error, 1)
	go func() {
		defer close(out)
		for {
			select {
			case m, ok := <-res.Messages:
				if !ok {
					return
				}
				if ev, ok := convertEvent(m); ok {
					select {
					case out <- ev:
					case <-ctx.Done():
						return
					}
				}
			case err := <-res.Err:
				errs <- err
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, errs
}

func convertEvent(m events.Message) (scheduler.Event, bool) {
	ev := scheduler.Event{ContainerID: m.Actor.ID, Time: time.Unix(0, m.TimeNano)}
	if m.TimeNano == 0 {
		ev.Time = time.Unix(m.Time, 0)
	}
	action := string(m.Action)
	switch {
	case action == "start":
		ev.Action = "start"
	case action == "die":
		ev.Action = "die"
		ev.ExitCode, _ = strconv.Atoi(m.Actor.Attributes["exitCode"])
	case strings.HasPrefix(action, "health_status"):
		ev.Action = "health_status"
		ev.Health = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(action, "health_status"), ":"))
		if ev.Health == "" {
			ev.Health = m.Actor.Attributes["health_status"]
		}
	default:
		return ev, false
	}
	return ev, true
}

// Prepare creates the service's container, or keeps the existing one when
// it runs, its config hash is unchanged and the service is not run fresh.
func (pr *Project) Prepare(ctx context.Context, service string) (scheduler.Container, error) {
	spec := pr.specs[service]
	existing, err := pr.cli.ContainerInspect(ctx, spec.name, client.ContainerInspectOptions{})
	if err == nil {
		c := existing.Container
		same := c.Config != nil && slices.Contains(spec.hashes, c.Config.Labels[LabelConfigHash]) && c.Config.Labels[LabelProject] == pr.project.Name
		if same && !pr.fresh[service] && c.State != nil && c.State.Running {
			return scheduler.Container{ID: c.ID, Reused: true, Healthcheck: hasHealth(c.Config), State: convertState(c.State)}, nil
		}
		if _, err := pr.cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			return scheduler.Container{}, fmt.Errorf("remove previous container %s: %v", spec.name, err)
		}
	} else if !cerrdefs.IsNotFound(err) {
		return scheduler.Container{}, fmt.Errorf("inspect %s: %v", spec.name, err)
	}
	opts := spec.opts
	// API 1.41 takes one endpoint at create time; connect the others after.
	var extra []string
	if opts.NetworkingConfig != nil && len(opts.NetworkingConfig.EndpointsConfig) > 1 {
		first := string(opts.HostConfig.NetworkMode)
		nc := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{first: opts.NetworkingConfig.EndpointsConfig[first]}}
		for n := range opts.NetworkingConfig.EndpointsConfig {
			if n != first {
				extra = append(extra, n)
			}
		}
		sort.Strings(extra)
		opts.NetworkingConfig = nc
	}
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
		return scheduler.Container{}, fmt.Errorf("create %s: %v", spec.name, err)
	}
	pr.mu.Lock()
	pr.created = append(pr.created, res.ID)
	pr.mu.Unlock()
	for _, n := range extra {
		ep := spec.opts.NetworkingConfig.EndpointsConfig[n]
		if _, err := pr.cli.NetworkConnect(ctx, n, client.NetworkConnectOptions{Container: res.ID, EndpointConfig: ep}); err != nil {
			return scheduler.Container{}, fmt.Errorf("connect %s to %s: %v", spec.name, n, err)
		}
	}
	for _, fc := range spec.copies {
		if err := copyFile(ctx, pr.cli, res.ID, fc); err != nil {
			return scheduler.Container{}, fmt.Errorf("copy %s into %s: %v", fc.Path, spec.name, err)
		}
	}
	health := spec.health
	if !health && opts.Config.Healthcheck == nil && imgErr == nil && img.Config != nil && img.Config.Healthcheck != nil {
		t := img.Config.Healthcheck.Test
		health = len(t) > 0 && t[0] != "NONE"
	}
	return scheduler.Container{ID: res.ID, Healthcheck: health}, nil
}

func hasHealth(c *container.Config) bool {
	return c != nil && c.Healthcheck != nil && len(c.Healthcheck.Test) > 0 && c.Healthcheck.Test[0] != "NONE"
}

func copyFile(ctx context.Context, cli *client.Client, id string, fc fileCopy) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir, name := path.Split(fc.Path)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: fc.Mode, Size: int64(len(fc.Content)), ModTime: time.Now()}); err != nil {
		return err
	}
	if _, err := tw.Write(fc.Content); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	// The target folder may not exist in the image: create it by copying
	// a tar of the folder tree from "/".
	var full bytes.Buffer
	tw = tar.NewWriter(&full)
	parts := strings.Split(strings.Trim(dir, "/"), "/")
	prefix := ""
	for _, p := range parts {
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

// Start starts a container.
func (pr *Project) Start(ctx context.Context, id string) error {
	_, err := pr.cli.ContainerStart(ctx, id, client.ContainerStartOptions{})
	return err
}

// Inspect returns a container's state.
func (pr *Project) Inspect(ctx context.Context, id string) (scheduler.State, error) {
	res, err := pr.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return scheduler.State{}, err
	}
	return convertState(res.Container.State), nil
}

func convertState(s *container.State) scheduler.State {
	if s == nil {
		return scheduler.State{}
	}
	st := scheduler.State{Running: s.Running, ExitCode: s.ExitCode}
	st.Exited = !s.Running && (s.Status == container.StateExited || s.Status == container.StateDead)
	st.StartedAt = parseTime(s.StartedAt)
	st.FinishedAt = parseTime(s.FinishedAt)
	if s.Health != nil {
		st.Health = string(s.Health.Status)
		if n := len(s.Health.Log); n > 0 && s.Health.Log[n-1] != nil {
			st.HealthOutput = s.Health.Log[n-1].Output
		}
	}
	return st
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() < 2000 {
		return time.Time{}
	}
	return t
}

// Probe runs the service's own healthcheck test once through exec.
func (pr *Project) Probe(ctx context.Context, service, id string) (bool, string, error) {
	spec := pr.specs[service]
	if spec == nil || len(spec.healthTest) == 0 {
		return false, "", nil
	}
	return Exec(ctx, pr.cli, id, spec.healthTest, spec.healthTimeout)
}

// ProbeContainer runs a container's own configured healthcheck test once
// through exec (the check Docker would record next).
func ProbeContainer(ctx context.Context, cli *client.Client, c container.InspectResponse) (bool, string, error) {
	if c.Config == nil || c.Config.Healthcheck == nil || len(c.Config.Healthcheck.Test) == 0 {
		return false, "", nil
	}
	t := c.Config.Healthcheck.Test
	var cmd []string
	switch t[0] {
	case "CMD":
		cmd = t[1:]
	case "CMD-SHELL":
		cmd = []string{"/bin/sh", "-c", strings.Join(t[1:], " ")}
	default:
		return false, "", nil
	}
	timeout := c.Config.Healthcheck.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	return Exec(ctx, cli, c.ID, cmd, timeout)
}

// Exec runs cmd in a container and reports whether it exited 0, with its
// output.
func Exec(ctx context.Context, cli *client.Client, id string, cmd []string, timeout time.Duration) (bool, string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ex, err := cli.ExecCreate(ctx, id, client.ExecCreateOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return false, "", err
	}
	att, err := cli.ExecAttach(ctx, ex.ID, client.ExecAttachOptions{})
	if err != nil {
		return false, "", err
	}
	defer att.Close()
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(&out, &out, att.Reader)
		done <- err
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return false, "probe timed out", nil
	}
	insp, err := cli.ExecInspect(ctx, ex.ID, client.ExecInspectOptions{})
	if err != nil {
		return false, out.String(), err
	}
	return !insp.Running && insp.ExitCode == 0, out.String(), nil
}

// Stop stops a container, waiting at most 2 s before killing it.
func (pr *Project) Stop(ctx context.Context, id string) error {
	timeout := 2
	_, err := pr.cli.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &timeout})
	return err
}

// Logs returns a container's stdout and stderr, demultiplexed and merged in
// order.
func (pr *Project) Logs(ctx context.Context, id string) ([]byte, error) {
	return Logs(ctx, pr.cli, id)
}

// Logs returns a container's demultiplexed stdout and stderr, merged.
func Logs(ctx context.Context, cli *client.Client, id string) ([]byte, error) {
	rc, err := cli.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, rc); err != nil && !errors.Is(err, io.EOF) {
		return out.Bytes(), err
	}
	return out.Bytes(), nil
}

// ContainerName returns the name of a service's container.
func (pr *Project) ContainerName(service string) string {
	if s := pr.specs[service]; s != nil {
		return s.name
	}
	return ""
}

// CreateOneOff creates (not starts) a one-off container for service with
// the same configuration, named <project>-<service>-<suffix> and labelled
// oneoff=True as `docker compose run` does; an earlier one of that name is
// replaced.
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
	if opts.NetworkingConfig != nil && len(opts.NetworkingConfig.EndpointsConfig) > 1 {
		first := string(opts.HostConfig.NetworkMode)
		opts.NetworkingConfig = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{first: opts.NetworkingConfig.EndpointsConfig[first]}}
	}
	_, _ = pr.cli.ContainerRemove(ctx, opts.Name, client.ContainerRemoveOptions{Force: true})
	res, err := pr.cli.ContainerCreate(ctx, opts)
	if err != nil {
		return "", fmt.Errorf("create %s: %v", opts.Name, err)
	}
	for n, ep := range spec.opts.NetworkingConfig.EndpointsConfig {
		if n == string(opts.HostConfig.NetworkMode) {
			continue
		}
		if _, err := pr.cli.NetworkConnect(ctx, n, client.NetworkConnectOptions{Container: res.ID, EndpointConfig: ep}); err != nil {
			return res.ID, fmt.Errorf("connect %s to %s: %v", opts.Name, n, err)
		}
	}
	for _, fc := range spec.copies {
		if err := copyFile(ctx, pr.cli, res.ID, fc); err != nil {
			return res.ID, fmt.Errorf("copy %s into %s: %v", fc.Path, opts.Name, err)
		}
	}
	return res.ID, nil
}

// Remove removes a container.
func (pr *Project) Remove(ctx context.Context, id string) error {
	_, err := pr.cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true})
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	return err
}
