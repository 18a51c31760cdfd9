// Package engine is the port between infractl's logic and a container
// engine: the calls infractl makes (prepare, start, stop, remove, events,
// inspect, exec probes, logs, one-off containers, networks and volumes), the
// state and event types, and the single definition of "finished",
// "healthy" and "unchanged" that up and verify share.
//
// What belongs here: types and rules that hold for any engine. What does
// not: how one engine is driven. internal/dockerapi implements the port for
// one Docker engine (the moby client stays there); memengine implements it
// in memory for unit tests. A Swarm orchestrator would be another
// implementation: services and tasks instead of containers are that
// adapter's business.
package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
)

// Error categories, for exit codes: an implementation wraps its errors with
// one of them (fmt.Errorf("...: %w", ErrEngine)).
var (
	// ErrEngine means the engine is unreachable or failed (exit 3).
	ErrEngine = errors.New("docker engine error")
	// ErrLost means the engine stopped answering and was given up: every
	// call fails with it at once. It is also an ErrEngine.
	ErrLost = fmt.Errorf("the Docker engine stopped answering: %w", ErrEngine)
	// ErrUnsupported means the project cannot be run as written: unsupported
	// keys, a missing image, a name owned by someone else (exit 2). Nothing
	// has been created when it is returned.
	ErrUnsupported = errors.New("cannot run this project")
	// ErrConflict means an object the project needs (a container name, a
	// network, a volume) exists and is not the project's (exit 2).
	ErrConflict = errors.New("name conflict")
)

// Health statuses, as the engine reports them.
const (
	HealthNone      = ""
	HealthStarting  = "starting"
	HealthHealthy   = "healthy"
	HealthUnhealthy = "unhealthy"
)

// State is a container's state.
type State struct {
	// Running is true while its process runs (also when paused or
	// restarting).
	Running bool
	// Exited is true once it stopped after having run: the engine's
	// "exited" or "dead".
	Exited   bool
	ExitCode int
	// Restarting is true between an exit and the engine's restart of it
	// (its restart policy); Running is true then too.
	Restarting bool
	// Health is HealthNone (no healthcheck), starting, healthy or
	// unhealthy.
	Health string
	// HealthOutput is the output of the last healthcheck run.
	HealthOutput string
	// HealthLog are the engine's recorded healthcheck runs, oldest first.
	HealthLog  []HealthRun
	StartedAt  time.Time
	FinishedAt time.Time
}

// HealthRun is one recorded healthcheck run.
type HealthRun struct {
	End      time.Time
	ExitCode int
	Output   string
}

// NeverStarted reports a container that was created and never started.
func (s State) NeverStarted() bool { return !s.Running && !s.Exited && s.StartedAt.IsZero() }

// Finished reports a container that ran and stopped: a one-shot's end.
func (s State) Finished() bool { return s.Exited && !s.Running }

// Succeeded reports a one-shot that finished with exit code 0.
func (s State) Succeeded() bool { return s.Finished() && s.ExitCode == 0 }

// Healthy reports a running container whose healthcheck passed.
func (s State) Healthy() bool { return s.Running && s.Health == HealthHealthy }

// Ready reports a running service that something may depend on: healthy
// when it has a healthcheck, running when it has none.
func (s State) Ready() bool {
	return s.Running && (s.Health == HealthNone || s.Health == HealthHealthy)
}

// Event actions.
const (
	ActionStart  = "start"
	ActionDie    = "die"
	ActionHealth = "health_status"
)

// Event is a container event of the project.
type Event struct {
	ContainerID string
	// Action is ActionStart, ActionDie or ActionHealth.
	Action   string
	ExitCode int
	// Health is the status of a health_status event.
	Health string
	// Time is the engine's timestamp.
	Time time.Time
}

// Prepared is the container Prepare returns: a new one to start, or the
// one that already runs (a kept backend).
type Prepared struct {
	ID string
	// Reused is true when an existing container was kept (unchanged).
	Reused bool
	// Healthcheck is true when the container has a healthcheck (from the
	// compose file or the image).
	Healthcheck bool
	// State is its state when prepared (for a reused container).
	State State
	// Settled is true when there is nothing to run: a pre_start hook of a
	// service whose container is kept running (compose runs hooks only
	// before a start). ID is empty then.
	Settled bool
}

// Runtime is what the scheduler drives: the narrowest part of the port.
type Runtime interface {
	// Events streams the project's container events from now on. The error
	// channel receives one error when the stream breaks.
	Events(ctx context.Context) (<-chan Event, <-chan error)
	// Prepare creates the container of a service (or keeps an unchanged
	// one; see Decide).
	Prepare(ctx context.Context, service string) (Prepared, error)
	// Start starts a prepared container.
	Start(ctx context.Context, id string) error
	// Inspect returns a container's state.
	Inspect(ctx context.Context, id string) (State, error)
	// Probe runs the service's own healthcheck test once inside the
	// container (exec) and reports whether it passed, with its output.
	Probe(ctx context.Context, service, id string) (bool, string, error)
	// Stop stops a container.
	Stop(ctx context.Context, id string) error
}

// Container is what the engine knows about one container of the project.
type Container struct {
	ID   string
	Name string
	// Service is the compose service it belongs to.
	Service string
	// OneOff marks `docker compose run` style containers (and verify's).
	OneOff bool
	Labels map[string]string
	// Image, Cmd and Entrypoint as the container was created.
	Image      string
	Cmd        []string
	Entrypoint []string
	State      State
	// HealthTest is its configured healthcheck test as exec arguments
	// (empty: none), with its timeout.
	HealthTest    []string
	HealthTimeout time.Duration
	// Addresses are its IP addresses, each with the names Docker DNS
	// resolves to it on that network (service, aliases, container name).
	Addresses []Address
}

// Address is one network endpoint of a container.
type Address struct {
	IP    string
	Names []string
}

// Watcher is what waiting on containers needs: events and inspect.
type Watcher interface {
	Events(ctx context.Context) (<-chan Event, <-chan error)
	Inspect(ctx context.Context, id string) (State, error)
}

// Observer is the read-only view of one compose project on an engine, what
// verify needs to judge a project whoever started it.
type Observer interface {
	Watcher
	// Containers lists the project's containers, whoever created them,
	// sorted by service then creation.
	Containers(ctx context.Context) ([]Container, error)
	// Logs returns a container's stdout and stderr, demultiplexed.
	Logs(ctx context.Context, id string) ([]byte, error)
	// ProbeContainer runs a container's configured healthcheck test once.
	ProbeContainer(ctx context.Context, c Container) (bool, string, error)
	// Dial connects to addr from where the project's containers are, with
	// service names, aliases and container names of containers resolved as
	// Docker DNS resolves them.
	Dial(ctx context.Context, containers []Container, network, addr string) (net.Conn, error)
}

// Project is the port for running one compose project on one engine: what
// up and verify's reruns need beyond observing it.
type Project interface {
	Observer
	Runtime
	// EnsureResources creates the project's networks and volumes that do
	// not exist yet; one that exists and is not the project's is an
	// ErrConflict. Warnings are for the user (a volume made by hand).
	EnsureResources(ctx context.Context) (warnings []string, err error)
	// ContainerName is the name of a service's container.
	ContainerName(service string) string
	// CreateOneOff creates (not starts) a one-off container of service with
	// its configuration, named <project>-<service>-<suffix>.
	CreateOneOff(ctx context.Context, service, suffix string) (string, error)
	// Remove removes a container (gone already is success).
	Remove(ctx context.Context, id string) error
}

// Engine is a connected engine.
type Engine interface {
	// Check refuses what this engine cannot run in p (unsupported keys,
	// build keys it cannot build) with ErrUnsupported, without calling
	// the engine: up checks before it builds or creates anything.
	Check(p *types.Project) error
	// Project checks that every enabled service of p can run (supported
	// keys, images present) and returns its port; nothing is created.
	// policy says, per node (service, replica or hook), what Prepare does
	// with an existing container (absent: KeepUnchanged).
	Project(ctx context.Context, p *types.Project, policy map[string]Policy) (Project, error)
	// Observe returns the read-only view of a project; nothing is checked
	// or created.
	Observe(project string) Observer
	// Down removes a project's containers and networks (and volumes).
	Down(ctx context.Context, project string, opts DownOptions) (DownReport, error)
	// Build builds the image of a service that has build: when it is
	// missing, or always with force, and reports whether it built; out
	// receives the build's output lines.
	Build(ctx context.Context, p *types.Project, service string, force bool, out func(string)) (bool, error)
	// Endpoint names the engine (its host), for messages.
	Endpoint() string
	// ID is the engine's identity (its ID from /info): the same engine
	// reached through two spellings of its address has one ID.
	ID(ctx context.Context) (string, error)
	io.Closer
}

// DownOptions select what Down removes.
type DownOptions struct {
	// Services are the project's services (enabled and disabled); only
	// their containers are removed unless RemoveOrphans is set. Nil means
	// every container of the project (down -p NAME without a file).
	Services []string
	// Volumes also removes the project's named volumes.
	Volumes bool
	// RemoveOrphans removes containers of services the project no longer
	// defines.
	RemoveOrphans bool
	// OnlyOrphans removes only those (up --remove-orphans): the services'
	// containers, networks and volumes stay.
	OnlyOrphans bool
	// StopTimeout is how long a running container may take to stop before
	// it is killed (down -t); nil: each container's own (stop_grace_period,
	// else the engine's 10 s).
	StopTimeout *int
	// RemoveImages is down --rmi: "all" removes the images the removed
	// containers ran, "local" only those without a custom tag (the name
	// docker compose gives a built image, <project>-<service>); "": none.
	RemoveImages string
	// Only, when set, removes just these containers (by name) of the
	// project, as down stops them; networks and volumes stay (up's scale
	// down).
	Only []string
	// Progress, when set, hears of each container, network and volume as
	// it is removed (kind is "container", "network" or "volume").
	Progress func(kind, name string)
}

// DownReport says what Down removed, sorted.
type DownReport struct {
	Containers, Networks, Volumes, Images, Kept []string
}
