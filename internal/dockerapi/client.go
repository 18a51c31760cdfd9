// Package dockerapi is the engine port (internal/engine) implemented for
// one Docker engine through the Docker Engine API (github.com/moby/moby/
// client, the only package that imports it): it turns compose-go service
// configurations into containers, networks and volumes labelled exactly as
// docker compose labels them (so compose and infractl see each other's
// resources), and converts the engine's events, states and errors into the
// port's types.
//
// What belongs here: how the Docker engine is called. Policy (what to keep,
// what is finished or healthy, who owns what) is the port's.
package dockerapi

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/moby/client"

	"github.com/infractl/infractl/internal/endpoint"
	"github.com/infractl/infractl/internal/engine"
)

// Engine is one Docker engine. It implements engine.Engine.
type Engine struct {
	cli *client.Client
	ep  endpoint.Endpoint
	// helpers are the dial helpers verify made on a remote engine.
	helpers helpers
	// watch gives up an engine that stops answering (nil: not watched).
	watch *watchdog
}

var _ engine.Engine = (*Engine)(nil)

// Endpoint is the engine's address.
func (e *Engine) Endpoint() string {
	if e.ep.Host != "" {
		return e.ep.String()
	}
	return e.cli.DaemonHost()
}

// Lost is why the engine was given up (it stopped answering), or nil.
func (e *Engine) Lost() error {
	if e.watch == nil {
		return nil
	}
	return e.watch.Lost()
}

// ID is the engine's ID from /info.
func (e *Engine) ID(ctx context.Context) (string, error) {
	info, err := e.cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		return "", engineErr("engine info", err)
	}
	if info.Info.ID == "" {
		return e.Endpoint(), nil
	}
	return info.Info.ID, nil
}

// Close releases the client.
func (e *Engine) Close() error {
	e.helpers.closeAll(e.cli)
	if e.watch != nil {
		e.watch.Close()
	}
	return e.cli.Close()
}

// ServerVersion is the engine's version and API version.
func (e *Engine) ServerVersion(ctx context.Context) (version, api string, err error) {
	v, err := e.cli.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		return "", "", fmt.Errorf("engine version: %w: %w", err, engine.ErrEngine)
	}
	return v.Version, v.APIVersion, nil
}

// Project checks the project and returns its port (see NewProject).
func (e *Engine) Project(ctx context.Context, p *types.Project, policy map[string]engine.Policy) (engine.Project, error) {
	return newProject(ctx, e.cli, p, policy, e.Remote())
}

// engineErr wraps an API error as an engine failure, naming what failed.
func engineErr(what string, err error) error {
	return fmt.Errorf("%s: %w: %w", what, err, engine.ErrEngine)
}

// Remote reports whether the engine may not be this machine: any endpoint
// but a unix socket. Local paths (file secrets) are then copied through the
// API rather than bind-mounted.
func (e *Engine) Remote() bool {
	h := e.ep.Host
	if h == "" {
		h = e.cli.DaemonHost()
	}
	return !strings.HasPrefix(h, "unix://")
}

// InContainer reports whether infractl runs inside a Docker container
// (the engine writes /.dockerenv into every one): the engine's networks
// are then not this process's, even through the engine's own socket.
func InContainer() bool {
	_, err := os.Stat("/.dockerenv")
	return err == nil
}

// Check refuses the keys this engine cannot run (see engine.Engine).
func (e *Engine) Check(p *types.Project) error {
	problems := keyProblems(p)
	for _, n := range p.ServiceNames() {
		if sc := p.Services[n]; sc.Build != nil {
			if bad := UnsupportedBuildKeys(sc.Build); len(bad) > 0 {
				problems = append(problems, fmt.Sprintf("service %q: %s cannot be built through the Engine API's classic builder here (build it with docker build, or remove them)", n, strings.Join(bad, ", ")))
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: %w", strings.Join(problems, "; "), engine.ErrUnsupported)
	}
	return nil
}
