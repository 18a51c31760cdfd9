// Package scheduler runs a project's services in dependency order, driven by
// the engine's events. It is pure logic over the engine port's Runtime, with
// an injected clock, so it is unit-tested with the in-memory engine
// (internal/engine/memengine) and exercised end to end with the real one.
// What belongs here: when to start what, and how each node ended; not how
// a container is made or what the verdict says.
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
	"time"

	"github.com/infractl/infractl/internal/engine"
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
	// Restart is the container's restart policy mode: "no" (also ""),
	// "on-failure", "always" or "unless-stopped". A node whose policy lets
	// it stay exited ("no", "on-failure") and that exits is a one-shot
	// whatever Init says (Result.Observed); under "on-failure" a non-zero
	// exit with retries left is a retry the engine makes, not the end.
	Restart string
	// MaxRetries bounds on-failure restarts; 0 is unbounded.
	MaxRetries int
	// CreateAfter names the node whose container must exist before this
	// one's is created (a pre_start hook's runner mounts the volumes of its
	// service's container). Empty: created up front with the rest.
	CreateAfter string
}

// mayStayExited reports whether the engine leaves the node's container
// exited once it exits (for on-failure: once it exits 0 or runs out of
// retries).
func (n Node) mayStayExited() bool {
	return n.Restart == "" || n.Restart == "no" || n.Restart == "on-failure"
}

// retries reports whether the engine restarts the node after its n-th
// non-zero exit (Docker's on-failure: while restarts made < MaxRetries).
func (n Node) retries(failures int) bool {
	return n.Restart == "on-failure" && (n.MaxRetries == 0 || failures <= n.MaxRetries)
}

// Runtime is the engine the scheduler drives (the port's narrowest part).
type Runtime = engine.Runtime

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
	// Observed is true when a node not declared an init turned out to be a
	// one-shot: its restart policy let it stay exited, and it exited.
	Observed bool
	// Retries counts the restarts its on-failure policy made the engine do
	// (each after a non-zero exit); Restarting is true between such an
	// exit and the restart.
	Retries    int
	Restarting bool
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
	// EngineLossTimeout ends the run with an engine error when the engine
	// stays unreachable this long (broken event stream, failed inspects).
	EngineLossTimeout time.Duration
	// Observer, when set, is told about every change of a node (live view).
	Observer func(Result)
	// Trace, when set, is told about every container start (benchmarks).
	// It is called from the goroutine that made the call.
	Trace func(Dispatch)
	// Idle, when set, is called each time the scheduler has nothing in
	// flight and no input waiting, just before it blocks: a test advances
	// its fake clock only when received (the engine events and ticks the
	// scheduler has taken) equals what it delivered, so every run of a test
	// is the same.
	Idle func(received int)
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

const defaultSafetyInterval = 2 * time.Second

// TickEvery is how often the scheduler wakes by itself (safety inspects
// and probes): the shorter of SafetyInterval (default 2 s) and
// ProbeInterval.
func (o Options) TickEvery() time.Duration {
	d := o.SafetyInterval
	if d <= 0 {
		d = defaultSafetyInterval
	}
	if o.ProbeInterval > 0 && o.ProbeInterval < d {
		d = o.ProbeInterval
	}
	return d
}
