package compose_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infractl/infractl/internal/compose"
	"github.com/infractl/infractl/internal/engine/memengine"
)

// Each discovery rule of discover.go on the smallest stack that shows it.
func TestOneShotDiscovery(t *testing.T) {
	dir := t.TempDir()
	yaml := `
x-migrations: &migrations
  image: app
  restart: on-failure
services:
  db:
    image: postgres
  no-restart-key:
    image: tool
    command: ["./scripts/migrate.sh"]
  on-failure:
    <<: *migrations
    command: migrate up -y
  short-form:
    image: tool
    command: sh -c "sleep 5; kafka-topics --create --topic t --bootstrap-server kafka:9092"
    depends_on: [db]
  image-only:
    image: minio/mc:RELEASE.2025-01-01
    depends_on: [db]
  backend-waits-on-it:
    image: tool
    command: generate-keys
  consumer:
    image: app
    depends_on: [backend-waits-on-it]
    restart: unless-stopped
  provisions-then-stays:
    image: minio/mc
    entrypoint: sh -c "mc mb local/b; tail -f /dev/null"
  serves:
    image: app
    command: serve --migrate
  restart-always-init:
    image: tool
    restart: always
    command: init
  init-with-ports:
    image: tool
    command: init
    ports: ["8080:8080"]
  init-with-healthcheck:
    image: tool
    command: init
    healthcheck: {test: ["CMD", "true"]}
  no-evidence:
    image: some/ui
    restart: on-failure
  flag-not-a-verb:
    image: tool
    command: create-topic --bootstrap-server kafka:9092
  commented:
    image: tool
    entrypoint: ["sh", "-c"]
    command:
      - |
        # on first run this creates, later runs are a no-op
        seed-db
`
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	m := load(t, compose.Options{Files: []string{filepath.Join(dir, "compose.yaml")}})
	tests := []struct {
		name   string
		init   bool
		reason string
	}{
		{"no-restart-key", true, `one-shot (restart unset: compose's default "no", no healthcheck, no ports): its command runs "migrate"`},
		{"on-failure", true, `one-shot (restart: "on-failure", no healthcheck, no ports): its command runs "migrate"`},
		{"short-form", true, `its command runs with --create`},
		{"image-only", true, `its image is minio/mc`},
		{"backend-waits-on-it", true, `its command runs "generate"`},
		{"flag-not-a-verb", true, `its command runs "create"`},
		{"commented", true, `its command runs "seed"`},
		{"provisions-then-stays", false, ""},
		{"serves", false, ""},
		{"restart-always-init", false, ""},
		{"init-with-ports", false, ""},
		{"init-with-healthcheck", false, ""},
		{"no-evidence", false, ""},
		{"db", false, ""},
	}
	for _, tt := range tests {
		s := m.Services[tt.name]
		if got := s.Role == compose.RoleInit; got != tt.init || !strings.Contains(s.Reason, tt.reason) {
			t.Errorf("%s: %s %q; want init=%v, reason containing %q", tt.name, s.Role, s.Reason, tt.init, tt.reason)
		}
	}
}

// The textbook init reads its secret from /run/secrets: the path's "run"
// is not "runs for good", nor is a URL's host or path (#25 item 15).
func TestPathsAndURLsDoNotSayRunsForGood(t *testing.T) {
	yaml := `
services:
  db:
    image: postgres
    healthcheck: {test: ["CMD", "pg_isready"]}
  db-init:
    image: postgres
    restart: "no"
    command: ["sh", "-c", "psql -c \"create role app password '$$(cat /run/secrets/db_password)'\""]
    depends_on: {db: {condition: service_healthy}}
  trigger-init:
    image: curl
    restart: "no"
    command: ["curl", "-X", "POST", "http://server:8080/run/start"]
    depends_on: {db: {condition: service_healthy}}
  app-server:
    image: app
    command: ["/usr/local/bin/server"]
`
	m := memengine.LoadYAML(t, "p", yaml)
	for name, want := range map[string]compose.Role{"db-init": compose.RoleInit, "trigger-init": compose.RoleInit, "app-server": compose.RoleApp} {
		if got := m.Services[name].Role; got != want {
			t.Errorf("%s: role %s, want %s (%s)", name, got, want, m.Services[name].Reason)
		}
	}
}
