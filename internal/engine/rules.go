package engine

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// ContainerName is the name compose gives the first container of a service.
func ContainerName(project string, sc types.ServiceConfig) string {
	if sc.ContainerName != "" {
		return sc.ContainerName
	}
	return project + "-" + sc.Name + "-1"
}

// ReplicaName is the node name of a service's k-th container (k >= 2;
// the first is the service's own name): "web#2".
func ReplicaName(service string, k int) string {
	return fmt.Sprintf("%s#%d", service, k)
}

// ParseReplicaName splits a replica's node name into its service and
// number; a plain service name is replica 1.
func ParseReplicaName(name string) (service string, k int) {
	if svc, num, ok := strings.Cut(name, "#"); ok {
		if k, err := strconv.Atoi(num); err == nil && k > 1 {
			return svc, k
		}
	}
	return name, 1
}

// ReplicaContainerName is compose's name for a service's k-th container.
func ReplicaContainerName(project string, sc types.ServiceConfig, k int) string {
	if k <= 1 {
		return ContainerName(project, sc)
	}
	return fmt.Sprintf("%s-%s-%d", project, sc.Name, k)
}

// HookContainerName is compose's name for the runner container of a
// service's i-th pre_start hook.
func HookContainerName(project, service string, i int) string {
	return fmt.Sprintf("%s-%s-pre_start-%d", project, service, i)
}

// ImageName is the image a service runs: its image, or the one compose
// would have built for it.
func ImageName(project string, sc types.ServiceConfig) string {
	if sc.Image != "" {
		return sc.Image
	}
	return project + "-" + sc.Name
}

// The labels docker compose puts on what it creates; infractl writes and
// reads the same, so each tool sees the other's containers.
const (
	LabelProject     = "com.docker.compose.project"
	LabelService     = "com.docker.compose.service"
	LabelNumber      = "com.docker.compose.container-number"
	LabelOneoff      = "com.docker.compose.oneoff"
	LabelConfigHash  = "com.docker.compose.config-hash"
	LabelWorkingDir  = "com.docker.compose.project.working_dir"
	LabelConfigFiles = "com.docker.compose.project.config_files"
	LabelEnvFile     = "com.docker.compose.project.environment_file"
	LabelDependsOn   = "com.docker.compose.depends_on"
	LabelVersion     = "com.docker.compose.version"
	LabelImage       = "com.docker.compose.image"
	LabelNetwork     = "com.docker.compose.network"
	LabelVolume      = "com.docker.compose.volume"
	// LabelHook marks a pre_start hook's runner container ("pre_start") and
	// LabelHookIndex its position in the service's hooks (compose v5.6.0).
	LabelHook      = "com.docker.compose.hook"
	LabelHookIndex = "com.docker.compose.hook-index"
	// LabelManagedBy marks what infractl created (compose ignores it).
	LabelManagedBy = "io.infractl.managed-by"
)

// NetworkName is compose's name for a project's network.
func NetworkName(project, key string, def types.NetworkConfig) string {
	if def.Name != "" {
		return def.Name
	}
	return project + "_" + key
}

// VolumeName is compose's name for a project's volume.
func VolumeName(project, key string, def types.VolumeConfig) string {
	if def.Name != "" {
		return def.Name
	}
	return project + "_" + key
}

// ReuseNetwork decides about a network of the project's name that exists:
// the project's own (for the same key) is reused; anything else is a
// conflict, as compose refuses it.
func ReuseNetwork(name, key, project string, labels map[string]string) error {
	if !Owned(labels, project) || labels[LabelNetwork] != "" && labels[LabelNetwork] != key {
		return ConflictError("network", name, "", labels)
	}
	return nil
}

// ReuseVolume decides about a volume of the project's name that exists:
// the project's own is reused; one made by hand is used with a warning (as
// compose does); another project's is a conflict.
func ReuseVolume(name, project string, labels map[string]string) (warning string, err error) {
	switch {
	case Owned(labels, project):
		return "", nil
	case labels[LabelProject] != "":
		return "", ConflictError("volume", name, "", labels)
	}
	return fmt.Sprintf("volume %q already exists but was not created by docker compose or infractl; it is used as it is (set external: true to say so)", name), nil
}

// Owner names who owns an object from its labels: "project X", or "no
// compose project" for something made by hand.
func Owner(labels map[string]string) string {
	if p := labels[LabelProject]; p != "" {
		return fmt.Sprintf("project %q", p)
	}
	return "no compose project (made by hand or by another tool)"
}

// Owned reports whether an object with these labels belongs to project.
// Nothing that is not owned is ever stopped, removed or reused.
func Owned(labels map[string]string, project string) bool {
	return labels[LabelProject] == project
}

// Unchanged reports whether an existing container still matches its
// service: its config hash is one of the hashes an up-to-date container of
// the service carries (the one infractl writes and those docker compose
// releases write). This is the only test; up keeps what it accepts and
// verify calls the rest stale.
func Unchanged(labels map[string]string, hashes []string) bool {
	h := labels[LabelConfigHash]
	return h != "" && slices.Contains(hashes, h)
}

// Decision is what Prepare does with a service's existing container.
type Decision int

// The decisions.
const (
	// Create: there is no container of that name.
	Create Decision = iota
	// Keep the running, unchanged container of a service not run fresh.
	Keep
	// Recreate the project's container: changed, stopped, or run fresh.
	Recreate
	// Conflict: the name is taken by something that is not the project's.
	Conflict
)

func (d Decision) String() string {
	return [...]string{"create", "keep", "recreate", "conflict"}[d]
}

// Existing is what Decide needs to know about a container that has the
// service's name; nil means there is none.
type Existing struct {
	Labels  map[string]string
	Running bool
}

// Decide is the keep-or-recreate rule: a container that is not the
// project's is a conflict (never removed); the project's container is kept
// as the policy says (by default when it runs and is unchanged), and
// recreated otherwise.
func Decide(existing *Existing, project string, hashes []string, policy Policy) Decision {
	switch {
	case existing == nil:
		return Create
	case !Owned(existing.Labels, project):
		return Conflict
	case policy == KeepExisting:
		return Keep
	case policy == KeepUnchanged && existing.Running && Unchanged(existing.Labels, hashes):
		return Keep
	}
	return Recreate
}

// Policy is what Prepare does with a service's existing container.
type Policy int

const (
	// KeepUnchanged keeps a running container whose configuration did not
	// change, and recreates any other (compose's default).
	KeepUnchanged Policy = iota
	// Fresh always creates a new container (inits, --force-recreate).
	Fresh
	// KeepExisting keeps any existing container of the project, changed or
	// not, and starts it when it is not running (--no-recreate).
	KeepExisting
)

// ConflictError is the one-line error for a name taken by another owner.
func ConflictError(kind, name, service string, labels map[string]string) error {
	who := ""
	if service != "" {
		who = fmt.Sprintf(" (service %q)", service)
	}
	return fmt.Errorf("%s %q%s already exists and belongs to %s; infractl never touches what is not the project's: remove or rename it, or change the name in the compose file: %w: %w",
		kind, name, who, Owner(labels), ErrConflict, ErrUnsupported)
}
