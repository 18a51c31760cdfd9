package provision

import (
	"context"
	"net"
)

// Status of a resource.
type Status string

// Statuses Ensure and Check report.
const (
	Created Status = "created"
	Exists  Status = "exists"  // Ensure found it as declared
	Updated Status = "updated" // Ensure changed it to match
	OK      Status = "ok"      // Check found it as declared
	Missing Status = "missing"
	Drift   Status = "drift" // it exists but differs and Ensure cannot fix it
)

// Item is one resource's status.
type Item struct {
	Backend  string `json:"backend"`
	Resource string `json:"resource"`
	Status   Status `json:"status"`
	Detail   string `json:"detail,omitempty"`
}

// Bad reports whether the item is a failure for a check.
func (i Item) Bad() bool { return i.Status == Missing || i.Status == Drift }

// Dialer is shared by every client, so the host-side audit resolves service
// names the way the init's network does.
type Dialer func(ctx context.Context, network, addr string) (net.Conn, error)

// Env is what provisioners need from where they run.
type Env struct {
	Secrets Secrets
	Dial    Dialer
	Retry   Retry
	// ReadFile reads a file of the project (templates, dashboards).
	ReadFile func(path string) ([]byte, error)
}

func (e Env) dial() Dialer {
	if e.Dial != nil {
		return e.Dial
	}
	var d net.Dialer
	return d.DialContext
}

// Provisioner creates and checks one backend's resources.
type Provisioner interface {
	Ensure(ctx context.Context) ([]Item, error)
	Check(ctx context.Context) ([]Item, error)
}

// For returns the provisioners of a declaration, in a stable order.
func For(d Declaration, env Env) []Provisioner {
	var ps []Provisioner
	if d.Kafka != nil {
		ps = append(ps, &kafkaProvisioner{d: *d.Kafka, env: env})
	}
	if d.S3 != nil {
		ps = append(ps, &s3Provisioner{d: *d.S3, env: env})
	}
	if d.Postgres != nil {
		ps = append(ps, &pgProvisioner{d: *d.Postgres, env: env})
	}
	if d.Valkey != nil {
		ps = append(ps, &valkeyProvisioner{d: *d.Valkey, env: env})
	}
	if d.OpenSearch != nil {
		ps = append(ps, &openSearchProvisioner{d: *d.OpenSearch, env: env})
	}
	if d.Grafana != nil {
		ps = append(ps, &grafanaProvisioner{d: *d.Grafana, env: env})
	}
	return ps
}
