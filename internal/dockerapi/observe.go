package dockerapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"

	"github.com/infractl/infractl/internal/compose"
	"github.com/infractl/infractl/internal/engine"
)

// observer is the read-only view of one project. It implements
// engine.Observer.
type observer struct {
	cli     *client.Client
	project string
	// through is set on a remote engine: dial from a helper container on
	// the project's networks (dial.go), not from this machine.
	through *helpers
}

var _ engine.Observer = (*observer)(nil)

// Observe returns the read-only view of a project.
func (e *Engine) Observe(project string) engine.Observer {
	o := &observer{cli: e.cli, project: project}
	if e.Remote() || InContainer() {
		// The project's networks are not reachable from here: a remote
		// engine's, or this machine's seen from inside a container (the
		// infractl image with the socket mounted).
		o.through = &e.helpers
	}
	return o
}

// Events streams the project's container events.
func (o *observer) Events(ctx context.Context) (<-chan engine.Event, <-chan error) {
	f := client.Filters{}
	f.Add("type", "container")
	f.Add("label", LabelProject+"="+o.project)
	res := o.cli.Events(ctx, client.EventsListOptions{Filters: f})
	out := make(chan engine.Event, 256)
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
				if err == nil {
					err = io.ErrUnexpectedEOF
				}
				errs <- err
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, errs
}

func convertEvent(m events.Message) (engine.Event, bool) {
	ev := engine.Event{ContainerID: m.Actor.ID, Time: time.Unix(0, m.TimeNano)}
	if m.TimeNano == 0 {
		ev.Time = time.Unix(m.Time, 0)
	}
	action := string(m.Action)
	switch {
	case action == "start":
		ev.Action = engine.ActionStart
	case action == "die":
		ev.Action = engine.ActionDie
		ev.ExitCode, _ = strconv.Atoi(m.Actor.Attributes["exitCode"])
	case strings.HasPrefix(action, "health_status"):
		ev.Action = engine.ActionHealth
		ev.Health = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(action, "health_status"), ":"))
		if ev.Health == "" {
			ev.Health = m.Actor.Attributes["health_status"]
		}
	default:
		return ev, false
	}
	return ev, true
}

// Inspect returns a container's state.
func (o *observer) Inspect(ctx context.Context, id string) (engine.State, error) {
	res, err := o.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		// A container that is gone is not the engine's failure.
		return engine.State{}, fmt.Errorf("inspect %s: %w", id, classify(err))
	}
	return convertState(res.Container.State), nil
}

func convertState(s *container.State) engine.State {
	if s == nil {
		return engine.State{}
	}
	st := engine.State{Running: s.Running, Restarting: s.Restarting, ExitCode: s.ExitCode}
	st.Exited = !s.Running && (s.Status == container.StateExited || s.Status == container.StateDead)
	st.StartedAt = parseTime(s.StartedAt)
	st.FinishedAt = parseTime(s.FinishedAt)
	if s.Health != nil {
		st.Health = string(s.Health.Status)
		for _, l := range s.Health.Log {
			if l != nil {
				st.HealthLog = append(st.HealthLog, engine.HealthRun{End: l.End, ExitCode: l.ExitCode, Output: l.Output})
			}
		}
		if n := len(st.HealthLog); n > 0 {
			st.HealthOutput = st.HealthLog[n-1].Output
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

// Containers lists every container of the project, whoever created it
// (docker compose or infractl), sorted by service name then creation.
func (o *observer) Containers(ctx context.Context) ([]engine.Container, error) {
	f := client.Filters{}
	f.Add("label", LabelProject+"="+o.project)
	res, err := o.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, engineErr("list containers", err)
	}
	items := res.Items
	sort.SliceStable(items, func(i, j int) bool {
		return items[i].Labels[LabelService] < items[j].Labels[LabelService] ||
			items[i].Labels[LabelService] == items[j].Labels[LabelService] && items[i].Created < items[j].Created
	})
	out := make([]engine.Container, 0, len(items))
	for _, s := range items {
		insp, err := o.cli.ContainerInspect(ctx, s.ID, client.ContainerInspectOptions{})
		if err != nil {
			if isNotFound(err) {
				continue // removed meanwhile
			}
			return nil, engineErr("inspect "+s.ID, err)
		}
		out = append(out, convertContainer(insp.Container))
	}
	return out, nil
}

func convertContainer(c container.InspectResponse) engine.Container {
	ec := engine.Container{ID: c.ID, Name: strings.TrimPrefix(c.Name, "/"), State: convertState(c.State)}
	if c.Config != nil {
		ec.Labels = c.Config.Labels
		ec.Service = c.Config.Labels[LabelService]
		if c.Config.Labels[LabelHook] == "pre_start" {
			// A hook's runner stands for its hook node, not its service.
			if i, err := strconv.Atoi(c.Config.Labels[LabelHookIndex]); err == nil {
				ec.Service = compose.HookName(ec.Service, i)
			}
		}
		ec.OneOff = c.Config.Labels[LabelOneoff] == "True"
		ec.Image = c.Config.Image
		ec.Cmd = c.Config.Cmd
		ec.Entrypoint = c.Config.Entrypoint
		ec.HealthTest, ec.HealthTimeout = execTest(c.Config.Healthcheck)
	}
	if c.NetworkSettings != nil {
		for _, ep := range c.NetworkSettings.Networks {
			if ep == nil || !ep.IPAddress.IsValid() {
				continue
			}
			a := engine.Address{IP: ep.IPAddress.String()}
			if ec.Service != "" {
				a.Names = append(a.Names, ec.Service)
			}
			a.Names = append(a.Names, ec.Name)
			a.Names = append(a.Names, ep.Aliases...)
			ec.Addresses = append(ec.Addresses, a)
		}
		sort.Slice(ec.Addresses, func(i, j int) bool { return ec.Addresses[i].IP < ec.Addresses[j].IP })
	}
	return ec
}

// execTest turns a healthcheck test into exec arguments.
func execTest(hc *container.HealthConfig) ([]string, time.Duration) {
	if hc == nil || len(hc.Test) == 0 {
		return nil, 0
	}
	timeout := hc.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	switch hc.Test[0] {
	case "CMD":
		return hc.Test[1:], timeout
	case "CMD-SHELL":
		return []string{"/bin/sh", "-c", strings.Join(hc.Test[1:], " ")}, timeout
	}
	return nil, 0
}

// ProbeContainer runs a container's own configured healthcheck test once
// through exec (the check Docker would record next).
func (o *observer) ProbeContainer(ctx context.Context, c engine.Container) (bool, string, error) {
	if len(c.HealthTest) == 0 {
		return false, "", nil
	}
	return execOnce(ctx, o.cli, c.ID, c.HealthTest, c.HealthTimeout)
}

// Logs returns a container's demultiplexed stdout and stderr, merged.
func (o *observer) Logs(ctx context.Context, id string) ([]byte, error) {
	insp, err := o.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return nil, engineErr("inspect "+id, err)
	}
	tty := insp.Container.Config != nil && insp.Container.Config.Tty
	// A logging driver that ships elsewhere (loki, ...) may leave nothing
	// to read back (no dual-logging cache on engine 20.10 with the Loki 1.6
	// driver): the answer is then empty, and the lines are where the driver
	// sent them.
	return o.readLogs(ctx, id, tty)
}

func (o *observer) readLogs(ctx context.Context, id string, tty bool) ([]byte, error) {
	rc, err := o.cli.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return nil, engineErr("logs of "+id, err)
	}
	defer rc.Close()
	var out bytes.Buffer
	// A container with a TTY has one raw stream, not stdout and stderr
	// multiplexed: read it as it is.
	if tty {
		if _, err := io.Copy(&out, rc); err != nil {
			return out.Bytes(), engineErr("logs of "+id, err)
		}
		return out.Bytes(), nil
	}
	if _, err := stdcopy.StdCopy(&out, &out, rc); err != nil && !errors.Is(err, io.EOF) {
		return out.Bytes(), err
	}
	return out.Bytes(), nil
}

// Dial resolves service names, aliases and container names to the
// containers' addresses (as Docker DNS does inside the network) and dials
// from this host.
func (o *observer) Dial(ctx context.Context, containers []engine.Container, network, addr string) (net.Conn, error) {
	if o.through != nil {
		return dialThrough(ctx, o.cli, o.through, o.project, network, addr)
	}
	host, port, err := net.SplitHostPort(addr)
	if err == nil {
		if ip := resolve(containers, host); ip != "" {
			addr = net.JoinHostPort(ip, port)
		}
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

func resolve(containers []engine.Container, host string) string {
	for _, c := range containers {
		for _, a := range c.Addresses {
			for _, n := range a.Names {
				if n == host {
					return a.IP
				}
			}
		}
	}
	return ""
}

// execOnce runs cmd in a container and reports whether it exited 0, with
// its output. A command that outlives timeout is killed, as Docker kills a
// healthcheck that times out, so a hanging probe never piles up processes
// in the backend.
func execOnce(ctx context.Context, cli *client.Client, id string, cmd []string, timeout time.Duration) (bool, string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	token := probeToken()
	ex, err := cli.ExecCreate(ctx, id, client.ExecCreateOptions{Cmd: cmd, Env: []string{probeEnv + "=" + token}, AttachStdout: true, AttachStderr: true})
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
		killProbe(context.WithoutCancel(ctx), cli, id, token)
		return false, fmt.Sprintf("probe timed out after %s", timeout), nil
	}
	insp, err := cli.ExecInspect(ctx, ex.ID, client.ExecInspectOptions{})
	if err != nil {
		return false, out.String(), err
	}
	return !insp.Running && insp.ExitCode == 0, out.String(), nil
}

// probeEnv marks the processes of one probe: the engine has no API to stop
// an exec, and the exec's pid is the host's, so the processes to kill are
// found inside the container by this variable, which their children
// inherit.
const probeEnv = "INFRACTL_PROBE"

func probeToken() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// killProbe kills every process of a timed-out probe with a second exec
// (best effort: an image without a shell keeps them, as it would keep a
// hanging healthcheck of its own).
func killProbe(ctx context.Context, cli *client.Client, id, token string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	script := `for d in /proc/[0-9]*; do grep -q "` + probeEnv + `=` + token + `" "$d/environ" 2>/dev/null && kill -9 "${d#/proc/}" 2>/dev/null; done; true`
	ex, err := cli.ExecCreate(ctx, id, client.ExecCreateOptions{Cmd: []string{"/bin/sh", "-c", script}})
	if err != nil {
		return
	}
	_, _ = cli.ExecStart(ctx, ex.ID, client.ExecStartOptions{})
	// Wait for the kill to finish, so the caller's next probe finds none.
	for range 50 {
		insp, err := cli.ExecInspect(ctx, ex.ID, client.ExecInspectOptions{})
		if err != nil || !insp.Running {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}
