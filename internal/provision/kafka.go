package provision

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

type kafkaProvisioner struct {
	d   Kafka
	env Env
}

func (p *kafkaProvisioner) client(ctx context.Context) (*kadm.Client, func(), error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.d.Bootstrap...), kgo.Dialer(p.env.dial()), kgo.DialTimeout(3*time.Second))
	if err != nil {
		return nil, nil, err
	}
	adm := kadm.NewClient(cl)
	err = p.env.Retry.Wait(ctx, "kafka "+strings.Join(p.d.Bootstrap, ","), func(ctx context.Context) error {
		_, err := adm.ListBrokers(ctx)
		return err
	})
	if err != nil {
		cl.Close()
		return nil, nil, err
	}
	return adm, cl.Close, nil
}

// Ensure creates missing topics, grows partitions and sets declared configs.
func (p *kafkaProvisioner) Ensure(ctx context.Context) ([]Item, error) {
	return p.run(ctx, true)
}

// Check compares topics with the declaration, declared keys only.
func (p *kafkaProvisioner) Check(ctx context.Context) ([]Item, error) {
	return p.run(ctx, false)
}

func (p *kafkaProvisioner) run(ctx context.Context, fix bool) ([]Item, error) {
	adm, closeFn, err := p.client(ctx)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	var names []string
	for _, t := range p.d.Topics {
		names = append(names, t.Name)
	}
	details, err := adm.ListTopics(ctx, names...)
	if err != nil {
		return nil, fmt.Errorf("kafka: list topics: %w", err)
	}
	var items []Item
	for _, t := range p.d.Topics {
		item := Item{Backend: "kafka", Resource: "topic " + t.Name}
		td, ok := details[t.Name]
		exists := ok && td.Err == nil
		if !exists {
			if !fix {
				item.Status = Missing
				items = append(items, item)
				continue
			}
			configs := map[string]*string{}
			for k, v := range t.Config {
				configs[k] = &v
			}
			repl := t.Replication
			if repl == 0 {
				repl = -1 // broker default
			}
			resp, err := adm.CreateTopic(ctx, t.Partitions, repl, configs, t.Name)
			if err == nil {
				err = resp.Err
			}
			switch {
			case err == nil:
				item.Status, item.Detail = Created, fmt.Sprintf("%d partitions, replication %d", t.Partitions, t.Replication)
			case errors.Is(err, kerr.TopicAlreadyExists):
				// A concurrent creator won: already exists is success.
				item.Status = Exists
			default:
				return items, fmt.Errorf("kafka: create topic %s: %w", t.Name, err)
			}
			items = append(items, item)
			continue
		}
		item.Status = OK
		if fix {
			item.Status = Exists
		}
		var notes []string
		have := int32(len(td.Partitions))
		switch {
		case have < t.Partitions && fix:
			if _, err := adm.UpdatePartitions(ctx, int(t.Partitions), t.Name); err != nil {
				return items, fmt.Errorf("kafka: grow %s to %d partitions: %w", t.Name, t.Partitions, err)
			}
			item.Status = Updated
			notes = append(notes, fmt.Sprintf("partitions %d -> %d", have, t.Partitions))
		case have != t.Partitions:
			item.Status = Drift
			why := "partitions can grow, never shrink"
			if have < t.Partitions {
				why = "run infractl provision to grow them"
			}
			notes = append(notes, fmt.Sprintf("declared %d partitions, has %d (%s)", t.Partitions, have, why))
		}
		if t.Replication > 0 && have > 0 {
			var rf int
			for _, pd := range td.Partitions {
				rf = len(pd.Replicas)
				break
			}
			if rf != int(t.Replication) {
				item.Status = Drift
				notes = append(notes, fmt.Sprintf("declared replication %d, has %d (not changed automatically)", t.Replication, rf))
			}
		}
		if len(t.Config) > 0 {
			rcs, err := adm.DescribeTopicConfigs(ctx, t.Name)
			if err != nil {
				return items, fmt.Errorf("kafka: describe %s configs: %w", t.Name, err)
			}
			have := map[string]string{}
			for _, rc := range rcs {
				for _, c := range rc.Configs {
					if c.Value != nil {
						have[c.Key] = *c.Value
					}
				}
			}
			var alter []kadm.AlterConfig
			keys := slices.Sorted(maps.Keys(t.Config))
			for _, k := range keys {
				want := t.Config[k]
				if have[k] == want {
					continue
				}
				if fix {
					alter = append(alter, kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: &want})
					notes = append(notes, fmt.Sprintf("%s=%s", k, want))
				} else {
					item.Status = Drift
					notes = append(notes, fmt.Sprintf("%s is %q, declared %q", k, have[k], want))
				}
			}
			if len(alter) > 0 {
				if _, err := adm.AlterTopicConfigs(ctx, alter, t.Name); err != nil {
					return items, fmt.Errorf("kafka: set %s configs: %w", t.Name, err)
				}
				if item.Status == Exists {
					item.Status = Updated
				}
			}
		}
		item.Detail = strings.Join(notes, "; ")
		items = append(items, item)
	}
	return items, nil
}
