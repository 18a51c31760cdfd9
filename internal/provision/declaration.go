// Package provision turns the x-infractl declaration on an init service into
// two uses of one description of its resources: Ensure creates them
// idempotently ("already exists" is success, REQ-AUTO-01), Check compares
// the backend with the declaration (VAL-SPC-103). One file per backend:
// Kafka (franz-go kadm), S3 (minio-go), Postgres (pgx), Valkey cluster
// (valkey-go), OpenSearch and Grafana (their HTTP APIs).
package provision

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/infractl/infractl/internal/compose"
	"github.com/infractl/infractl/internal/fileobj"
)

//go:embed schema.json
var schemaJSON []byte

// ErrDeclaration is the category of invalid declarations (exit code 2).
var ErrDeclaration = errors.New("invalid x-infractl declaration")

// Declaration is what one init service provisions.
type Declaration struct {
	Service    string      `json:"-"`
	Kafka      *Kafka      `json:"kafka,omitempty"`
	S3         *S3         `json:"s3,omitempty"`
	Postgres   *Postgres   `json:"postgres,omitempty"`
	Valkey     *Valkey     `json:"valkey,omitempty"`
	OpenSearch *OpenSearch `json:"opensearch,omitempty"`
	Grafana    *Grafana    `json:"grafana,omitempty"`
}

// Kafka declares topics.
type Kafka struct {
	Bootstrap []string `json:"bootstrap"`
	Topics    []Topic  `json:"topics"`
}

// Topic is one Kafka topic. Check compares only what is declared.
type Topic struct {
	Name        string            `json:"name"`
	Partitions  int32             `json:"partitions"`
	Replication int16             `json:"replication"`
	Config      map[string]string `json:"config"`
}

// S3 declares buckets.
type S3 struct {
	Endpoint        string   `json:"endpoint"`
	Region          string   `json:"region"`
	AccessKeySecret string   `json:"accessKeySecret"`
	SecretKeySecret string   `json:"secretKeySecret"`
	Buckets         []Bucket `json:"buckets"`
}

// Bucket is one S3 bucket.
type Bucket struct {
	Name       string         `json:"name"`
	Versioning bool           `json:"versioning"`
	Policy     map[string]any `json:"policy"`
}

// Postgres declares roles and databases.
type Postgres struct {
	Host           string     `json:"host"`
	User           string     `json:"user"`
	PasswordSecret string     `json:"passwordSecret"`
	Roles          []Role     `json:"roles"`
	Databases      []Database `json:"databases"`
}

// Role is a Postgres role.
type Role struct {
	Name           string `json:"name"`
	Login          bool   `json:"login"`
	PasswordSecret string `json:"passwordSecret"`
}

// Database is a Postgres database.
type Database struct {
	Name   string  `json:"name"`
	Owner  string  `json:"owner"`
	Grants []Grant `json:"grants"`
}

// Grant is a database privilege for a role.
type Grant struct {
	Role       string   `json:"role"`
	Privileges []string `json:"privileges"`
}

// Valkey declares a cluster.
type Valkey struct {
	Nodes    []string `json:"nodes"`
	Replicas int      `json:"replicas"`
}

// OpenSearch declares index templates and indexes.
type OpenSearch struct {
	URL       string     `json:"url"`
	Templates []Template `json:"templates"`
	Indexes   []string   `json:"indexes"`
}

// Template is an index template read from a file of the project.
type Template struct {
	Name string `json:"name"`
	File string `json:"file"`
}

// Grafana declares folders, data sources and dashboards.
type Grafana struct {
	URL            string           `json:"url"`
	User           string           `json:"user"`
	PasswordSecret string           `json:"passwordSecret"`
	Folders        []string         `json:"folders"`
	Datasources    []map[string]any `json:"datasources"`
	Dashboards     []Dashboard      `json:"dashboards"`
}

// Dashboard is a dashboard JSON file of the project.
type Dashboard struct {
	File   string `json:"file"`
	Folder string `json:"folder"`
}

var literalCredential = []string{"password", "secret", "secretKey", "accessKey", "token"}

// Declarations reads and validates the x-infractl declarations of every
// service, sorted by service. Errors name the file and line.
func Declarations(m *compose.Model) ([]Declaration, error) {
	schema, err := compileSchema()
	if err != nil {
		return nil, err
	}
	var out []Declaration
	var problems []string
	for _, n := range m.Names {
		s := m.Services[n]
		raw, ok := s.Config.Extensions["x-infractl"]
		if !ok || s.Hook != nil {
			continue
		}
		loc := m.Index.Key(n, "x-infractl")
		b, err := json.Marshal(raw)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: service %q: x-infractl: %v", loc, n, err))
			continue
		}
		if lit := findLiteralCredential(raw, ""); lit != "" {
			problems = append(problems, fmt.Sprintf("%s: service %q: x-infractl %s is a literal credential; reference a compose secret instead (e.g. passwordSecret: <secret name>), SEC-SPC-AUTO-001",
				m.Index.Key(n, append([]string{"x-infractl"}, strings.Split(lit, ".")...)...), n, lit))
			continue
		}
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: service %q: x-infractl: %v", loc, n, err))
			continue
		}
		if err := schema.Validate(inst); err != nil {
			var ve *jsonschema.ValidationError
			msg := err.Error()
			if errors.As(err, &ve) {
				msg = flatten(ve)
			}
			problems = append(problems, fmt.Sprintf("%s: service %q: x-infractl does not match internal/provision/schema.json: %s", loc, n, msg))
			continue
		}
		var d Declaration
		if err := json.Unmarshal(b, &d); err != nil {
			problems = append(problems, fmt.Sprintf("%s: service %q: x-infractl: %v", loc, n, err))
			continue
		}
		d.Service = n
		for _, ref := range d.secretRefs() {
			if _, ok := m.Project.Secrets[ref.name]; !ok {
				// The value is not echoed: it may be a password typed where
				// a secret's name goes.
				problems = append(problems, fmt.Sprintf("%s: service %q: x-infractl %s names a secret the project does not define (the value is not shown: it may be a password); the project's secrets: %s",
					loc, n, ref.key, definedSecrets(m)))
			}
		}
		if d.Kafka == nil && d.S3 == nil && d.Postgres == nil && d.Valkey == nil && d.OpenSearch == nil && d.Grafana == nil {
			continue // only lint suppressions
		}
		out = append(out, d)
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, fmt.Errorf("%s: %w", strings.Join(problems, "; "), ErrDeclaration)
	}
	return out, nil
}

func compileSchema() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(schemaJSON)))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("schema.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("schema.json")
}

var english = message.NewPrinter(language.English)

func flatten(ve *jsonschema.ValidationError) string {
	var msgs []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			// The kind's own English text ("got string, want integer"),
			// not a Go value dump.
			msgs = append(msgs, fmt.Sprintf("at /%s: %s", strings.Join(e.InstanceLocation, "/"), e.ErrorKind.LocalizedString(english)))
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	sort.Strings(msgs)
	return strings.Join(msgs, "; ")
}

// findLiteralCredential returns the path of a key that holds a literal
// credential (password: ..., secretKey: ...).
func findLiteralCredential(v any, path string) string {
	switch x := v.(type) {
	case map[string]any:
		keys := slices.Sorted(maps.Keys(x))
		for _, k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			for _, lit := range literalCredential {
				if strings.EqualFold(k, lit) {
					return p
				}
			}
			if r := findLiteralCredential(x[k], p); r != "" {
				return r
			}
		}
	case []any:
		for _, item := range x {
			if r := findLiteralCredential(item, path); r != "" {
				return r
			}
		}
	}
	return ""
}

// secretRef is a reference to a compose secret, with the key that holds it.
type secretRef struct{ key, name string }

func (d Declaration) secretRefs() []secretRef {
	var refs []secretRef
	if d.S3 != nil {
		refs = append(refs, secretRef{"s3.accessKeySecret", d.S3.AccessKeySecret}, secretRef{"s3.secretKeySecret", d.S3.SecretKeySecret})
	}
	if d.Postgres != nil {
		refs = append(refs, secretRef{"postgres.passwordSecret", d.Postgres.PasswordSecret})
		for i, r := range d.Postgres.Roles {
			if r.PasswordSecret != "" {
				refs = append(refs, secretRef{fmt.Sprintf("postgres.roles[%d].passwordSecret", i), r.PasswordSecret})
			}
		}
	}
	if d.Grafana != nil {
		refs = append(refs, secretRef{"grafana.passwordSecret", d.Grafana.PasswordSecret})
	}
	return refs
}

// definedSecrets lists the project's secret names, for an error.
func definedSecrets(m *compose.Model) string {
	names := slices.Sorted(maps.Keys(m.Project.Secrets))
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// Secrets resolves a compose secret's value: from /run/secrets inside a
// container, from the secret's source file on the host.
type Secrets func(name string) (string, error)

// HostSecrets reads secrets from their source files in the project.
func HostSecrets(m *compose.Model) Secrets {
	return func(name string) (string, error) {
		s, ok := m.Project.Secrets[name]
		if !ok {
			return "", fmt.Errorf("secret %q is not defined", name)
		}
		switch {
		case s.File != "":
			b, err := fileobj.Read(s.File)
			return strings.TrimRight(string(b), "\r\n"), err
		case s.Environment != "":
			return m.Project.Environment[s.Environment], nil
		}
		return s.Content, nil
	}
}

// ContainerSecrets reads secrets from /run/secrets/<name>.
func ContainerSecrets(dir string) Secrets {
	return func(name string) (string, error) {
		b, err := fileobj.Read(dir + "/" + name)
		return strings.TrimRight(string(b), "\r\n"), err
	}
}
