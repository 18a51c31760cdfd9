package loki

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// pushLog is what a test server received: decoded bodies, headers.
type pushLog struct {
	mu      sync.Mutex
	bodies  []map[string][]struct{ Values [][2]string }
	headers []http.Header
}

func server(t *testing.T, status func(n int, gzipped bool) int) (*httptest.Server, *pushLog) {
	t.Helper()
	log := &pushLog{}
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.mu.Lock()
		defer log.mu.Unlock()
		n++
		var body io.Reader = r.Body
		gz := r.Header.Get("Content-Encoding") == "gzip"
		if gz {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				t.Error(err)
				return
			}
			body = zr
		}
		var b map[string][]struct{ Values [][2]string }
		if err := json.NewDecoder(body).Decode(&b); err != nil {
			t.Errorf("body is not JSON: %v", err)
		}
		code := status(n, gz)
		if code/100 == 2 {
			log.bodies = append(log.bodies, b)
			log.headers = append(log.headers, r.Header.Clone())
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(srv.Close)
	return srv, log
}

func lines(n int, size int) []Entry {
	t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	var es []Entry
	for i := n - 1; i >= 0; i-- { // out of order on purpose
		es = append(es, Entry{Time: t0.Add(time.Duration(i) * time.Millisecond), Line: strings.Repeat("x", size)})
	}
	return es
}

// A push is cut into batches of about MaxBatchBytes, gzip'd, each stream's
// entries in time order, with the tenant and the token from its file.
func TestPushBatchesGzipsAndSorts(t *testing.T) {
	srv, log := server(t, func(int, bool) int { return http.StatusNoContent })
	tok := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tok, []byte("t0ken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{URL: srv.URL, Tenant: "team-a", TokenFile: tok})
	if err != nil {
		t.Fatal(err)
	}
	n, err := c.Push(t.Context(), []Stream{{Labels: map[string]string{"kind": "log"}, Entries: lines(3000, 1000)}})
	if err != nil || n != 3000 {
		t.Fatalf("pushed %d, %v", n, err)
	}
	if len(log.bodies) < 3 {
		t.Errorf("%d requests for 3 MB: not batched", len(log.bodies))
	}
	var last string
	total := 0
	for i, b := range log.bodies {
		for _, s := range b["streams"] {
			for _, v := range s.Values {
				if v[0] < last && len(v[0]) == len(last) {
					t.Fatalf("entries out of order: %s after %s", v[0], last)
				}
				last = v[0]
				total++
			}
		}
		h := log.headers[i]
		if h.Get("X-Scope-OrgID") != "team-a" || h.Get("Authorization") != "Bearer t0ken" || h.Get("Content-Encoding") != "gzip" {
			t.Errorf("request %d headers %v", i, h)
		}
	}
	if total != 3000 {
		t.Errorf("received %d lines", total)
	}
}

// Loki 1.x reads only plain JSON: a 400 to a gzip'd push is retried plain,
// and plain from then on.
func TestPushFallsBackToPlainJSON(t *testing.T) {
	srv, log := server(t, func(_ int, gz bool) int {
		if gz {
			return http.StatusBadRequest
		}
		return http.StatusNoContent
	})
	c, err := New(Config{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if n, err := c.Push(t.Context(), []Stream{{Labels: map[string]string{"kind": "result"}, Entries: lines(2, 10)}}); err != nil || n != 2 {
			t.Fatalf("pushed %d, %v", n, err)
		}
	}
	if len(log.bodies) != 2 || log.headers[1].Get("Content-Encoding") != "" {
		t.Errorf("%d pushes accepted; second encoding %q", len(log.bodies), log.headers[len(log.headers)-1].Get("Content-Encoding"))
	}
}

// 5xx and 429 are retried with backoff; past the deadline the push gives
// up with an error that says so.
func TestPushRetriesThenGivesUpAtTheDeadline(t *testing.T) {
	srv, _ := server(t, func(n int, _ bool) int {
		if n < 3 {
			return http.StatusServiceUnavailable
		}
		return http.StatusNoContent
	})
	c, _ := New(Config{URL: srv.URL, Timeout: 5 * time.Second})
	if n, err := c.Push(t.Context(), []Stream{{Labels: map[string]string{"a": "b"}, Entries: lines(1, 1)}}); err != nil || n != 1 {
		t.Fatalf("after two 503s: %d, %v", n, err)
	}
	down, _ := server(t, func(int, bool) int { return http.StatusTooManyRequests })
	c, _ = New(Config{URL: down.URL, Timeout: 300 * time.Millisecond})
	_, err := c.Push(t.Context(), []Stream{{Labels: map[string]string{"a": "b"}, Entries: lines(1, 1)}})
	if err == nil || !strings.Contains(err.Error(), "gave up after") || !strings.Contains(err.Error(), "429") {
		t.Errorf("push to a Loki that always says 429: %v", err)
	}
}

func TestNewRefusesBadConfigs(t *testing.T) {
	for _, cfg := range []Config{
		{URL: "loki:3100"},
		{URL: "http://user:pw@loki:3100"},
		{URL: "http://loki:3100", User: "u", PasswordFile: "/nowhere"},
		{URL: "https://loki:3100", CAFile: "/nowhere"},
		{URL: "ftp://user:pw@loki:3100"},       // a wrong scheme
		{URL: "http://user:pw@[::1"},           // does not parse
		{URL: "loki://user:pa@pw@loki:3100/x"}, // a password holding @
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		} else if strings.Contains(err.Error(), "pw@") {
			t.Errorf("the error shows the credential: %v", err)
		}
	}
}

// A query's answer that never ends is an error once it passed
// MaxAnswerBytes, not gigabytes of memory.
func TestQueryBoundsTheAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"data":{"result":[{"stream":{},"values":[`)
		entry := `["1","` + strings.Repeat("x", 4000) + `"],`
		for r.Context().Err() == nil {
			if _, err := io.WriteString(w, entry); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	c, err := New(Config{URL: srv.URL, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Query(t.Context(), `{a="b"}`, time.Now(), time.Now(), 10)
	if err == nil || !strings.Contains(err.Error(), "larger than 32 MiB") {
		t.Fatalf("Query = %v, want the answer refused as too large", err)
	}
}
