package dockerapi

import (
	"context"
	"fmt"
	"sort"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/infractl/infractl/internal/engine"
)

// EnsureResources creates the project's networks and volumes that do not
// exist yet, labelled as compose labels them. A network that exists and is
// not the project's is a conflict (compose refuses it too); duplicates of
// the project's own network that an interrupted concurrent run left are
// removed when nothing uses them. A volume made by hand is used with a
// warning, as compose does; one of another project is a conflict.
func (pr *Project) EnsureResources(ctx context.Context) ([]string, error) {
	p := pr.project
	var warnings []string
	used := map[string]bool{}
	for _, sc := range p.Services {
		for k := range sc.Networks {
			used[k] = true
		}
	}
	for _, key := range sortedKeys(p.Networks) {
		def := p.Networks[key]
		if bool(def.External) || !used[key] {
			continue
		}
		name := networkName(p, key, def)
		exists, err := pr.ownNetwork(ctx, name, key)
		if err != nil {
			return warnings, err
		}
		if exists {
			continue
		}
		labels := map[string]string{LabelProject: p.Name, LabelNetwork: key, LabelVersion: ComposeVersion, LabelManagedBy: "infractl"}
		for k, v := range def.Labels {
			labels[k] = v
		}
		driver := def.Driver
		if driver == "" {
			driver = "bridge"
		}
		_, err = pr.cli.NetworkCreate(ctx, name, client.NetworkCreateOptions{Driver: driver, Options: def.DriverOpts, Internal: def.Internal, Attachable: def.Attachable, Labels: labels})
		if err != nil && !cerrdefs.IsConflict(err) {
			return warnings, engineErr("create network "+name, err)
		}
		// Bridge networks are not unique by name on this engine: a
		// concurrent run may have created one too. Keep the oldest.
		if _, err := pr.ownNetwork(ctx, name, key); err != nil {
			return warnings, err
		}
	}
	for _, key := range sortedKeys(p.Volumes) {
		def := p.Volumes[key]
		if bool(def.External) {
			continue
		}
		name := engine.VolumeName(p.Name, key, def)
		if v, err := pr.cli.VolumeInspect(ctx, name, client.VolumeInspectOptions{}); err == nil {
			w, err := engine.ReuseVolume(name, p.Name, v.Volume.Labels)
			if err != nil {
				return warnings, err
			}
			if w != "" {
				warnings = append(warnings, w)
			}
			continue
		} else if !cerrdefs.IsNotFound(err) {
			return warnings, engineErr("inspect volume "+name, err)
		}
		labels := map[string]string{LabelProject: p.Name, LabelVolume: key, LabelVersion: ComposeVersion, LabelManagedBy: "infractl"}
		for k, v := range def.Labels {
			labels[k] = v
		}
		if _, err := pr.cli.VolumeCreate(ctx, client.VolumeCreateOptions{Name: name, Driver: def.Driver, DriverOpts: def.DriverOpts, Labels: labels}); err != nil {
			return warnings, engineErr("create volume "+name, err)
		}
	}
	return warnings, nil
}

// ownNetwork reports whether the project's network of that name exists. A
// network of that name that is not the project's is a conflict. When there
// are several of the project's (bridge names are not unique), the oldest is
// kept and the others are removed if nothing is attached to them.
func (pr *Project) ownNetwork(ctx context.Context, name, key string) (bool, error) {
	f := client.Filters{}
	f.Add("name", name)
	res, err := pr.cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return false, engineErr("list networks", err)
	}
	var same []network.Summary
	for _, n := range res.Items {
		if n.Name == name { // the filter matches substrings
			same = append(same, n)
		}
	}
	if len(same) == 0 {
		return false, nil
	}
	for _, n := range same {
		if err := engine.ReuseNetwork(name, key, pr.project.Name, n.Labels); err != nil {
			return false, err
		}
	}
	if len(same) == 1 {
		return true, nil
	}
	sort.Slice(same, func(i, j int) bool {
		return time.Time(same[i].Created).Before(time.Time(same[j].Created)) ||
			time.Time(same[i].Created).Equal(time.Time(same[j].Created)) && same[i].ID < same[j].ID
	})
	for _, n := range same[1:] {
		insp, err := pr.cli.NetworkInspect(ctx, n.ID, client.NetworkInspectOptions{})
		if err != nil {
			if cerrdefs.IsNotFound(err) {
				continue
			}
			return false, engineErr("inspect network "+n.ID, err)
		}
		if len(insp.Network.Containers) > 0 {
			return false, fmt.Errorf("network %q exists %d times (left by concurrent runs) and the copy %.12s is in use; run infractl down first: %w",
				name, len(same), n.ID, engine.ErrConflict)
		}
		if _, err := pr.cli.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			return false, engineErr("remove duplicate network "+n.ID, err)
		}
	}
	return true, nil
}
