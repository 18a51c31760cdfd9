// Package loki pushes infractl's results and the inits' (redacted) log
// lines to Grafana Loki's push API and reads them back with query_range,
// so that automation results are searchable in Loki (SPEC-INFRA-03 §9).
//
// It is a small client of its own: the push API is one JSON POST, and the
// Go clients that exist are the AGPL Loki module (grafana/loki/v3) or
// promtail's, which would pull a log shipper into the product. What it
// does: batching (one request per MaxBatchBytes), gzip, retries with
// backoff on network errors, 429 and 5xx within one deadline, bounded
// memory (MaxLinesPerStream), X-Scope-OrgID, basic auth or a bearer token
// read from a file, TLS with a CA file.
package loki

import (
	"github.com/infractl/infractl/internal/redact"

	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Labels follow the Docker Loki logging driver's (compose_project,
// compose_service, container_name) plus infractl's own, few and fixed.
const (
	LabelProject   = "compose_project"
	LabelService   = "compose_service"
	LabelContainer = "container_name"
	LabelSource    = "source"
	LabelKind      = "kind"
	Source         = "infractl"
	KindResult     = "result"
	KindLog        = "log"
)

// Limits that keep a push bounded.
const (
	MaxBatchBytes     = 1 << 20
	MaxLinesPerStream = 5000
	MaxLineBytes      = 16 << 10
)

// Entry is one line at a time.
type Entry struct {
	Time time.Time
	Line string
}

// Stream is a set of labels and its entries (sorted by time when pushed:
// Loki refuses out-of-order entries in a stream).
type Stream struct {
	Labels  map[string]string
	Entries []Entry
}

// Config says where and how to push.
type Config struct {
	URL string
	// Tenant is sent as X-Scope-OrgID (multi-tenant Loki).
	Tenant string
	// User and PasswordFile give basic auth; TokenFile a bearer token. The
	// secrets are read from files, never taken from a flag's value.
	User, PasswordFile, TokenFile string
	// CAFile trusts a private CA for https.
	CAFile string
	// Timeout bounds the whole push, retries included.
	Timeout time.Duration
}

// Client talks to one Loki.
type Client struct {
	cfg  Config
	base *url.URL
	http *http.Client
	auth func(*http.Request)
	// plain is set once Loki refused a gzip'd push (Loki 1.x reads only
	// plain JSON): later pushes are sent as they are.
	plain atomic.Bool
}

// New checks the configuration and reads the credential files.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(cfg.URL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--loki-url %q: want http(s)://host[:port] (Loki's base URL)", redact.StripUserinfo(cfg.URL))
	}
	if u.User != nil {
		return nil, errors.New("--loki-url must not hold credentials (they would show in ps): use --loki-user with --loki-password-file, or --loki-token-file")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	c := &Client{cfg: cfg, base: u, auth: func(*http.Request) {}}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("--loki-ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--loki-ca-file %s: no certificate in it", cfg.CAFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	c.http = &http.Client{Transport: tr}
	switch {
	case cfg.TokenFile != "":
		tok, err := readSecret(cfg.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("--loki-token-file: %w", err)
		}
		c.auth = func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
	case cfg.User != "":
		pw, err := readSecret(cfg.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("--loki-password-file: %w", err)
		}
		c.auth = func(r *http.Request) { r.SetBasicAuth(cfg.User, pw) }
	}
	return c, nil
}

func readSecret(file string) (string, error) {
	if file == "" {
		return "", errors.New("no file given")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// URL is the base URL, for messages.
func (c *Client) URL() string { return c.base.String() }

// Push sends the streams in batches of at most MaxBatchBytes, each gzip'd,
// retrying a batch on network errors, 429 and 5xx with backoff until the
// deadline. It returns how many lines Loki accepted and the first error.
func (c *Client) Push(ctx context.Context, streams []Stream) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	type wireStream struct {
		Stream map[string]string `json:"stream"`
		Values [][2]string       `json:"values"`
	}
	var batches [][]wireStream
	var cur []wireStream
	size := 0
	for _, s := range streams {
		es := bound(s.Entries)
		sort.SliceStable(es, func(i, j int) bool { return es[i].Time.Before(es[j].Time) })
		ws := wireStream{Stream: s.Labels}
		for _, e := range es {
			ws.Values = append(ws.Values, [2]string{strconv.FormatInt(e.Time.UnixNano(), 10), e.Line})
			size += len(e.Line) + 32
			if size >= MaxBatchBytes {
				// This batch is full: the stream goes on in the next.
				batches = append(batches, append(cur, ws))
				cur, size, ws = nil, 0, wireStream{Stream: s.Labels}
			}
		}
		if len(ws.Values) > 0 {
			cur = append(cur, ws)
		}
	}
	if len(cur) > 0 {
		batches = append(batches, cur)
	}
	pushed := 0
	for _, b := range batches {
		body, err := json.Marshal(map[string]any{"streams": b})
		if err != nil {
			return pushed, err
		}
		if err := c.send(ctx, body); err != nil {
			return pushed, err
		}
		for _, s := range b {
			pushed += len(s.Values)
		}
	}
	return pushed, nil
}

// bound keeps the last MaxLinesPerStream entries, each cut to
// MaxLineBytes.
func bound(es []Entry) []Entry {
	if len(es) > MaxLinesPerStream {
		es = es[len(es)-MaxLinesPerStream:]
	}
	out := make([]Entry, len(es))
	for i, e := range es {
		if len(e.Line) > MaxLineBytes {
			e.Line = e.Line[:MaxLineBytes] + fmt.Sprintf("… [line cut: %d bytes]", len(e.Line))
		}
		out[i] = e
	}
	return out
}

func (c *Client) send(ctx context.Context, body []byte) error {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(body); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	backoff := 100 * time.Millisecond
	// last is Loki's last answer (or the last network error): what a
	// give-up reports, even when the deadline cut a request short.
	var last error
	for attempt := 1; ; attempt++ {
		zipped := !c.plain.Load()
		payload := body
		if zipped {
			payload = gz.Bytes()
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.String()+"/loki/api/v1/push", bytes.NewReader(payload))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		if zipped {
			req.Header.Set("Content-Encoding", "gzip")
		}
		c.headers(req)
		resp, err := c.http.Do(req)
		retry := false
		if err == nil {
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			resp.Body.Close()
			switch {
			case resp.StatusCode/100 == 2:
				return nil
			case zipped && (resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnsupportedMediaType):
				// An older Loki that reads only plain JSON: say it once
				// and send plain from now on.
				c.plain.Store(true)
				continue
			case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
				retry = true
				err = fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(msg)))
			default:
				return fmt.Errorf("push to %s: %s: %s", c.base, resp.Status, strings.TrimSpace(string(msg)))
			}
		} else {
			retry = true
		}
		if !retry {
			return err
		}
		if last == nil || ctx.Err() == nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("push to %s: gave up after %d attempts within %s: %w", c.base, attempt, c.cfg.Timeout, last)
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

func (c *Client) headers(req *http.Request) {
	if c.cfg.Tenant != "" {
		req.Header.Set("X-Scope-OrgID", c.cfg.Tenant)
	}
	c.auth(req)
}

// Line is one line a query returned, with its stream's labels.
type Line struct {
	Labels map[string]string
	Time   time.Time
	Line   string
}

// MaxAnswerBytes bounds the answer to a query that infractl reads (a
// longer one is an error, not gigabytes of memory).
const MaxAnswerBytes = 32 << 20

// Query runs a LogQL stream query over [start, end] (query_range,
// forward), at most limit lines.
func (c *Client) Query(ctx context.Context, logql string, start, end time.Time, limit int) ([]Line, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	q := url.Values{}
	q.Set("query", logql)
	q.Set("start", strconv.FormatInt(start.UnixNano(), 10))
	q.Set("end", strconv.FormatInt(end.UnixNano(), 10))
	q.Set("limit", strconv.Itoa(limit))
	q.Set("direction", "forward")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base.String()+"/loki/api/v1/query_range?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	c.headers(req)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("query %s: %s: %s", c.base, resp.Status, strings.TrimSpace(string(msg)))
	}
	var r struct {
		Data struct {
			Result []struct {
				Stream map[string]string `json:"stream"`
				Values [][2]string       `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	body := &io.LimitedReader{R: resp.Body, N: MaxAnswerBytes + 1}
	if err := json.NewDecoder(body).Decode(&r); err != nil {
		if body.N <= 0 {
			return nil, fmt.Errorf("query %s: its answer is larger than %d MiB; infractl reads no more (ask for fewer lines)", c.base, MaxAnswerBytes>>20)
		}
		return nil, fmt.Errorf("query %s: %w", c.base, err)
	}
	var out []Line
	for _, s := range r.Data.Result {
		for _, v := range s.Values {
			ns, _ := strconv.ParseInt(v[0], 10, 64)
			out = append(out, Line{Labels: s.Stream, Time: time.Unix(0, ns), Line: v[1]})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, nil
}
