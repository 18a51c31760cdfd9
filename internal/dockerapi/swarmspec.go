package dockerapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/swarm"

	"github.com/infractl/infractl/internal/compose"
	"github.com/infractl/infractl/internal/engine"
)

// The model on Swarm, mapped as `docker stack deploy` maps it (docker/cli
// cli/compose/convert): every object is named <stack>_<name> and carries
// com.docker.stack.namespace, so `docker stack ps|services|rm` see it.
// Backends and apps are replicated services; inits and pre_start hooks are
// replicated jobs; networks are attachable overlays; secrets and configs
// are Swarm's own.

// Labels docker stack uses.
const (
	LabelStackNamespace = "com.docker.stack.namespace"
	LabelStackImage     = "com.docker.stack.image"
	// LabelSwarmService is set by the engine on a task's container.
	LabelSwarmService = "com.docker.swarm.service.name"
	LabelSwarmTask    = "com.docker.swarm.task.id"
	// LabelContentHash is the hash of a secret's or config's content
	// (Swarm keeps no readable copy; infractl compares by hash).
	LabelContentHash = "io.infractl.content-hash"
)

// swarmUnsupported are the service keys that mean nothing on Swarm, or that
// docker stack deploy ignores while the service needs them: refused by name.
var swarmUnsupported = map[string]string{
	"build":          "images are per node on Swarm: build the image on every node (docker build) and name it with image:",
	"container_name": "Swarm names task containers itself",
	"privileged":     "Swarm services cannot run privileged",
	"devices":        "Swarm services cannot map devices",
	"volumes_from":   "Swarm tasks cannot share another task's volumes",
	"network_mode":   "Swarm services join networks, not another container's or the host's stack",
	"pid":            "Swarm services have no pid mode",
	"ipc":            "Swarm services have no ipc mode",
	"links":          "Swarm services find each other by name on their networks",
	"security_opt":   "Swarm services take no security options",
	"shm_size":       "Swarm services have no shm size",
	"userns_mode":    "Swarm services have no user namespace mode",
	"cgroup_parent":  "Swarm services have no cgroup parent",
	"stdin_open":     "a Swarm task has no attached standard input",
}

// swarmService is one node's service on Swarm.
type swarmService struct {
	node    string // scheduler node: the compose service, or svc/pre_start[i]
	name    string // <stack>_<service> (hooks: <stack>_<service>-pre_start-<i>)
	service string // the compose service
	job     bool
	spec    swarm.ServiceSpec
	hash    string
	// healthTest is the healthcheck as exec arguments (nil: none).
	healthTest    []string
	healthTimeout time.Duration
	replicas      uint64
}

// stackName is a stack object's name.
func stackName(stack, name string) string { return stack + "_" + name }

// swarmRestart maps the restart policy as docker stack deploy does: unset
// is Swarm's default (any) for a service that runs for good, "no" for a
// one-shot (a job that fails is failed, not re-run).
func swarmRestart(sc types.ServiceConfig, job bool) *swarm.RestartPolicy {
	rp := compose.Restart(sc)
	cond := swarm.RestartPolicyConditionAny
	switch {
	case rp.Mode == compose.RestartNo && (job || rp.Key != ""):
		cond = swarm.RestartPolicyConditionNone
	case rp.Mode == compose.RestartOnFailure:
		cond = swarm.RestartPolicyConditionOnFailure
	}
	p := &swarm.RestartPolicy{Condition: cond}
	if rp.MaxRetries > 0 {
		n := uint64(rp.MaxRetries)
		p.MaxAttempts = &n
	}
	if d := sc.Deploy; d != nil && d.RestartPolicy != nil {
		if d.RestartPolicy.Delay != nil {
			v := time.Duration(*d.RestartPolicy.Delay)
			p.Delay = &v
		}
		if d.RestartPolicy.Window != nil {
			v := time.Duration(*d.RestartPolicy.Window)
			p.Window = &v
		}
	}
	return p
}

// swarmRefused names the keys of sc that Swarm cannot run, with why.
func swarmRefused(sc types.ServiceConfig) []string {
	raw, err := json.Marshal(sc)
	if err != nil {
		return []string{err.Error()}
	}
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	var bad []string
	for _, k := range slices.Sorted(maps.Keys(swarmUnsupported)) {
		if v, ok := m[k]; ok && !isEmpty(v) && !(k == "privileged" && v == false) {
			bad = append(bad, fmt.Sprintf("%s (%s)", k, swarmUnsupported[k]))
		}
	}
	for _, p := range sc.Ports {
		if p.Mode == "ingress" || p.Mode == "" {
			bad = append(bad, fmt.Sprintf("ports %s in ingress mode (overlay virtual IPs need IPVS: publish with mode: host)", p.Published))
		}
	}
	return bad
}

// buildSwarmService converts one service (job: an init) to a Swarm service
// spec. secrets and configs map compose names to Swarm IDs and names;
// nets map compose network keys to Swarm network names.
func buildSwarmService(p *types.Project, sc types.ServiceConfig, name string, job bool, res swarmResources) (*swarmService, error) {
	hashes, err := engine.ServiceHashes(sc)
	if err != nil {
		return nil, err
	}
	s := &swarmService{node: sc.Name, name: name, service: sc.Name, job: job, replicas: uint64(max(sc.GetScale(), 0))}
	stackLabels := map[string]string{LabelStackNamespace: p.Name}
	cs := &swarm.ContainerSpec{
		Image:      sc.Image,
		Labels:     map[string]string{LabelStackNamespace: p.Name},
		Command:    sc.Entrypoint,
		Args:       sc.Command,
		Hostname:   sc.Hostname,
		Dir:        sc.WorkingDir,
		User:       sc.User,
		StopSignal: sc.StopSignal,
		TTY:        sc.Tty,
		ReadOnly:   sc.ReadOnly,
		Init:       sc.Init,
		Sysctls:    map[string]string(sc.Sysctls),

		CapabilityAdd:  sc.CapAdd,
		CapabilityDrop: sc.CapDrop,
		Hosts:          sc.ExtraHosts.AsList(" "),
	}
	slices.Sort(cs.Hosts) // a map: sorted, so the spec's hash is stable
	maps.Copy(cs.Labels, sc.Labels)
	for k, v := range sc.Environment {
		if v != nil {
			cs.Env = append(cs.Env, k+"="+*v)
		}
	}
	slices.Sort(cs.Env)
	if len(sc.DNS) > 0 {
		cs.DNSConfig = &swarm.DNSConfig{}
		for _, d := range sc.DNS {
			a, err := netip.ParseAddr(d)
			if err != nil {
				return nil, fmt.Errorf("service %q: dns %q is not an IP address", sc.Name, d)
			}
			cs.DNSConfig.Nameservers = append(cs.DNSConfig.Nameservers, a)
		}
	}
	if sc.StopGracePeriod != nil {
		d := time.Duration(*sc.StopGracePeriod)
		cs.StopGracePeriod = &d
	}
	cs.Ulimits = ulimits(sc)
	if hc := sc.HealthCheck; hc != nil {
		// start_interval is left out: Swarm takes it from API 1.44 on.
		cs.Healthcheck, s.healthTest, s.healthTimeout = healthConfig(hc, "1.41")
	}
	for _, v := range sc.Volumes {
		m := mount.Mount{Target: v.Target, ReadOnly: v.ReadOnly}
		switch v.Type {
		case types.VolumeTypeBind:
			m.Type, m.Source = mount.TypeBind, v.Source
			if !filepath.IsAbs(m.Source) {
				return nil, fmt.Errorf("service %q: bind mount %s is not an absolute path", sc.Name, v.Source)
			}
		case types.VolumeTypeVolume:
			m.Type = mount.TypeVolume
			if v.Source != "" {
				def := p.Volumes[v.Source]
				m.Source = engine.VolumeName(p.Name, v.Source, def)
				m.VolumeOptions = &mount.VolumeOptions{Labels: map[string]string{LabelStackNamespace: p.Name}}
				if def.Driver != "" {
					m.VolumeOptions.DriverConfig = &mount.Driver{Name: def.Driver, Options: def.DriverOpts}
				}
			}
		case types.VolumeTypeTmpfs:
			m.Type = mount.TypeTmpfs
		default:
			return nil, fmt.Errorf("service %q: volume type %q is not supported on Swarm", sc.Name, v.Type)
		}
		cs.Mounts = append(cs.Mounts, m)
	}
	for _, ref := range sc.Secrets {
		id, ok := res.secrets[ref.Source]
		if !ok {
			return nil, fmt.Errorf("service %q: secret %q is not defined", sc.Name, ref.Source)
		}
		target, uid, gid, mode := fileTarget(types.FileReferenceConfig(ref), ref.Source)
		cs.Secrets = append(cs.Secrets, &swarm.SecretReference{SecretID: id, SecretName: stackName(p.Name, ref.Source),
			File: &swarm.SecretReferenceFileTarget{Name: strings.TrimPrefix(target, "/run/secrets/"), UID: uid, GID: gid, Mode: mode}})
	}
	for _, ref := range sc.Configs {
		id, ok := res.configs[ref.Source]
		if !ok {
			return nil, fmt.Errorf("service %q: config %q is not defined", sc.Name, ref.Source)
		}
		target, uid, gid, mode := fileTarget(types.FileReferenceConfig(ref), "/"+ref.Source)
		cs.Configs = append(cs.Configs, &swarm.ConfigReference{ConfigID: id, ConfigName: stackName(p.Name, ref.Source),
			File: &swarm.ConfigReferenceFileTarget{Name: target, UID: uid, GID: gid, Mode: mode}})
	}

	task := swarm.TaskSpec{ContainerSpec: cs, RestartPolicy: swarmRestart(sc, job)}
	for _, key := range sortedNetworks(sc) {
		att := swarm.NetworkAttachmentConfig{Target: res.nets[key], Aliases: []string{sc.Name}}
		if c := sc.Networks[key]; c != nil {
			att.Aliases = append(att.Aliases, c.Aliases...)
		}
		task.Networks = append(task.Networks, att)
	}
	if len(sc.Networks) == 0 {
		task.Networks = append(task.Networks, swarm.NetworkAttachmentConfig{Target: res.nets["default"], Aliases: []string{sc.Name}})
	}
	endpoint := &swarm.EndpointSpec{Mode: swarm.ResolutionModeDNSRR}
	if d := sc.Deploy; d != nil {
		if d.EndpointMode == "vip" {
			endpoint.Mode = swarm.ResolutionModeVIP
		}
		if d.Placement.Constraints != nil || d.Placement.Preferences != nil || d.Placement.MaxReplicas > 0 {
			task.Placement = &swarm.Placement{Constraints: d.Placement.Constraints, MaxReplicas: d.Placement.MaxReplicas}
			for _, pr := range d.Placement.Preferences {
				task.Placement.Preferences = append(task.Placement.Preferences, swarm.PlacementPreference{Spread: &swarm.SpreadOver{SpreadDescriptor: pr.Spread}})
			}
		}
		r := d.Resources
		if r.Limits != nil || r.Reservations != nil {
			task.Resources = &swarm.ResourceRequirements{}
			if l := r.Limits; l != nil {
				task.Resources.Limits = &swarm.Limit{NanoCPUs: int64(l.NanoCPUs * 1e9), MemoryBytes: int64(l.MemoryBytes), Pids: l.Pids}
			}
			if l := r.Reservations; l != nil {
				task.Resources.Reservations = &swarm.Resources{NanoCPUs: int64(l.NanoCPUs * 1e9), MemoryBytes: int64(l.MemoryBytes)}
			}
		}
		maps.Copy(stackLabels, d.Labels)
	}
	for _, pt := range sc.Ports {
		endpoint.Ports = append(endpoint.Ports, swarm.PortConfig{Protocol: network.IPProtocol(orDefault(pt.Protocol, "tcp")),
			TargetPort: pt.Target, PublishedPort: parsePort(pt.Published), PublishMode: swarm.PortConfigPublishModeHost})
	}
	spec := swarm.ServiceSpec{Annotations: swarm.Annotations{Name: name, Labels: stackLabels}, TaskTemplate: task, EndpointSpec: endpoint}
	spec.Labels[LabelStackImage] = sc.Image
	spec.Labels[LabelProject] = p.Name
	spec.Labels[LabelService] = sc.Name
	spec.Labels[LabelConfigHash] = hashes[0]
	spec.Labels[LabelManagedBy] = "infractl"
	mode := ""
	if sc.Deploy != nil {
		mode = sc.Deploy.Mode
	}
	switch {
	case job && mode == "global-job":
		spec.Mode = swarm.ServiceMode{GlobalJob: &swarm.GlobalJob{}}
		spec.EndpointSpec = &swarm.EndpointSpec{Mode: swarm.ResolutionModeDNSRR}
	case !job && mode == "global":
		spec.Mode = swarm.ServiceMode{Global: &swarm.GlobalService{}}
	case job:
		one := uint64(1)
		spec.Mode = swarm.ServiceMode{ReplicatedJob: &swarm.ReplicatedJob{MaxConcurrent: &one, TotalCompletions: &one}}
		// A job serves nobody by name: no virtual IP, no DNS entry needed.
		spec.EndpointSpec = &swarm.EndpointSpec{Mode: swarm.ResolutionModeDNSRR}
	default:
		n := s.replicas
		spec.Mode = swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &n}}
	}
	s.spec = spec
	s.hash = specHash(spec)
	spec.Labels[labelSpecHash] = s.hash
	return s, nil
}

// labelSpecHash is the hash of the Swarm spec infractl made: a backend whose
// spec did not change is kept (no update, no restart).
const labelSpecHash = "io.infractl.spec-hash"

func specHash(spec swarm.ServiceSpec) string {
	b, _ := json.Marshal(spec)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// swarmResources are the Swarm objects EnsureResources made or found.
type swarmResources struct {
	nets             map[string]string // compose key -> Swarm network name
	secrets, configs map[string]string // compose name -> Swarm ID
}

// fileTarget is where a secret or config lands in a task and as whom:
// the reference's target (def when it has none), owner root and mode 0444
// unless it says otherwise.
func fileTarget(ref types.FileReferenceConfig, def string) (target, uid, gid string, mode os.FileMode) {
	mode = 0o444
	if ref.Mode != nil {
		mode = os.FileMode(*ref.Mode)
	}
	return orDefault(ref.Target, def), orDefault(ref.UID, "0"), orDefault(ref.GID, "0"), mode
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func parsePort(s string) uint32 {
	var n uint32
	_, _ = fmt.Sscan(s, &n)
	return n
}
