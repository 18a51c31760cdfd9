// Package lint checks a loaded Compose project against the rules the specs
// state (secrets, Docker DNS, restart: "no", readiness gating, read-only
// provisioning mounts, never echo a secret, ...). Every finding points at a
// file and line (re-read with yaml.v3) and says how to fix it; rule IDs are
// stable and each cites the requirement it enforces.
package lint

// Severity of a finding.
type Severity string

// Severities, in increasing order.
const (
	Info    Severity = "info"
	Warning Severity = "warning"
	Error   Severity = "error"
)

// Rank orders severities: info < warning < error.
func (s Severity) Rank() int {
	switch s {
	case Error:
		return 3
	case Warning:
		return 2
	case Info:
		return 1
	}
	return 0
}

// Rule is one check. IDs never change once released.
type Rule struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Severity    Severity `json:"severity"`
	Requirement string   `json:"requirement"`
	Short       string   `json:"short"`
	Full        string   `json:"full"`
	Fix         string   `json:"fix"`
}

// Rules are every rule infractl lint knows, by ID.
var Rules = []Rule{
	{"INF000", "suppression-reason", Error, "seed 000 §9 (reviewable exceptions)",
		"A suppression has no reason",
		"An `# infractl:ignore INFnnn` comment or an x-infractl ignore entry must say why the finding does not apply, so the exception can be reviewed.",
		"write the reason after the rule ID: # infractl:ignore INF006 <why>"},
	{"INF001", "init-restart", Error, "seed 000 §1 core principle",
		"Init services set restart: \"no\" explicitly",
		"An init container is one-shot: it must run once and stay exited, so it sets restart: \"no\" explicitly.",
		"add restart: \"no\" to the init service"},
	{"INF002", "gate-healthy", Error, "REQ-AUTO-02, REQ-SPC-AUTO-002",
		"Inits wait on backends with service_healthy",
		"An init must not start before the backend it provisions is ready: wait on it with condition: service_healthy, not service_started.",
		"use depends_on: {<backend>: {condition: service_healthy}} and give the backend a healthcheck"},
	{"INF003", "target-healthcheck", Error, "REQ-AUTO-02",
		"Services waited on with service_healthy define a healthcheck",
		"docker compose fails with \"has no healthcheck configured\" when a service is waited on with service_healthy and has no healthcheck.",
		"add a healthcheck to the target service"},
	{"INF004", "secret-in-env", Error, "SEC-SPC-AUTO-001",
		"No credentials in plaintext environment or command flags",
		"Credentials must be Docker secrets read from /run/secrets/<name>, never literal or host-interpolated values in environment variables or command-line flags. *_FILE variables that point under /run/secrets/ are the right way.",
		"declare a secret, mount it, and pass <VAR>_FILE=/run/secrets/<name> instead"},
	{"INF005", "secret-target", Warning, "SEC-SPC-AUTO-001, seed 000 §4.1",
		"Secrets are mounted under /run/secrets/",
		"The provisioning interface reads secrets from /run/secrets/<secret_name>; a secret mounted elsewhere escapes that convention and its protections.",
		"drop the target, or use a target under /run/secrets/"},
	{"INF006", "ip-literal", Error, "REQ-SPC-AUTO-003",
		"No hard-coded IP addresses",
		"All provisioning uses Docker DNS (minio:9000, kafka-1:19092): no IP literals in environment, command, entrypoint, healthcheck or extra_hosts, and no static ipv4_address/ipv6_address. Loopback and wildcard binds (127.0.0.1, ::1, 0.0.0.0) are fine.",
		"use the service name (Docker DNS) instead of the address"},
	{"INF007", "writable-provisioning", Error, "seed 000 §3, SPEC-INFRA-03 §9 (read-only mounts)",
		"Bind mounts into init services are read-only",
		"Provisioning scripts and config are mounted read-only where they run, so an init cannot change what it is given.",
		"append :ro to the bind mount (or read_only: true)"},
	{"INF008", "stateful-init", Warning, "seed 000 §3",
		"Init services mount no named volumes",
		"Init containers keep no state: success is an exit code and logs. A named volume on an init is state that outlives it.",
		"remove the named volume from the init service"},
	{"INF009", "no-shared-network", Error, "REQ-SPC-AUTO-003, seed 000 §4.1",
		"An init shares a network with every service it waits on",
		"Docker DNS resolves a service only on networks both containers are attached to.",
		"attach the init to a network of its target (e.g. infra_net)"},
	{"INF010", "sleep-as-readiness", Warning, "seed 000 §8 determinism",
		"Inits wait with readiness loops, not fixed sleeps",
		"Init ordering must not rely on sleeps alone: a fixed sleep is either too short (flaky) or too long (slow). Poll the target in a bounded loop instead.",
		"replace the sleep with a bounded readiness loop (until <check>; do ...; done)"},
	{"INF011", "secret-echo", Error, "seed 000 §9, SEC-SPC-AUTO-001",
		"Scripts never print a secret",
		"Init logs must never contain secret values: no set -x (it prints every expanded command) and no echo/printf of a variable read from /run/secrets.",
		"remove set -x, and never echo or printf a secret variable"},
	{"INF012", "unbounded-wait", Warning, "REQ-SPC-AUTO-002, SPEC-INFRA-03 §8 MAX_RETRIES",
		"Wait loops have a retry bound or deadline",
		"A wait loop without a retry bound or deadline can never fail fast: the init hangs instead of exiting non-zero when its target never comes.",
		"count attempts and exit 1 after MAX_RETRIES (or wrap the wait in timeout)"},
	{"INF013", "ungated-init", Info, "seed 000 §6",
		"Something waits on this init with service_completed_successfully",
		"When nothing waits on an init with service_completed_successfully, no dependent is blocked by its failure: the stack comes up without what it provisions.",
		"make the services that need the resources wait on the init with condition: service_completed_successfully"},
	{"INF014", "loki-logging", Info, "seed 000 §9, SPEC-INFRA-03 §9 (searchable in Loki)",
		"Inits log to Loki where the stack defines it",
		"Automation results must be searchable in Loki: where the stack uses the loki logging driver, inits should too. The driver ships an init's raw output as it runs; infractl up --loki-url pushes infractl's results (one line per init step and per run, exit codes, durations, NFR) and the redacted logs to the same labels (compose_project, compose_service, container_name), so both sit side by side; verify --loki checks the results are there.",
		"give the init the same logging: {driver: loki, ...} as the rest of the stack"},
	{"INF015", "on-failure-init", Warning, "REQ-SPC-AUTO-001",
		"Inits do not rely on restart: on-failure",
		"With restart: on-failure the engine starts a failed init again and again: the failure is hidden as a retry, and a step that is not idempotent runs twice on half-done state. An init retries inside its own bounded loop and exits non-zero when it gives up.",
		"use restart: \"no\" and a bounded retry loop in the init (prove idempotency with infractl verify --rerun)"},
	{"INF016", "pre-start-candidate", Info, "REQ-AUTO-02 (compose-spec pre_start)",
		"A one-shot that serves a single service could be its pre_start hook",
		"Since compose v5.3 a pre_start hook runs a one-shot in its service's own context (image, networks, mounts) after the container is created and before it starts: the service cannot start before it succeeds, with no extra service, no restart: \"no\" and no service_completed_successfully edge to keep right.",
		"move the init under pre_start: of the one service that waits on it (compose v5.3+), with its depends_on added to that service"},
}

// RuleByID returns the rule with that ID.
func RuleByID(id string) (Rule, bool) {
	for _, r := range Rules {
		if r.ID == id {
			return r, true
		}
	}
	return Rule{}, false
}
