package dockerapi

import (
	"context"
	"slices"
	"sort"
	"strings"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/infractl/infractl/internal/compose"
	"github.com/infractl/infractl/internal/engine"
)

// Down removes a project's containers and networks (and volumes when
// asked), found by compose's project label: only what carries it.
func (e *Engine) Down(ctx context.Context, project string, opts engine.DownOptions) (engine.DownReport, error) {
	var rep engine.DownReport
	known := map[string]bool{}
	for _, s := range opts.Services {
		known[s] = true
	}
	cs, err := e.Observe(project).Containers(ctx)
	if err != nil {
		return rep, err
	}
	var remove []engine.Container
	for _, c := range cs {
		svc := c.Service
		if s, _, ok := compose.ParseHookName(svc); ok {
			svc = s // a hook's runner goes with its service
		}
		if opts.Only != nil {
			if slices.Contains(opts.Only, c.Name) {
				remove = append(remove, c)
			}
			continue
		}
		orphan := opts.Services != nil && !known[svc] && !c.OneOff
		if opts.OnlyOrphans && !orphan || opts.Services != nil && !known[svc] && !opts.RemoveOrphans && !opts.OnlyOrphans {
			rep.Kept = append(rep.Kept, c.Name)
			continue
		}
		remove = append(remove, c)
	}
	removed, err := e.stopInOrder(ctx, remove, opts)
	rep.Containers = append(rep.Containers, removed...)
	if err != nil {
		sortReport(&rep)
		return rep, err
	}
	if opts.RemoveImages != "" {
		rep.Images = e.removeImages(ctx, project, remove, opts)
	}
	if len(rep.Kept) > 0 || opts.OnlyOrphans || opts.Only != nil {
		// Their networks stay in use.
		sortReport(&rep)
		return rep, nil
	}
	f := client.Filters{}
	f.Add("label", LabelProject+"="+project)
	nets, err := e.cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return rep, engineErr("list networks", err)
	}
	for _, n := range nets.Items {
		if !engine.Owned(n.Labels, project) {
			continue
		}
		if _, err := e.cli.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			return rep, engineErr("remove network "+n.Name, err)
		}
		rep.Networks = append(rep.Networks, n.Name)
		if opts.Progress != nil {
			opts.Progress("network", n.Name)
		}
	}
	if opts.Volumes {
		vols, err := e.cli.VolumeList(ctx, client.VolumeListOptions{Filters: f})
		if err != nil {
			return rep, engineErr("list volumes", err)
		}
		for _, v := range vols.Items {
			if !engine.Owned(v.Labels, project) {
				continue
			}
			if _, err := e.cli.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
				return rep, engineErr("remove volume "+v.Name, err)
			}
			rep.Volumes = append(rep.Volumes, v.Name)
			if opts.Progress != nil {
				opts.Progress("volume", v.Name)
			}
		}
	}
	sortReport(&rep)
	return rep, nil
}

// stopInOrder stops and removes containers as docker compose down does:
// what depends on a service before the service (the order comes from each
// container's com.docker.compose.depends_on label, so a project whose file
// is gone is ordered too), every container of one service in parallel,
// services that do not wait on each other at once. Each container stops
// with its own grace period and stop signal (stop_grace_period,
// stop_signal), or opts.StopTimeout when set. opts.Progress hears of each
// container as it is removed.
func (e *Engine) stopInOrder(ctx context.Context, cs []engine.Container, opts engine.DownOptions) ([]string, error) {
	byService := map[string][]engine.Container{}
	deps := map[string][]string{} // service -> the services it depends on
	for _, c := range cs {
		svc := c.Service
		if s, _, ok := compose.ParseHookName(svc); ok {
			svc = s
		}
		if c.OneOff {
			svc = "\x00one-off " + c.Name // nothing depends on a one-off
		}
		byService[svc] = append(byService[svc], c)
		for _, d := range strings.Split(c.Labels[LabelDependsOn], ",") {
			if name, _, _ := strings.Cut(d, ":"); name != "" && !slices.Contains(deps[svc], name) {
				deps[svc] = append(deps[svc], name)
			}
		}
	}
	// A service may stop once every service that depends on it stopped.
	dependents := map[string][]string{}
	for svc, ds := range deps {
		for _, d := range ds {
			if _, ok := byService[d]; ok && d != svc {
				dependents[d] = append(dependents[d], svc)
			}
		}
	}
	done := map[string]chan struct{}{}
	for svc := range byService {
		done[svc] = make(chan struct{})
	}
	var mu sync.Mutex
	var removed []string
	var firstErr error
	var wg sync.WaitGroup
	for svc, ctrs := range byService {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[svc])
			for _, d := range dependents[svc] {
				<-done[d]
			}
			var each sync.WaitGroup
			for _, c := range ctrs {
				each.Add(1)
				go func() {
					defer each.Done()
					if c.State.Running {
						_, _ = e.cli.ContainerStop(ctx, c.ID, client.ContainerStopOptions{Timeout: opts.StopTimeout})
					}
					_, err := e.cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
					mu.Lock()
					defer mu.Unlock()
					if err != nil && !cerrdefs.IsNotFound(err) {
						if firstErr == nil {
							firstErr = engineErr("remove container "+c.Name, err)
						}
						return
					}
					removed = append(removed, c.Name)
					if opts.Progress != nil {
						opts.Progress("container", c.Name)
					}
				}()
			}
			each.Wait()
		}()
	}
	wg.Wait()
	return removed, firstErr
}

// removeImages removes the images the removed containers ran (down --rmi):
// every one with "all", with "local" only those named as docker compose
// names a built image (<project>-<service>, no custom tag). An image that
// another container still uses is left: the engine refuses it.
func (e *Engine) removeImages(ctx context.Context, project string, cs []engine.Container, opts engine.DownOptions) []string {
	var images []string
	for _, c := range cs {
		img := c.Image
		if img == "" || slices.Contains(images, img) {
			continue
		}
		svc := c.Service
		if s, _, ok := compose.ParseHookName(svc); ok {
			svc = s
		}
		local := strings.TrimSuffix(img, ":latest") == project+"-"+svc
		if opts.RemoveImages == "all" || local {
			images = append(images, img)
		}
	}
	var removed []string
	for _, img := range images {
		if _, err := e.cli.ImageRemove(ctx, img, client.ImageRemoveOptions{}); err == nil {
			removed = append(removed, img)
			if opts.Progress != nil {
				opts.Progress("image", img)
			}
		}
	}
	return removed
}

func sortReport(rep *engine.DownReport) {
	sort.Strings(rep.Images)
	sort.Strings(rep.Containers)
	sort.Strings(rep.Networks)
	sort.Strings(rep.Volumes)
	sort.Strings(rep.Kept)
}
