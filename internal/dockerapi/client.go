// Package dockerapi drives the Docker Engine API (github.com/moby/moby/client)
// for infractl: it turns compose-go service configurations into containers,
// networks and volumes labelled exactly as docker compose labels them (so
// compose and infractl see each other's resources), and implements the
// scheduler's runtime interface: events, create, start, inspect, exec
// probes, stop, logs, and down.
package dockerapi

import (
	"context"
	"errors"
	"fmt"

	"github.com/moby/moby/client"
)

// ErrEngine is the category of errors that mean the engine is unreachable
// or failed (exit code 3).
var ErrEngine = errors.New("docker engine error")

// Connect returns a client configured from the environment (DOCKER_HOST,
// DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, DOCKER_API_VERSION) with API version
// negotiation (the client default), and checks that the engine answers. It works against engine
// API 1.41 (Debian's docker.io 20.10) and current Docker.
func Connect(ctx context.Context) (*client.Client, error) {
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return nil, fmt.Errorf("docker client: %v: %w", err, ErrEngine)
	}
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return nil, fmt.Errorf("cannot reach the Docker engine at %s: %v (is dockerd running? set DOCKER_HOST to point elsewhere): %w",
			cli.DaemonHost(), err, ErrEngine)
	}
	return cli, nil
}
