package dockerapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/infractl/infractl/internal/compose"
	"github.com/infractl/infractl/internal/endpoint"
	"github.com/infractl/infractl/internal/engine"
	"github.com/infractl/infractl/internal/fileobj"
)

// Swarm is a Docker Swarm manager as the engine port: the same scheduler
// drives it, with Swarm services where one engine has containers. A node's
// "container ID" is its service's name, <stack>_<service>; its state is
// the aggregate of the service's current tasks (every desired replica up,
// healthy; a job's tasks of its current iteration complete).
//
// Swarm has events for services but none for tasks: the local engine's
// container events (tasks on this node) are taken as they come, and the
// task list is read every SwarmPoll for the rest (tasks on other nodes).
type Swarm struct {
	*Engine
	nodeID string
}

var _ engine.Engine = (*Swarm)(nil)

// SwarmPoll is how often the task list is read for state the local engine's
// events do not carry (tasks on other nodes).
var SwarmPoll = 250 * time.Millisecond

// ConnectSwarm connects to the engine as ConnectTo does and checks that it
// is an active Swarm manager.
func ConnectSwarm(ctx context.Context, ep endpoint.Endpoint, env endpoint.Getenv) (*Swarm, error) {
	e, err := ConnectTo(ctx, ep, env)
	if err != nil {
		return nil, err
	}
	info, err := e.cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		e.Close()
		return nil, engineErr("engine info", err)
	}
	sw := info.Info.Swarm
	switch {
	case sw.LocalNodeState != swarm.LocalNodeStateActive:
		e.Close()
		return nil, fmt.Errorf("engine %s is not part of a Swarm (its state: %q): run `docker swarm init` there, or point at a manager with --context, -H or DOCKER_HOST: %w",
			e.Endpoint(), orDefault(string(sw.LocalNodeState), "inactive"), engine.ErrEngine)
	case !sw.ControlAvailable:
		e.Close()
		return nil, fmt.Errorf("engine %s is a Swarm worker; --orchestrator swarm needs a manager (docker node ls there lists them): %w", e.Endpoint(), engine.ErrEngine)
	}
	return &Swarm{Engine: e, nodeID: sw.NodeID}, nil
}

// Build refuses: on Swarm an image must be on every node that runs it.
func (s *Swarm) Build(_ context.Context, _ *types.Project, service string, _ bool, _ func(string)) (bool, error) {
	return false, fmt.Errorf("service %q: %s: %w", service, swarmUnsupported["build"], engine.ErrUnsupported)
}

// Project checks that every service can run on Swarm and returns its port;
// nothing is created.
// Check refuses what Swarm cannot run (see engine.Engine).
func (s *Swarm) Check(p *types.Project) error {
	if problems := swarmProblems(p); len(problems) > 0 {
		return fmt.Errorf("%s: %w", strings.Join(problems, "; "), engine.ErrUnsupported)
	}
	return nil
}

// swarmProblems names, per service, what Swarm refuses.
func swarmProblems(p *types.Project) []string {
	var problems []string
	for _, name := range p.ServiceNames() {
		for _, k := range swarmRefused(p.Services[name]) {
			problems = append(problems, fmt.Sprintf("service %q: %s", name, k))
		}
	}
	return problems
}

func (s *Swarm) Project(ctx context.Context, p *types.Project, policy map[string]engine.Policy) (engine.Project, error) {
	m, err := compose.NewModel(p)
	if err != nil {
		return nil, err
	}
	problems := swarmProblems(p)
	images := map[string][]string{}
	for _, name := range p.ServiceNames() {
		sc := p.Services[name]
		if sc.Image == "" {
			problems = append(problems, fmt.Sprintf("service %q has no image: (on Swarm every node runs a named image)", name))
			continue
		}
		images[sc.Image] = append(images[sc.Image], name)
		for i, h := range sc.PreStart {
			if h.Image != "" {
				images[h.Image] = append(images[h.Image], compose.HookName(name, i))
			}
		}
	}
	for _, img := range slices.Sorted(maps.Keys(images)) {
		if _, err := s.cli.ImageInspect(ctx, img); err != nil {
			if !cerrdefs.IsNotFound(err) {
				return nil, engineErr("inspect image "+img, err)
			}
			problems = append(problems, fmt.Sprintf("image %q of service %s is not on this node; infractl does not pull images yet: pull it on the nodes first (docker pull %s)", img, quoteJoin(images[img]), img))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s: %w", strings.Join(problems, "; "), engine.ErrUnsupported)
	}
	sp := s.newProject(p.Name)
	sp.p, sp.policy = p, policy
	for _, n := range m.Names {
		sv := m.Services[n]
		mode := ""
		if d := sv.Config.Deploy; d != nil {
			mode = d.Mode
		}
		sp.jobs[n] = sv.Role == compose.RoleInit || sv.Hook != nil || mode == "replicated-job" || mode == "global-job"
	}
	return sp, nil
}

// Observe returns the read-only view of a stack.
func (s *Swarm) Observe(project string) engine.Observer { return s.newProject(project) }

func (s *Swarm) newProject(stack string) *swarmProject {
	return &swarmProject{cli: s.cli, stack: stack, nodeID: s.nodeID, helpers: &s.helpers,
		jobs: map[string]bool{}, obs: map[string]taskObs{}, iter: map[string]uint64{}, last: map[string]engine.State{}, active: map[string]bool{}}
}

// swarmProject is one stack on Swarm: engine.Project, and the observer.
type swarmProject struct {
	cli     *client.Client
	p       *types.Project // nil for a plain observer
	stack   string
	policy  map[string]engine.Policy
	nodeID  string
	helpers *helpers
	jobs    map[string]bool // node -> runs as a job

	once  sync.Once
	err   error
	svcs  map[string]*swarmService // node -> service, once resources exist
	named map[string]*swarmService // Swarm name -> service

	mu     sync.Mutex
	obs    map[string]taskObs      // task ID -> what the local engine said
	iter   map[string]uint64       // job name -> its iteration this run started
	last   map[string]engine.State // name -> the state last reported as events
	active map[string]bool         // names started or prepared this run
}

// taskObs is what the local engine's container events said of a task,
// ahead of the manager's task state.
type taskObs struct {
	started, exited bool
	code            int
	health          string
	at              time.Time
}

// EnsureResources creates the stack's overlay networks, secrets and
// configs (volumes are made by Swarm on the node that runs a task).
func (sp *swarmProject) EnsureResources(ctx context.Context) ([]string, error) {
	sp.once.Do(func() { sp.err = sp.ensure(ctx) })
	return nil, sp.err
}

func (sp *swarmProject) ensure(ctx context.Context) error {
	p := sp.p
	res := swarmResources{nets: map[string]string{}, secrets: map[string]string{}, configs: map[string]string{}}
	used := map[string]bool{}
	for _, sc := range p.Services {
		for k := range sc.Networks {
			used[k] = true
		}
		if len(sc.Networks) == 0 {
			used["default"] = true
		}
	}
	for _, key := range slices.Sorted(maps.Keys(used)) {
		def := p.Networks[key]
		name := stackName(p.Name, key)
		if def.Name != "" && (bool(def.External) || def.Name != p.Name+"_"+key) {
			name = def.Name
		}
		res.nets[key] = name
		if bool(def.External) {
			if _, err := sp.cli.NetworkInspect(ctx, name, client.NetworkInspectOptions{}); err != nil {
				return fmt.Errorf("external network %q of network %q is not on the Swarm: %w", name, key, engine.ErrUnsupported)
			}
			continue
		}
		n, err := sp.cli.NetworkInspect(ctx, name, client.NetworkInspectOptions{})
		if err == nil {
			if n.Network.Labels[LabelStackNamespace] != p.Name {
				return engine.ConflictError("network", name, key, n.Network.Labels)
			}
			continue
		} else if !cerrdefs.IsNotFound(err) {
			return engineErr("inspect network "+name, err)
		}
		labels := map[string]string{LabelStackNamespace: p.Name, LabelManagedBy: "infractl"}
		maps.Copy(labels, def.Labels)
		driver := orDefault(def.Driver, "overlay")
		// Attachable: verify's dial helper and one-off checks join it.
		if _, err := sp.cli.NetworkCreate(ctx, name, client.NetworkCreateOptions{Driver: driver, Scope: "swarm", Options: def.DriverOpts,
			Internal: def.Internal, Attachable: true, Labels: labels}); err != nil {
			return engineErr("create network "+name, err)
		}
	}
	for _, kind := range []string{"secret", "config"} {
		defs := map[string]types.FileObjectConfig{}
		if kind == "secret" {
			for k, v := range p.Secrets {
				defs[k] = types.FileObjectConfig(v)
			}
		} else {
			for k, v := range p.Configs {
				defs[k] = types.FileObjectConfig(v)
			}
		}
		for _, key := range slices.Sorted(maps.Keys(defs)) {
			id, err := sp.ensureObject(ctx, kind, key, defs[key])
			if err != nil {
				return err
			}
			if kind == "secret" {
				res.secrets[key] = id
			} else {
				res.configs[key] = id
			}
		}
	}
	sp.svcs, sp.named = map[string]*swarmService{}, map[string]*swarmService{}
	for _, name := range p.ServiceNames() {
		sc := p.Services[name]
		s, err := buildSwarmService(p, sc, stackName(p.Name, name), sp.jobs[name], res)
		if err != nil {
			return fmt.Errorf("%w: %w", err, engine.ErrUnsupported)
		}
		sp.svcs[name], sp.named[s.name] = s, s
		for i := range sc.PreStart {
			h := hookConfig(p, sc, i)
			// The hook sees what its service will see: its volumes, networks,
			// secrets and configs.
			h.Volumes, h.Networks, h.Secrets, h.Configs = sc.Volumes, sc.Networks, sc.Secrets, sc.Configs
			h.Restart = "no"
			node := compose.HookName(name, i)
			hs, err := buildSwarmService(p, h, stackName(p.Name, name+"-pre_start-"+strconv.Itoa(i)), true, res)
			if err != nil {
				return fmt.Errorf("%w: %w", err, engine.ErrUnsupported)
			}
			hs.node, hs.service = node, name
			hs.spec.Labels[LabelHook], hs.spec.Labels[LabelHookIndex] = "pre_start", strconv.Itoa(i)
			delete(hs.spec.Labels, LabelConfigHash)
			sp.svcs[node], sp.named[hs.name] = hs, hs
		}
	}
	return nil
}

// ensureObject creates a secret or config from its source, or finds it
// unchanged; Swarm keeps them immutable, so a changed one is an error
// (down first), as docker stack deploy's.
func (sp *swarmProject) ensureObject(ctx context.Context, kind, key string, def types.FileObjectConfig) (string, error) {
	name := stackName(sp.stack, key)
	if bool(def.External) {
		name = orDefault(def.Name, key)
	}
	var data []byte
	switch {
	case bool(def.External):
	case def.File != "":
		b, err := fileobj.Read(def.File)
		if err != nil {
			return "", fmt.Errorf("%s %q: read %s: %w", kind, key, def.File, engine.ErrUnsupported)
		}
		data = b
	case def.Environment != "":
		v, ok := sp.p.Environment[def.Environment]
		if !ok {
			return "", fmt.Errorf("%s %q: environment variable %s is not set: %w", kind, key, def.Environment, engine.ErrUnsupported)
		}
		data = []byte(v)
	default:
		data = []byte(def.Content)
	}
	sum := sha256.Sum256(data)
	hash := hex.EncodeToString(sum[:])
	f := client.Filters{}
	f.Add("name", name)
	var existing []swarm.Annotations
	var ids []string
	if kind == "secret" {
		l, err := sp.cli.SecretList(ctx, client.SecretListOptions{Filters: f})
		if err != nil {
			return "", engineErr("list secrets", err)
		}
		for _, s := range l.Items {
			if s.Spec.Name == name {
				existing, ids = append(existing, s.Spec.Annotations), append(ids, s.ID)
			}
		}
	} else {
		l, err := sp.cli.ConfigList(ctx, client.ConfigListOptions{Filters: f})
		if err != nil {
			return "", engineErr("list configs", err)
		}
		for _, c := range l.Items {
			if c.Spec.Name == name {
				existing, ids = append(existing, c.Spec.Annotations), append(ids, c.ID)
			}
		}
	}
	if len(existing) > 0 {
		a := existing[0]
		switch {
		case bool(def.External):
			return ids[0], nil
		case a.Labels[LabelStackNamespace] != sp.stack:
			return "", engine.ConflictError(kind, name, key, a.Labels)
		case a.Labels[LabelContentHash] != hash:
			return "", fmt.Errorf("%s %q changed since the stack was deployed, and Swarm %ss cannot change: run infractl down --orchestrator swarm first: %w", kind, name, kind, engine.ErrUnsupported)
		}
		return ids[0], nil
	}
	if bool(def.External) {
		return "", fmt.Errorf("external %s %q is not on the Swarm: %w", kind, name, engine.ErrUnsupported)
	}
	ann := swarm.Annotations{Name: name, Labels: map[string]string{LabelStackNamespace: sp.stack, LabelContentHash: hash, LabelManagedBy: "infractl"}}
	maps.Copy(ann.Labels, def.Labels)
	if kind == "secret" {
		r, err := sp.cli.SecretCreate(ctx, client.SecretCreateOptions{Spec: swarm.SecretSpec{Annotations: ann, Data: data}})
		if err != nil {
			return "", engineErr("create secret "+name, err)
		}
		return r.ID, nil
	}
	r, err := sp.cli.ConfigCreate(ctx, client.ConfigCreateOptions{Spec: swarm.ConfigSpec{Annotations: ann, Data: data}})
	if err != nil {
		return "", engineErr("create config "+name, err)
	}
	return r.ID, nil
}

// ContainerName is the Swarm service a node runs as.
func (sp *swarmProject) ContainerName(node string) string {
	if s := sp.svcs[node]; s != nil {
		return s.name
	}
	if svc, i, ok := compose.ParseHookName(node); ok {
		return stackName(sp.stack, svc+"-pre_start-"+strconv.Itoa(i))
	}
	return stackName(sp.stack, node)
}

func (sp *swarmProject) service(node string) (*swarmService, error) {
	if _, err := sp.EnsureResources(context.Background()); err != nil {
		return nil, err
	}
	s := sp.svcs[node]
	if s == nil {
		return nil, fmt.Errorf("unknown service %q", node)
	}
	return s, nil
}

// Prepare checks the service's name and decides: a backend whose spec did
// not change and runs is kept; anything else is created or updated by
// Start (a job runs the moment it is created or updated).
func (sp *swarmProject) Prepare(ctx context.Context, node string) (engine.Prepared, error) {
	if _, err := sp.EnsureResources(ctx); err != nil {
		return engine.Prepared{}, err
	}
	s, err := sp.service(node)
	if err != nil {
		return engine.Prepared{}, err
	}
	pr := engine.Prepared{ID: s.name, Healthcheck: len(s.healthTest) > 0}
	cur, err := sp.cli.ServiceInspect(ctx, s.name, client.ServiceInspectOptions{})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return pr, engineErr("inspect service "+s.name, err)
	}
	sp.mu.Lock()
	sp.active[s.name] = true
	sp.mu.Unlock()
	if err != nil || s.job {
		if err == nil && cur.Service.Spec.Labels[LabelStackNamespace] != sp.stack {
			return pr, engine.ConflictError("service", s.name, node, cur.Service.Spec.Labels)
		}
		return pr, nil
	}
	if cur.Service.Spec.Labels[LabelStackNamespace] != sp.stack {
		return pr, engine.ConflictError("service", s.name, node, cur.Service.Spec.Labels)
	}
	policy := sp.policy[node]
	same := cur.Service.Spec.Labels[labelSpecHash] == s.hash
	if policy == engine.KeepExisting || policy == engine.KeepUnchanged && same {
		st, err := sp.Inspect(ctx, s.name)
		if err != nil {
			return pr, err
		}
		if st.Running {
			pr.Reused, pr.State = true, st
			sp.mu.Lock()
			sp.last[s.name] = st
			sp.mu.Unlock()
		}
	}
	return pr, nil
}

// Start creates or updates the service; a job runs (again) then: Swarm
// re-runs a job whose spec is updated, and ForceUpdate makes an unchanged
// one new, as `docker service update --force` does.
func (sp *swarmProject) Start(ctx context.Context, id string) error {
	s := sp.named[id]
	if s == nil {
		return fmt.Errorf("unknown service %q", id)
	}
	spec := s.spec
	spec.Labels = maps.Clone(s.spec.Labels)
	spec.Labels[labelSpecHash] = s.hash
	cur, err := sp.cli.ServiceInspect(ctx, s.name, client.ServiceInspectOptions{})
	switch {
	case err == nil:
		spec.TaskTemplate.ForceUpdate = cur.Service.Spec.TaskTemplate.ForceUpdate
		if s.job || cur.Service.Spec.Labels[labelSpecHash] == s.hash {
			// Nothing changed (a job to run again, a stopped backend):
			// new tasks all the same.
			spec.TaskTemplate.ForceUpdate++
		}
		if _, err := sp.cli.ServiceUpdate(ctx, cur.Service.ID, client.ServiceUpdateOptions{Version: cur.Service.Version, Spec: spec}); err != nil {
			return fmt.Errorf("update service %s: %w", s.name, classify(err))
		}
	case cerrdefs.IsNotFound(err):
		if _, err := sp.cli.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: spec}); err != nil {
			return fmt.Errorf("create service %s: %w", s.name, classify(err))
		}
	default:
		return engineErr("inspect service "+s.name, err)
	}
	if s.job {
		cur, err := sp.cli.ServiceInspect(ctx, s.name, client.ServiceInspectOptions{})
		if err != nil {
			return engineErr("inspect service "+s.name, err)
		}
		sp.mu.Lock()
		sp.iter[s.name] = jobIteration(cur.Service)
		sp.last[s.name] = engine.State{}
		sp.mu.Unlock()
	}
	sp.mu.Lock()
	sp.active[s.name] = true
	sp.mu.Unlock()
	return nil
}

// tasks lists a service's tasks.
func (sp *swarmProject) tasks(ctx context.Context, name string) ([]swarm.Task, error) {
	f := client.Filters{}
	f.Add("service", name)
	l, err := sp.cli.TaskList(ctx, client.TaskListOptions{Filters: f})
	if err != nil {
		return nil, engineErr("list tasks of "+name, err)
	}
	return l.Items, nil
}

// Inspect is the service's state: its current tasks aggregated.
func (sp *swarmProject) Inspect(ctx context.Context, id string) (engine.State, error) {
	cur, err := sp.cli.ServiceInspect(ctx, id, client.ServiceInspectOptions{})
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return engine.State{}, fmt.Errorf("service %s is gone", id)
		}
		return engine.State{}, engineErr("inspect service "+id, err)
	}
	ts, err := sp.tasks(ctx, cur.Service.ID)
	if err != nil {
		return engine.State{}, err
	}
	sp.settleLocal(ctx, cur.Service, ts)
	return sp.aggregate(cur.Service, ts), nil
}

// settleLocal reads the containers of a job's unfinished tasks on this
// node: the manager learns of an exit a moment after the engine, and a job
// that exited is not "still running".
func (sp *swarmProject) settleLocal(ctx context.Context, svc swarm.Service, ts []swarm.Task) {
	if !isJob(svc) {
		return
	}
	for _, t := range ts {
		cs := t.Status.ContainerStatus
		if terminal(t.Status.State) || t.NodeID != sp.nodeID || cs == nil || cs.ContainerID == "" {
			continue
		}
		sp.mu.Lock()
		o := sp.obs[t.ID]
		sp.mu.Unlock()
		if o.exited {
			continue
		}
		insp, err := sp.cli.ContainerInspect(ctx, cs.ContainerID, client.ContainerInspectOptions{})
		if err != nil || insp.Container.State == nil {
			continue
		}
		st := insp.Container.State
		if st.Running || st.Status != "exited" && st.Status != "dead" {
			continue
		}
		at, _ := time.Parse(time.RFC3339Nano, st.FinishedAt)
		sp.mu.Lock()
		o = sp.obs[t.ID]
		o.exited, o.code, o.at = true, st.ExitCode, at
		sp.obs[t.ID] = o
		sp.mu.Unlock()
	}
}

// aggregate folds a service's current tasks into one state.
func (sp *swarmProject) aggregate(svc swarm.Service, ts []swarm.Task) engine.State {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	var hasHealth bool
	if cs := svc.Spec.TaskTemplate.ContainerSpec; cs != nil {
		test, _ := execTest(cs.Healthcheck)
		hasHealth = test != nil
	}
	job := isJob(svc)
	var cur []swarm.Task
	if job {
		cur = ofIteration(ts, sp.currentIteration(svc))
	} else {
		for _, t := range ts {
			if t.DesiredState == swarm.TaskStateRunning || t.DesiredState == swarm.TaskStateReady || t.DesiredState == swarm.TaskStateAccepted {
				cur = append(cur, t)
			}
		}
	}
	var st engine.State
	if len(cur) == 0 {
		if !job {
			// No task wants to run: a service that ended (restart none).
			var last *swarm.Task
			for i := range ts {
				if last == nil || ts[i].Status.Timestamp.After(last.Status.Timestamp) {
					last = &ts[i]
				}
			}
			if last != nil && terminal(last.Status.State) {
				code, at := taskExit(*last, sp.obs[last.ID])
				return engine.State{Exited: true, ExitCode: code, FinishedAt: at, StartedAt: last.CreatedAt}
			}
		}
		return st
	}
	want := uint64(len(cur))
	if !job && svc.Spec.Mode.Replicated != nil && svc.Spec.Mode.Replicated.Replicas != nil {
		want = *svc.Spec.Mode.Replicated.Replicas
	}
	up, healthy, done, failed := 0, 0, 0, 0
	code := 0
	var started, finished time.Time
	anyUnhealthy := false
	var output string
	for _, t := range cur {
		o := sp.obs[t.ID]
		state := t.Status.State
		switch {
		case o.exited || terminal(state):
			c, at := taskExit(t, o)
			if c != 0 || state == swarm.TaskStateFailed || state == swarm.TaskStateRejected {
				failed++
				if code == 0 {
					code = c
				}
				if code == 0 {
					code = 1
				}
				if t.Status.Err != "" {
					output = t.Status.Err
				}
			} else {
				done++
			}
			if at.After(finished) {
				finished = at
			}
			if s := taskStart(t, o); !s.IsZero() && (started.IsZero() || s.Before(started)) {
				started = s
			}
		case job && (o.started || state == swarm.TaskStateStarting || state == swarm.TaskStateRunning),
			!job && (state == swarm.TaskStateRunning || hasHealth && state == swarm.TaskStateStarting):
			// A backend is ready when the manager says its task runs:
			// Swarm makes a task's name resolve (its service binding)
			// only after its healthcheck passed, and reports "running"
			// then. The local engine's health event, or a probe, would
			// be early: inits would not find it by name yet.
			up++
			if s := taskStart(t, o); !s.IsZero() && (started.IsZero() || s.Before(started)) {
				started = s
			}
			switch {
			case state == swarm.TaskStateRunning && hasHealth:
				healthy++
			case o.health == engine.HealthUnhealthy:
				anyUnhealthy = true
			}
		}
	}
	st.StartedAt = started
	switch {
	case job && up == 0 && done+failed == len(cur) && len(cur) > 0:
		st.Exited, st.ExitCode, st.FinishedAt = true, code, finished
		if failed == 0 {
			st.ExitCode = 0
		}
		st.HealthOutput = output
	case job:
		st.Running = up > 0 || done > 0
	default:
		st.Running = uint64(up) >= want && want > 0
		if hasHealth && st.Running {
			switch {
			case uint64(healthy) >= want:
				st.Health = engine.HealthHealthy
			case anyUnhealthy:
				st.Health = engine.HealthUnhealthy
			default:
				st.Health = engine.HealthStarting
			}
		}
	}
	return st
}

// isJob reports a replicated or global job.
func isJob(svc swarm.Service) bool {
	return svc.Spec.Mode.ReplicatedJob != nil || svc.Spec.Mode.GlobalJob != nil
}

// jobIteration is a job's current iteration as the manager has it (Swarm
// counts the runs of a job; the first is 0).
func jobIteration(svc swarm.Service) uint64 {
	if svc.JobStatus == nil {
		return 0
	}
	return svc.JobStatus.JobIteration.Index
}

// currentIteration is the iteration of a job this run started, or the
// manager's current one; sp.mu is held.
func (sp *swarmProject) currentIteration(svc swarm.Service) uint64 {
	if it, ok := sp.iter[svc.Spec.Name]; ok {
		return it
	}
	return jobIteration(svc)
}

// ofIteration are the tasks of one job iteration.
func ofIteration(ts []swarm.Task, it uint64) []swarm.Task {
	var out []swarm.Task
	for _, t := range ts {
		var i uint64
		if t.JobIteration != nil {
			i = t.JobIteration.Index
		}
		if i == it {
			out = append(out, t)
		}
	}
	return out
}

func terminal(s swarm.TaskState) bool {
	switch s {
	case swarm.TaskStateComplete, swarm.TaskStateFailed, swarm.TaskStateRejected, swarm.TaskStateShutdown, swarm.TaskStateOrphaned, swarm.TaskStateRemove:
		return true
	}
	return false
}

func taskExit(t swarm.Task, o taskObs) (int, time.Time) {
	if o.exited {
		return o.code, o.at
	}
	code := 0
	if cs := t.Status.ContainerStatus; cs != nil {
		code = cs.ExitCode
	}
	return code, t.Status.Timestamp
}

func taskStart(t swarm.Task, o taskObs) time.Time {
	if o.started && !o.at.IsZero() && !o.exited {
		return o.at
	}
	return t.Status.Timestamp
}

// Events are the stack's services' state changes, as the scheduler knows
// them from one engine: start, health_status, die. They come from the
// local engine's container events (tasks here) and from reading the task
// list every SwarmPoll (tasks anywhere).
func (sp *swarmProject) Events(ctx context.Context) (<-chan engine.Event, <-chan error) {
	out := make(chan engine.Event, 256)
	errs := make(chan error, 1)
	f := client.Filters{}
	f.Add("type", "container")
	f.Add("label", LabelStackNamespace+"="+sp.stack)
	res := sp.cli.Events(ctx, client.EventsListOptions{Filters: f})
	poke := make(chan string, 256)
	go func() {
		for {
			select {
			case m, ok := <-res.Messages:
				if !ok {
					return
				}
				name, task := m.Actor.Attributes[LabelSwarmService], m.Actor.Attributes[LabelSwarmTask]
				if name == "" || task == "" {
					continue
				}
				at := time.Unix(0, m.TimeNano)
				sp.mu.Lock()
				o := sp.obs[task]
				switch {
				case m.Action == "start":
					o.started, o.at = true, at
				case m.Action == "die":
					code, _ := strconv.Atoi(m.Actor.Attributes["exitCode"])
					o.exited, o.code, o.at = true, code, at
				case strings.HasPrefix(string(m.Action), "health_status"):
					o.health = strings.TrimSpace(strings.TrimPrefix(string(m.Action), "health_status:"))
				default:
					sp.mu.Unlock()
					continue
				}
				sp.obs[task] = o
				sp.mu.Unlock()
				select {
				case poke <- name:
				default:
				}
				if o.health == engine.HealthHealthy && !o.exited {
					// The manager reports the task running a moment after
					// the engine saw it healthy: ask again soon rather than
					// at the next poll.
					go sp.chase(ctx, name, poke)
				}
			case err := <-res.Err:
				if err == nil {
					err = io.ErrUnexpectedEOF
				}
				if ctx.Err() == nil {
					errs <- err
				}
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
		defer close(out)
		tick := time.NewTicker(SwarmPoll)
		defer tick.Stop()
		for {
			select {
			case name := <-poke:
				sp.report(ctx, name, out)
			case <-tick.C:
				sp.mu.Lock()
				names := slices.Sorted(maps.Keys(sp.active))
				sp.mu.Unlock()
				for _, n := range names {
					sp.report(ctx, n, out)
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, errs
}

// chase re-reads a service every 25 ms for up to 2 s, until the manager
// reports it ready.
func (sp *swarmProject) chase(ctx context.Context, name string, poke chan<- string) {
	for range 80 {
		select {
		case <-ctx.Done():
			return
		case <-time.After(25 * time.Millisecond):
		}
		sp.mu.Lock()
		st := sp.last[name]
		sp.mu.Unlock()
		if st.Running && st.Health == engine.HealthHealthy {
			return
		}
		select {
		case poke <- name:
		default:
		}
	}
}

// report sends the events that take a service from its last reported state
// to its state now.
func (sp *swarmProject) report(ctx context.Context, name string, out chan<- engine.Event) {
	st, err := sp.Inspect(ctx, name)
	if err != nil {
		return
	}
	sp.mu.Lock()
	last := sp.last[name]
	sp.last[name] = st
	if st.Exited || st.Running && (st.Health == engine.HealthNone || st.Health == engine.HealthHealthy) {
		// Settled: no more polling (the local engine's events still
		// come; a job run again is active again from Start).
		delete(sp.active, name)
	}
	sp.mu.Unlock()
	send := func(ev engine.Event) {
		ev.ContainerID = name
		select {
		case out <- ev:
		case <-ctx.Done():
		}
	}
	if (st.Running || st.Exited) && !last.Running && !last.Exited {
		send(engine.Event{Action: engine.ActionStart, Time: st.StartedAt})
	}
	if st.Health != "" && st.Health != last.Health {
		send(engine.Event{Action: engine.ActionHealth, Health: st.Health, Time: time.Now()})
	}
	if st.Exited && !last.Exited {
		send(engine.Event{Action: engine.ActionDie, ExitCode: st.ExitCode, Time: st.FinishedAt})
	}
}

// localTasks are a service's task containers on this node, running.
func (sp *swarmProject) localTasks(ctx context.Context, name string) ([]string, error) {
	f := client.Filters{}
	f.Add("label", LabelSwarmService+"="+name)
	f.Add("status", "running")
	l, err := sp.cli.ContainerList(ctx, client.ContainerListOptions{Filters: f})
	if err != nil {
		return nil, engineErr("list containers of "+name, err)
	}
	var ids []string
	for _, c := range l.Items {
		ids = append(ids, c.ID)
	}
	return ids, nil
}

// Probe never reports ready on Swarm: a service's name resolves only once
// Swarm's own healthcheck passed (see aggregate), so a probe that passes
// earlier would send inits to a name that does not resolve yet.
func (sp *swarmProject) Probe(context.Context, string, string) (bool, string, error) {
	return false, "", nil
}

// Stop stops a job this run started: its task containers here are stopped
// (the task fails and stays to be read); a task elsewhere goes with its
// service.
func (sp *swarmProject) Stop(ctx context.Context, id string) error {
	ids, err := sp.localTasks(ctx, id)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return sp.Remove(ctx, id)
	}
	for _, c := range ids {
		t := 10
		if _, err := sp.cli.ContainerStop(ctx, c, client.ContainerStopOptions{Timeout: &t}); err != nil && !cerrdefs.IsNotFound(err) {
			return engineErr("stop "+c, err)
		}
	}
	return nil
}

// Remove removes a service (a hook's job once it succeeded).
func (sp *swarmProject) Remove(ctx context.Context, id string) error {
	if _, err := sp.cli.ServiceRemove(ctx, id, client.ServiceRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
		return engineErr("remove service "+id, err)
	}
	sp.mu.Lock()
	delete(sp.active, id)
	sp.mu.Unlock()
	return nil
}

// CreateOneOff is how verify --rerun runs an init again: on Swarm its job
// is run again by updating it (Start), so the one-off is the job itself.
func (sp *swarmProject) CreateOneOff(_ context.Context, service, _ string) (string, error) {
	s, err := sp.service(service)
	if err != nil {
		return "", err
	}
	if !s.job {
		return "", fmt.Errorf("service %q is not a job on Swarm: %w", service, engine.ErrUnsupported)
	}
	return s.name, nil
}

// Containers lists the stack's services as the port's containers: one per
// service, its state the aggregate of its tasks.
func (sp *swarmProject) Containers(ctx context.Context) ([]engine.Container, error) {
	f := client.Filters{}
	f.Add("label", LabelStackNamespace+"="+sp.stack)
	l, err := sp.cli.ServiceList(ctx, client.ServiceListOptions{Filters: f})
	if err != nil {
		return nil, engineErr("list services", err)
	}
	var out []engine.Container
	for _, svc := range l.Items {
		ts, err := sp.tasks(ctx, svc.ID)
		if err != nil {
			return nil, err
		}
		sp.settleLocal(ctx, svc, ts)
		labels := svc.Spec.Labels
		c := engine.Container{ID: svc.Spec.Name, Name: svc.Spec.Name, Service: labels[LabelService], Labels: labels, State: sp.aggregate(svc, ts)}
		if c.Service == "" {
			c.Service = strings.TrimPrefix(svc.Spec.Name, sp.stack+"_")
		}
		if labels[LabelHook] == "pre_start" {
			if i, err := strconv.Atoi(labels[LabelHookIndex]); err == nil {
				c.Service = compose.HookName(c.Service, i)
			}
		}
		if cs := svc.Spec.TaskTemplate.ContainerSpec; cs != nil {
			c.Image, c.Cmd, c.Entrypoint = cs.Image, cs.Args, cs.Command
			c.HealthTest, c.HealthTimeout = execTest(cs.Healthcheck)
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b engine.Container) int { return strings.Compare(a.Service, b.Service) })
	return out, nil
}

// Logs reads a service's logs: a job's of its current iteration, through
// the manager (tasks on any node).
func (sp *swarmProject) Logs(ctx context.Context, id string) ([]byte, error) {
	cur, err := sp.cli.ServiceInspect(ctx, id, client.ServiceInspectOptions{})
	if err != nil {
		return nil, engineErr("inspect service "+id, err)
	}
	tty := cur.Service.Spec.TaskTemplate.ContainerSpec != nil && cur.Service.Spec.TaskTemplate.ContainerSpec.TTY
	var rcs []io.ReadCloser
	if isJob(cur.Service) {
		sp.mu.Lock()
		want := sp.currentIteration(cur.Service)
		sp.mu.Unlock()
		ts, err := sp.settledTasks(ctx, cur.Service.ID, want)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			rc, err := sp.cli.TaskLogs(ctx, t.ID, client.TaskLogsOptions{ShowStdout: true, ShowStderr: true})
			if err != nil {
				return nil, engineErr("logs of task "+t.ID, err)
			}
			rcs = append(rcs, rc)
		}
	} else {
		rc, err := sp.cli.ServiceLogs(ctx, id, client.ServiceLogsOptions{ShowStdout: true, ShowStderr: true})
		if err != nil {
			return nil, engineErr("logs of "+id, err)
		}
		rcs = append(rcs, rc)
	}
	var out bytes.Buffer
	for _, rc := range rcs {
		var err error
		if tty {
			_, err = io.Copy(&out, rc)
		} else {
			_, err = stdcopy.StdCopy(&out, &out, rc)
		}
		rc.Close()
		if err != nil && !errors.Is(err, io.EOF) {
			return out.Bytes(), engineErr("logs of "+id, err)
		}
	}
	return out.Bytes(), nil
}

// settledTasks are a job's tasks of iteration want, once the manager has
// recorded the end of those that ended here (it learns of an exit a moment
// after the engine): the logs are then whole, and `docker stack ps` agrees
// with the verdict. Bounded: a task elsewhere is taken as the manager has it.
func (sp *swarmProject) settledTasks(ctx context.Context, id string, want uint64) ([]swarm.Task, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		ts, err := sp.tasks(ctx, id)
		if err != nil {
			return nil, err
		}
		cur := ofIteration(ts, want)
		settled := true
		for _, t := range cur {
			sp.mu.Lock()
			o := sp.obs[t.ID]
			sp.mu.Unlock()
			if o.exited && !terminal(t.Status.State) {
				settled = false
			}
		}
		if settled || time.Now().After(deadline) {
			return cur, nil
		}
		select {
		case <-ctx.Done():
			return cur, nil
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// ProbeContainer runs a service's healthcheck in its task here.
func (sp *swarmProject) ProbeContainer(ctx context.Context, c engine.Container) (bool, string, error) {
	if len(c.HealthTest) == 0 {
		return false, "", nil
	}
	ids, err := sp.localTasks(ctx, c.ID)
	if err != nil || len(ids) == 0 {
		return false, "", err
	}
	return execOnce(ctx, sp.cli, ids[0], c.HealthTest, c.HealthTimeout)
}

// Dial connects from the stack's networks (overlay addresses do not route
// from outside), through the dial helper.
func (sp *swarmProject) Dial(ctx context.Context, _ []engine.Container, network, addr string) (net.Conn, error) {
	return dialThroughNets(ctx, sp.cli, sp.helpers, sp.stack, network, addr, func(ctx context.Context) ([]string, error) {
		f := client.Filters{}
		f.Add("label", LabelStackNamespace+"="+sp.stack)
		l, err := sp.cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
		if err != nil {
			return nil, engineErr("list networks", err)
		}
		var names []string
		for _, n := range l.Items {
			names = append(names, n.Name)
		}
		slices.Sort(names)
		return names, nil
	})
}

// Down removes the stack: its services, then (once their tasks are gone)
// its networks, secrets and configs; with Volumes, the volumes Swarm made
// for it on this node. What is not the stack's is never touched.
func (s *Swarm) Down(ctx context.Context, project string, opts engine.DownOptions) (engine.DownReport, error) {
	var rep engine.DownReport
	f := client.Filters{}
	f.Add("label", LabelStackNamespace+"="+project)
	known := map[string]bool{}
	for _, n := range opts.Services {
		known[n] = true
	}
	l, err := s.cli.ServiceList(ctx, client.ServiceListOptions{Filters: f})
	if err != nil {
		return rep, engineErr("list services", err)
	}
	for _, svc := range l.Items {
		if svc.Spec.Labels[LabelStackNamespace] != project {
			continue
		}
		// A hook's job carries its service's name: it goes with it.
		orphan := opts.Services != nil && !known[svc.Spec.Labels[LabelService]]
		if opts.OnlyOrphans && !orphan || orphan && !opts.RemoveOrphans && !opts.OnlyOrphans {
			rep.Kept = append(rep.Kept, svc.Spec.Name)
			continue
		}
		if _, err := s.cli.ServiceRemove(ctx, svc.ID, client.ServiceRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			return rep, engineErr("remove service "+svc.Spec.Name, err)
		}
		rep.Containers = append(rep.Containers, svc.Spec.Name)
	}
	if len(rep.Kept) > 0 {
		// Their networks, secrets and configs stay in use.
		sortReport(&rep)
		return rep, nil
	}
	if opts.OnlyOrphans {
		sortReport(&rep)
		return rep, nil
	}
	// The tasks' containers go asynchronously; networks and volumes wait.
	for deadline := time.Now().Add(60 * time.Second); ; {
		cs, err := s.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
		if err != nil {
			return rep, engineErr("list containers", err)
		}
		if len(cs.Items) == 0 {
			break
		}
		// Swarm keeps the containers of a job's finished tasks after its
		// service is gone: the stack's, so they go too. Running ones are
		// the engine's to stop.
		for _, c := range cs.Items {
			if c.State != "running" && c.Labels[LabelStackNamespace] == project {
				if _, err := s.cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
					return rep, engineErr("remove container "+c.Names[0], err)
				}
			}
		}
		if time.Now().After(deadline) {
			return rep, fmt.Errorf("%d task containers of stack %s are still there after 60 s: %w", len(cs.Items), project, engine.ErrEngine)
		}
		select {
		case <-ctx.Done():
			return rep, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	nl, err := s.cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return rep, engineErr("list networks", err)
	}
	for _, n := range nl.Items {
		// A network is released by the manager shortly after its last task.
		var rerr error
		for i := 0; i < 50; i++ {
			if _, rerr = s.cli.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); rerr == nil || cerrdefs.IsNotFound(rerr) {
				rerr = nil
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if rerr != nil {
			return rep, engineErr("remove network "+n.Name, rerr)
		}
		rep.Networks = append(rep.Networks, n.Name)
	}
	sl, err := s.cli.SecretList(ctx, client.SecretListOptions{Filters: f})
	if err != nil {
		return rep, engineErr("list secrets", err)
	}
	for _, x := range sl.Items {
		if _, err := s.cli.SecretRemove(ctx, x.ID, client.SecretRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			return rep, engineErr("remove secret "+x.Spec.Name, err)
		}
	}
	cl, err := s.cli.ConfigList(ctx, client.ConfigListOptions{Filters: f})
	if err != nil {
		return rep, engineErr("list configs", err)
	}
	for _, x := range cl.Items {
		if _, err := s.cli.ConfigRemove(ctx, x.ID, client.ConfigRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			return rep, engineErr("remove config "+x.Spec.Name, err)
		}
	}
	if opts.Volumes {
		vl, err := s.cli.VolumeList(ctx, client.VolumeListOptions{Filters: f})
		if err != nil {
			return rep, engineErr("list volumes", err)
		}
		for _, v := range vl.Items {
			if _, err := s.cli.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
				return rep, engineErr("remove volume "+v.Name, err)
			}
			rep.Volumes = append(rep.Volumes, v.Name)
		}
	}
	sortReport(&rep)
	return rep, nil
}
