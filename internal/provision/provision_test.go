package provision

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/infractl/infractl/internal/compose"
)

func load(t *testing.T, dir string, env ...string) *compose.Model {
	t.Helper()
	abs, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "compose", dir))
	var envFiles []string
	for _, e := range env {
		envFiles = append(envFiles, filepath.Join(abs, e))
	}
	m, err := compose.Load(t.Context(), compose.Options{Files: []string{filepath.Join(abs, "compose.yaml")}, EnvFiles: envFiles})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDeclarationErrors(t *testing.T) {
	tests := []struct {
		fixture string
		want    []string
	}{
		{"provision-literal-password", []string{"compose.yaml:15:9", `"pg-init"`, "postgres.password is a literal credential", "SEC-SPC-AUTO-001"}},
		{"provision-schema-error", []string{"compose.yaml:12:5", `"kafka-init"`, "/kafka/bootstrap/0", "/kafka/topics/0/partitions"}},
		{"provision-unknown-secret", []string{`"minio-create-buckets"`, `s3.accessKeySecret names a secret the project does not define`, "the project's secrets: none"}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			_, err := Declarations(load(t, tt.fixture))
			if !errors.Is(err, ErrDeclaration) {
				t.Fatalf("err = %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Error("the error shows the literal password")
			}
		})
	}
}

func TestDemoDeclarations(t *testing.T) {
	ds, err := Declarations(load(t, "demo", ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range ds {
		got = append(got, d.Service)
	}
	want := "k-init kafka-init minio-create-buckets mng-pg-init pg-cluster-init valkey-cluster-init"
	if strings.Join(got, " ") != want {
		t.Errorf("declarations on %v, want %s", got, want)
	}
}

func TestSamePolicyByMeaning(t *testing.T) {
	want := map[string]any{"Statement": []any{map[string]any{
		"Effect": "Allow", "Principal": map[string]any{"AWS": []any{"*"}},
		"Action": []any{"s3:GetObject", "s3:ListBucket"}, "Resource": "arn:aws:s3:::raw/*",
	}}}
	tests := []struct {
		name string
		have string
		same bool
	}{
		{"reordered and string vs list", `{"Version":"2012-10-17","Statement":[{"Resource":["arn:aws:s3:::raw/*"],"Action":["s3:ListBucket","s3:GetObject"],"Effect":"Allow","Principal":{"AWS":"*"}}]}`, true},
		{"different action", `{"Statement":[{"Resource":"arn:aws:s3:::raw/*","Action":"s3:GetObject","Effect":"Allow","Principal":{"AWS":"*"}}]}`, false},
		{"no policy", ``, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := samePolicy(tt.have, want); got != tt.same {
				t.Errorf("samePolicy = %v, want %v", got, tt.same)
			}
		})
	}
}

func TestRetryIsBoundedAndNamesTheTarget(t *testing.T) {
	clock := clockwork.NewFakeClock()
	r := Retry{MaxRetries: 4, Deadline: time.Hour, Clock: clock}
	attempts := 0
	done := make(chan error, 1)
	go func() {
		done <- r.Wait(t.Context(), "kafka-1:19092", func(context.Context) error {
			attempts++
			return errors.New("connection refused")
		})
	}()
	var err error
	for loop := true; loop; {
		select {
		case err = <-done:
			loop = false
		case <-time.After(time.Millisecond):
			clock.Advance(time.Second)
		}
	}
	if attempts != 4 {
		t.Errorf("attempts = %d, want 4", attempts)
	}
	if err == nil || !strings.Contains(err.Error(), "kafka-1:19092 not ready after 4 attempts") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("err = %v", err)
	}
}

// recorded is a fake HTTP server that replays exchanges recorded from the
// documented OpenSearch and Grafana APIs. These backends cannot run on this
// machine, so their provisioners are tested against it (a fake, by name).
type recorded struct {
	mu    sync.Mutex
	state map[string]bool // resources that exist
	log   []string
}

func (r *recorded) handler(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		defer r.mu.Unlock()
		body, _ := io.ReadAll(req.Body)
		key := req.Method + " " + req.URL.Path
		r.log = append(r.log, key)
		switch {
		case req.URL.Path == "/_cluster/health" || req.URL.Path == "/api/health":
			_, _ = io.WriteString(w, `{"status":"green","database":"ok"}`)
		case req.Method == http.MethodGet && strings.HasPrefix(req.URL.Path, "/_index_template/"),
			req.Method == http.MethodHead,
			req.Method == http.MethodGet && strings.HasPrefix(req.URL.Path, "/api/datasources/name/"),
			req.Method == http.MethodGet && strings.HasPrefix(req.URL.Path, "/api/dashboards/uid/"):
			if !r.state[req.URL.Path] {
				w.WriteHeader(http.StatusNotFound)
				_, _ = io.WriteString(w, `{"message":"not found"}`)
				return
			}
			_, _ = io.WriteString(w, `{}`)
		case req.Method == http.MethodPut:
			if strings.HasPrefix(req.URL.Path, "/_index_template/") && !json.Valid(body) {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			if !strings.HasPrefix(req.URL.Path, "/_index_template/") && r.state[req.URL.Path] {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(w, `{"error":{"type":"resource_already_exists_exception"}}`)
				return
			}
			r.state[req.URL.Path] = true
			_, _ = io.WriteString(w, `{"acknowledged":true}`)
		case key == "GET /api/folders":
			var out []map[string]string
			if r.state["/folders/Infra"] {
				out = append(out, map[string]string{"uid": "f1", "title": "Infra"})
			}
			_ = json.NewEncoder(w).Encode(out)
		case key == "POST /api/folders":
			r.state["/folders/Infra"] = true
			_, _ = io.WriteString(w, `{"uid":"f1","title":"Infra"}`)
		case key == "POST /api/datasources":
			var ds map[string]any
			_ = json.Unmarshal(body, &ds)
			r.state["/api/datasources/name/"+ds["name"].(string)] = true
			_, _ = io.WriteString(w, `{"message":"Datasource added"}`)
		case key == "POST /api/dashboards/db":
			var d struct {
				Dashboard map[string]any `json:"dashboard"`
				Overwrite bool           `json:"overwrite"`
			}
			_ = json.Unmarshal(body, &d)
			if !d.Overwrite {
				t.Errorf("dashboard import without overwrite: not idempotent")
			}
			r.state["/api/dashboards/uid/"+d.Dashboard["uid"].(string)] = true
			_, _ = io.WriteString(w, `{"status":"success"}`)
		default:
			t.Errorf("unexpected request %s", key)
			w.WriteHeader(http.StatusNotImplemented)
		}
	}
}

func statuses(items []Item) string {
	var s []string
	for _, it := range items {
		s = append(s, it.Resource+"="+string(it.Status))
	}
	return strings.Join(s, ", ")
}

// TestFakeOpenSearchRecordedExchanges: OpenSearch cannot run here; the
// provisioner is tested against recorded exchanges of its REST API.
func TestFakeOpenSearchRecordedExchanges(t *testing.T) {
	rec := &recorded{state: map[string]bool{}}
	srv := httptest.NewServer(rec.handler(t))
	defer srv.Close()
	env := Env{ReadFile: func(string) ([]byte, error) { return []byte(`{"index_patterns":["logs-*"]}`), nil }, Retry: Retry{MaxRetries: 2}}
	p := &openSearchProvisioner{d: OpenSearch{URL: srv.URL, Templates: []Template{{Name: "logs", File: "logs.json"}}, Indexes: []string{"audit"}}, env: env}
	items, err := p.Check(t.Context())
	if err != nil || statuses(items) != "index template logs=missing, index audit=missing" {
		t.Fatalf("check before: %s %v", statuses(items), err)
	}
	if items, err = p.Ensure(t.Context()); err != nil || statuses(items) != "index template logs=created, index audit=created" {
		t.Fatalf("first ensure: %s %v", statuses(items), err)
	}
	if items, err = p.Ensure(t.Context()); err != nil || statuses(items) != "index template logs=updated, index audit=exists" {
		t.Fatalf("second ensure: %s %v", statuses(items), err)
	}
	if items, err = p.Check(t.Context()); err != nil || statuses(items) != "index template logs=ok, index audit=ok" {
		t.Fatalf("check after: %s %v", statuses(items), err)
	}
}

// TestFakeGrafanaRecordedExchanges: Grafana cannot run here; the
// provisioner is tested against recorded exchanges of its HTTP API.
func TestFakeGrafanaRecordedExchanges(t *testing.T) {
	rec := &recorded{state: map[string]bool{}}
	srv := httptest.NewServer(rec.handler(t))
	defer srv.Close()
	env := Env{
		Secrets:  func(string) (string, error) { return "admin-pw", nil },
		ReadFile: func(string) ([]byte, error) { return []byte(`{"uid":"init-phase","title":"Init phase"}`), nil },
		Retry:    Retry{MaxRetries: 2},
	}
	p := &grafanaProvisioner{d: Grafana{URL: srv.URL, PasswordSecret: "grafana_admin_password", Folders: []string{"Infra"},
		Datasources: []map[string]any{{"name": "Loki", "type": "loki", "url": "http://loki:3100"}},
		Dashboards:  []Dashboard{{File: "init-phase.json", Folder: "Infra"}}}, env: env}
	if items, err := p.Ensure(t.Context()); err != nil || statuses(items) != "folder Infra=created, data source Loki=created, dashboard init-phase=created" {
		t.Fatalf("first ensure: %s %v", statuses(items), err)
	}
	if items, err := p.Ensure(t.Context()); err != nil || statuses(items) != "folder Infra=exists, data source Loki=exists, dashboard init-phase=updated" {
		t.Fatalf("second ensure: %s %v", statuses(items), err)
	}
	if items, err := p.Check(t.Context()); err != nil || statuses(items) != "folder Infra=ok, data source Loki=ok, dashboard init-phase=ok" {
		t.Fatalf("check: %s %v", statuses(items), err)
	}
}

func TestRunSelectionErrors(t *testing.T) {
	demo := load(t, "demo", ".env.example")
	tests := []struct {
		name     string
		m        *compose.Model
		services []string
		want     string
	}{
		{"a service not in the project", demo, []string{"nope"}, `service "nope" is not in the project`},
		{"a service without a declaration", demo, []string{"minio"}, "no x-infractl resource declaration found on [minio]"},
		{"a project without declarations", load(t, "chain"), nil, "no x-infractl resource declaration found in the project"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			_, _, err := Run(t.Context(), tt.m, Request{Services: tt.services}, func(string, Item) { called = true })
			if !errors.Is(err, ErrSelection) || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q (ErrSelection)", err, tt.want)
			}
			if called {
				t.Error("a backend was called")
			}
		})
	}
	if _, _, err := Run(t.Context(), load(t, "provision-schema-error"), Request{}, nil); !errors.Is(err, ErrDeclaration) {
		t.Errorf("invalid declaration: err = %v, want ErrDeclaration", err)
	}
}
