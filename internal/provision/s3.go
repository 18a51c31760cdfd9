package provision

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

type s3Provisioner struct {
	d   S3
	env Env
}

func (p *s3Provisioner) client(ctx context.Context) (*minio.Client, error) {
	ak, err := p.env.Secrets(p.d.AccessKeySecret)
	if err != nil {
		return nil, fmt.Errorf("s3: access key secret %q: %w", p.d.AccessKeySecret, err)
	}
	sk, err := p.env.Secrets(p.d.SecretKeySecret)
	if err != nil {
		return nil, fmt.Errorf("s3: secret key secret %q: %w", p.d.SecretKeySecret, err)
	}
	region := p.d.Region
	if region == "" {
		region = "us-east-1"
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = p.env.dial()
	opts := minio.Options{Creds: credentials.NewStaticV4(ak, sk, ""), Region: region, Transport: tr}
	mc, err := minio.New(p.d.Endpoint, &opts)
	if err != nil {
		return nil, err
	}
	// The readiness wait is the provisioner's own retry (--max-retries,
	// --deadline): its client does not retry inside each attempt, which
	// minio-go otherwise does up to 10 times with backoff.
	opts.MaxRetries = 1
	probe, err := minio.New(p.d.Endpoint, &opts)
	if err != nil {
		return nil, err
	}
	err = p.env.Retry.Wait(ctx, "s3 "+p.d.Endpoint, func(ctx context.Context) error {
		_, err := probe.ListBuckets(ctx)
		return err
	})
	return mc, err
}

// Ensure creates missing buckets and sets versioning and policies.
func (p *s3Provisioner) Ensure(ctx context.Context) ([]Item, error) { return p.run(ctx, true) }

// Check compares buckets, versioning and policies (by meaning).
func (p *s3Provisioner) Check(ctx context.Context) ([]Item, error) { return p.run(ctx, false) }

func (p *s3Provisioner) run(ctx context.Context, fix bool) ([]Item, error) {
	mc, err := p.client(ctx)
	if err != nil {
		return nil, err
	}
	var items []Item
	for _, b := range p.d.Buckets {
		item := Item{Backend: "s3", Resource: "bucket " + b.Name, Status: OK}
		if fix {
			item.Status = Exists
		}
		ok, err := mc.BucketExists(ctx, b.Name)
		if err != nil {
			return items, fmt.Errorf("s3: bucket %s: %w", b.Name, err)
		}
		if !ok {
			if !fix {
				item.Status = Missing
				items = append(items, item)
				continue
			}
			if err := mc.MakeBucket(ctx, b.Name, minio.MakeBucketOptions{}); err != nil {
				if code := minio.ToErrorResponse(err).Code; code != "BucketAlreadyOwnedByYou" && code != "BucketAlreadyExists" {
					return items, fmt.Errorf("s3: create bucket %s: %w", b.Name, err)
				}
			} else {
				item.Status = Created
			}
		}
		var notes []string
		if b.Versioning {
			vc, err := mc.GetBucketVersioning(ctx, b.Name)
			if err != nil {
				return items, fmt.Errorf("s3: versioning of %s: %w", b.Name, err)
			}
			if !vc.Enabled() {
				if fix {
					if err := mc.EnableVersioning(ctx, b.Name); err != nil {
						return items, fmt.Errorf("s3: enable versioning on %s: %w", b.Name, err)
					}
					notes = append(notes, "versioning enabled")
					if item.Status == Exists {
						item.Status = Updated
					}
				} else {
					item.Status = Drift
					notes = append(notes, "versioning is not enabled")
				}
			}
		}
		if b.Policy != nil {
			have, err := mc.GetBucketPolicy(ctx, b.Name)
			if err != nil && minio.ToErrorResponse(err).Code != "NoSuchBucketPolicy" {
				return items, fmt.Errorf("s3: policy of %s: %w", b.Name, err)
			}
			if !samePolicy(have, b.Policy) {
				if fix {
					want, _ := json.Marshal(b.Policy)
					if err := mc.SetBucketPolicy(ctx, b.Name, string(want)); err != nil {
						return items, fmt.Errorf("s3: set policy of %s: %w", b.Name, err)
					}
					notes = append(notes, "policy set")
					if item.Status == Exists {
						item.Status = Updated
					}
				} else {
					item.Status = Drift
					notes = append(notes, "bucket policy differs from the declaration")
				}
			}
		}
		item.Detail = strings.Join(notes, "; ")
		items = append(items, item)
	}
	return items, nil
}

// samePolicy compares two bucket policies by meaning: a string and a
// one-element list are the same, order of lists does not matter, Version and
// Id are ignored when one side omits them.
func samePolicy(have string, want map[string]any) bool {
	if strings.TrimSpace(have) == "" {
		return false
	}
	var h map[string]any
	if err := json.Unmarshal([]byte(have), &h); err != nil {
		return false
	}
	w := map[string]any{}
	b, _ := json.Marshal(want)
	_ = json.Unmarshal(b, &w)
	for _, k := range []string{"Version", "Id"} {
		if _, ok := w[k]; !ok {
			delete(h, k)
		}
	}
	return reflect.DeepEqual(normalize(h), normalize(w))
}

func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range x {
			n := normalize(val)
			switch k {
			case "Action", "NotAction", "Resource", "NotResource", "AWS", "Service", "Federated":
				if s, ok := n.(string); ok {
					n = []any{s}
				}
			}
			out[k] = n
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = normalize(val)
		}
		sort.Slice(out, func(i, j int) bool {
			a, _ := json.Marshal(out[i])
			b, _ := json.Marshal(out[j])
			return string(a) < string(b)
		})
		if len(out) == 1 {
			if s, ok := out[0].(string); ok && s == "*" {
				return []any{"*"}
			}
		}
		return out
	}
	return v
}
