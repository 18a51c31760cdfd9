// Package endpoint resolves which Docker engine to talk to, exactly as the
// docker CLI and docker compose do: --context, then -H/--host and
// DOCKER_HOST, then DOCKER_CONTEXT, then the docker config's
// currentContext, then the default socket. Contexts are read from the
// docker CLI's context store (metadata and TLS material), as
// `docker context create` writes it.
package endpoint

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// DefaultHost is the engine's default endpoint on this platform, as the
// docker CLI defaults it: the named pipe on Windows, the socket elsewhere
// (Docker Desktop on macOS is reached through its context, which the
// docker config's currentContext names).
const DefaultHost = defaultHost

// ErrEndpoint marks an endpoint that cannot be resolved (an unknown
// context, a bad host): a usage error.
var ErrEndpoint = errors.New("cannot resolve the Docker endpoint")

// Endpoint is where the engine is, and how to reach it.
type Endpoint struct {
	// Host is unix://, tcp://, npipe:// or ssh://[user@]host[:port].
	Host string
	// Context names the docker context used ("" when none).
	Context string
	// From says what chose it: "--context", "--host", "DOCKER_HOST",
	// "DOCKER_CONTEXT", "currentContext in <config>" or "default".
	From string
	// TLS material from a context (PEM), or nil.
	CA, Cert, Key []byte
	// SkipTLSVerify is a context's skip-tls-verify.
	SkipTLSVerify bool
	// FromEnvTLS says the TLS settings are DOCKER_TLS_VERIFY and
	// DOCKER_CERT_PATH (a host from -H or DOCKER_HOST).
	FromEnvTLS bool
}

// String is the host and what chose it, for messages and the verdict.
func (e Endpoint) String() string {
	if e.Context != "" {
		return fmt.Sprintf("%s (context %q, from %s)", e.Host, e.Context, e.From)
	}
	return fmt.Sprintf("%s (from %s)", e.Host, e.From)
}

// Flags are the global flags that choose the engine.
type Flags struct {
	Context string
	Host    string
}

// Getenv reads the environment.
type Getenv func(string) (string, bool)

// ConfigDir is the docker CLI's configuration folder: DOCKER_CONFIG, else
// ~/.docker.
func ConfigDir(env Getenv) string {
	if d, ok := env("DOCKER_CONFIG"); ok && d != "" {
		return d
	}
	home, ok := env("HOME")
	if !ok || home == "" {
		home, _ = os.UserHomeDir()
	}
	return filepath.Join(home, ".docker")
}

// Resolve chooses the endpoint as the docker CLI does.
func Resolve(f Flags, env Getenv) (Endpoint, error) {
	if f.Context != "" && f.Host != "" {
		return Endpoint{}, fmt.Errorf("--context and --host are both given; use one: %w", ErrEndpoint)
	}
	dir := ConfigDir(env)
	if f.Context != "" {
		return fromContext(dir, f.Context, "--context", env)
	}
	if f.Host != "" {
		return hostEndpoint(f.Host, "--host")
	}
	if h, ok := env("DOCKER_HOST"); ok && h != "" {
		return hostEndpoint(h, "DOCKER_HOST")
	}
	if c, ok := env("DOCKER_CONTEXT"); ok && c != "" {
		return fromContext(dir, c, "DOCKER_CONTEXT", env)
	}
	var cfg struct {
		CurrentContext string `json:"currentContext"`
	}
	file := filepath.Join(dir, "config.json")
	if b, err := os.ReadFile(file); err == nil {
		if err := json.Unmarshal(b, &cfg); err != nil {
			return Endpoint{}, fmt.Errorf("%s: %v: %w", file, err, ErrEndpoint)
		}
	}
	if cfg.CurrentContext != "" {
		return fromContext(dir, cfg.CurrentContext, "currentContext in "+file, env)
	}
	return Endpoint{Host: DefaultHost, From: "default"}, nil
}

func hostEndpoint(h, from string) (Endpoint, error) {
	switch {
	case strings.HasPrefix(h, "unix://"), strings.HasPrefix(h, "tcp://"), strings.HasPrefix(h, "ssh://"), strings.HasPrefix(h, "npipe://"):
	case strings.HasPrefix(h, "fd://"):
		return Endpoint{}, fmt.Errorf("%s %q: fd:// is only for dockerd itself: %w", from, h, ErrEndpoint)
	default:
		return Endpoint{}, fmt.Errorf("%s %q: want unix://, tcp:// or ssh:// (host[:port]): %w", from, h, ErrEndpoint)
	}
	return Endpoint{Host: h, From: from, FromEnvTLS: strings.HasPrefix(h, "tcp://")}, nil
}

// contextDir is the store's folder of a context: the SHA-256 of its name.
func contextDir(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])
}

func fromContext(dir, name, from string, env Getenv) (Endpoint, error) {
	if name == "default" {
		// The built-in context: DOCKER_HOST or the default socket.
		if h, ok := env("DOCKER_HOST"); ok && h != "" {
			ep, err := hostEndpoint(h, "DOCKER_HOST")
			ep.Context = "default"
			return ep, err
		}
		return Endpoint{Host: DefaultHost, Context: "default", From: from}, nil
	}
	id := contextDir(name)
	metaFile := filepath.Join(dir, "contexts", "meta", id, "meta.json")
	b, err := os.ReadFile(metaFile)
	if errors.Is(err, os.ErrNotExist) {
		return Endpoint{}, fmt.Errorf("context %q (from %s) does not exist in %s; list them with docker context ls: %w", name, from, filepath.Join(dir, "contexts"), ErrEndpoint)
	} else if err != nil {
		return Endpoint{}, fmt.Errorf("context %q: %v: %w", name, err, ErrEndpoint)
	}
	var meta struct {
		Name      string
		Endpoints map[string]struct {
			Host          string
			SkipTLSVerify bool
		}
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return Endpoint{}, fmt.Errorf("context %q: %s: %v: %w", name, metaFile, err, ErrEndpoint)
	}
	d, ok := meta.Endpoints["docker"]
	if !ok || d.Host == "" {
		return Endpoint{}, fmt.Errorf("context %q has no docker endpoint (%s): %w", name, metaFile, ErrEndpoint)
	}
	ep, err := hostEndpoint(d.Host, from)
	if err != nil {
		return Endpoint{}, err
	}
	ep.Context, ep.FromEnvTLS, ep.SkipTLSVerify = name, false, d.SkipTLSVerify
	tlsDir := filepath.Join(dir, "contexts", "tls", id, "docker")
	for file, dst := range map[string]*[]byte{"ca.pem": &ep.CA, "cert.pem": &ep.Cert, "key.pem": &ep.Key} {
		if b, err := os.ReadFile(filepath.Join(tlsDir, file)); err == nil {
			*dst = b
		} else if !errors.Is(err, os.ErrNotExist) {
			return Endpoint{}, fmt.Errorf("context %q: %v: %w", name, err, ErrEndpoint)
		}
	}
	if (ep.Cert == nil) != (ep.Key == nil) {
		return Endpoint{}, fmt.Errorf("context %q has a client certificate without its key, or the other way round (%s): %w", name, tlsDir, ErrEndpoint)
	}
	return ep, nil
}
