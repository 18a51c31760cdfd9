// Package scheduler runs a project's services in dependency order, driven by
// the engine's events. It is pure logic over a narrow Runtime interface (the
// engine calls infractl needs), with an injected clock, so it is unit-tested
// with an in-memory engine and exercised end to end with the real one.
//
// A service starts the moment every depends_on condition it has holds:
// service_started (its target started), service_healthy (its target's
// healthcheck passed, seen from the engine's health_status event or from
// infractl running the same test itself through exec) or
// service_completed_successfully (its target exited 0). A failure marks
// everything that transitively waits on it "blocked by" it; independent
// branches finish.
package scheduler

import (
	"context"
	"time"
)

// Condition is a depends_on condition.
type Condition string

// The depends_on conditions.
const (
	Started   Condition = "service_started"
	Healthy   Condition = "service_healthy"
	Completed Condition = "service_completed_successfully"
)

// Dep is one depends_on entry of a node.
type Dep struct {
	Target    string
	Condition Condition
	Required  bool
}

// Node is a service to run.
type Node struct {
	Name string
	// Init nodes are one-shot: they succeed when they exit 0.
	Init bool
	Deps []Dep
}

// Container is what Runtime.Prepare returns: the container to start, or
// the one that already runs (a kept backend).
type Container struct {
	ID string
	// Reused is true when an existing container was kept (unchanged config).
	Reused bool
	// Healthcheck is true when the container has a healthcheck (from the
	// compose file or the image).
	Healthcheck bool
	// State is its state when prepared (for a reused container).
	State State
}

// State is a container's state as the engine reports it.
type State struct {
	Running  bool
	Exited   bool
	ExitCode int
	// Health is "", "starting", "healthy" or "unhealthy"; "" means the
	// container has no healthcheck.
	Health string
	// HealthOutput is the output of the last healthcheck run.
	HealthOutput string
	StartedAt    time.Time
	FinishedAt   time.Time
}

// Event is a container event from the engine.
type Event struct {
	ContainerID string
	// Action is "start", "die" or "health_status".
	Action   string
	ExitCode int
	// Health is the status of a health_status event.
	Health string
	Time   time.Time
}

// Runtime is the narrow engine interface the scheduler drives.
type Runtime interface {
	// Events streams container events of the project, from now on.
	Events(ctx context.Context) (<-chan Event, <-chan error)
	// Prepare creates the container of a node (or keeps an unchanged one).
	Prepare(ctx context.Context, node string) (Container, error)
	// Start starts a prepared container.
	Start(ctx context.Context, id string) error
	// Inspect returns a container's state.
	Inspect(ctx context.Context, id string) (State, error)
	// Probe runs the node's own healthcheck test once inside the container
	// (exec) and reports whether it passed, with its output.
	Probe(ctx context.Context, node, id string) (bool, string, error)
	// Stop stops a container (Ctrl-C, timeouts).
	Stop(ctx context.Context, id string) error
}

// Outcome is how a node ended.
type Outcome string

// Outcomes, as the verdict prints them.
const (
	OK          Outcome = "ok"
	Failed      Outcome = "failed"
	Blocked     Outcome = "blocked"
	Unhealthy   Outcome = "unhealthy"
	TimedOut    Outcome = "timed out"
	Interrupted Outcome = "interrupted"
	Error       Outcome = "error"
)

// Result is the record of one node's run.
type Result struct {
	Name        string
	Init        bool
	Outcome     Outcome
	ExitCode    int
	BlockedBy   string
	Detail      string
	ContainerID string
	Reused      bool
	// Times, zero when it did not happen.
	Prepared  time.Time
	DepsReady time.Time
	Started   time.Time
	Ready     time.Time
	Exited    time.Time
	// ReadyBy says which source saw a healthy service ready first:
	// "healthcheck" (the engine) or "probe" (infractl's exec).
	ReadyBy string
}

// Options tune a run.
type Options struct {
	// Parallel bounds the inits running at once; 0 is unbounded.
	Parallel int
	// InitTimeout bounds an init's run, from start to exit.
	InitTimeout time.Duration
	// ReadyTimeout bounds the time a service may take to become ready
	// (healthy, or started when it has no healthcheck) after it started.
	ReadyTimeout time.Duration
	// ProbeInterval is how often a starting service's healthcheck is run
	// through exec while something waits on it; 0 disables probing.
	ProbeInterval time.Duration
	// SafetyInterval is how often started, unfinished containers are
	// inspected, so a missed event cannot hang the run.
	SafetyInterval time.Duration
	// Observer, when set, is told about every change of a node (live view).
	Observer func(Result)
	// Trace, when set, is told about every container start (benchmarks).
	// It is called from the goroutine that made the call.
	Trace func(Dispatch)
}

// Input is one thing the scheduler learned: an engine event, or the end of
// an API call or probe it made.
type Input struct {
	Node string `json:"service"`
	// Action is "start", "die", "health_status: healthy", "prepared",
	// "started", "probed" or "inspected".
	Action string `json:"action"`
	// EngineTime is the engine's timestamp of an event (zero otherwise).
	EngineTime time.Time `json:"engineTime,omitzero"`
	// Received is when the scheduler took it from its inbox.
	Received time.Time `json:"received"`
}

// Dispatch records one container start the scheduler made, with the input
// that made its conditions hold (the last one it processed before starting
// it), so the time from an engine event to infractl's API call can be
// measured (make bench).
type Dispatch struct {
	Node    string `json:"service"`
	Trigger Input  `json:"trigger"`
	// Called and Returned bracket the ContainerStart call.
	Called   time.Time `json:"called"`
	Returned time.Time `json:"returned"`
}
