package compose

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// The restart modes the engine knows.
const (
	RestartNo            = "no"
	RestartOnFailure     = "on-failure"
	RestartAlways        = "always"
	RestartUnlessStopped = "unless-stopped"
)

// RestartPolicy is the restart policy docker compose gives the engine for a
// service: deploy.restart_policy when it is set (it wins), else restart,
// else "no".
type RestartPolicy struct {
	// Mode is no, on-failure, always, unless-stopped (or what the file
	// says, when it is none of those).
	Mode string
	// MaxRetries bounds on-failure restarts; 0 is unbounded.
	MaxRetries int
	// Key is where it came from: "restart", "deploy.restart_policy" or ""
	// (compose's default).
	Key string
}

// Restart resolves a service's restart policy as docker compose does.
func Restart(sc types.ServiceConfig) RestartPolicy {
	p := RestartPolicy{Mode: RestartNo}
	if sc.Restart != "" {
		name, num, ok := strings.Cut(sc.Restart, ":")
		p = RestartPolicy{Mode: restartMode(name), Key: "restart"}
		if ok {
			p.MaxRetries, _ = strconv.Atoi(num)
		}
	}
	if sc.Deploy != nil && sc.Deploy.RestartPolicy != nil {
		rp := sc.Deploy.RestartPolicy
		p = RestartPolicy{Mode: restartMode(rp.Condition), Key: "deploy.restart_policy"}
		if rp.MaxAttempts != nil {
			p.MaxRetries = int(*rp.MaxAttempts)
		}
	}
	return p
}

// restartMode maps deploy.restart_policy's conditions to the engine's
// modes, as compose does.
func restartMode(s string) string {
	switch s {
	case "none", "no", "":
		return RestartNo
	case "any", "always":
		return RestartAlways
	}
	return s
}

// MayStayExited reports whether a container under this policy can stay
// exited: "no", or "on-failure" (once it exited 0 or ran out of retries).
func (p RestartPolicy) MayStayExited() bool {
	return p.Mode == RestartNo || p.Mode == RestartOnFailure
}

// String is the policy as a compose file writes it ("on-failure:3").
func (p RestartPolicy) String() string {
	if p.Mode == RestartOnFailure && p.MaxRetries > 0 {
		return fmt.Sprintf("%s:%d", p.Mode, p.MaxRetries)
	}
	return p.Mode
}
