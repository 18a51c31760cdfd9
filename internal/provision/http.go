package provision

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

func httpClient(env Env) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = env.dial()
	return &http.Client{Transport: tr}
}

func (e Env) read(path string) ([]byte, error) {
	if e.ReadFile != nil {
		return e.ReadFile(path)
	}
	return os.ReadFile(path)
}

type openSearchProvisioner struct {
	d   OpenSearch
	env Env
}

func (p *openSearchProvisioner) do(ctx context.Context, hc *http.Client, method, path string, body []byte) (int, []byte, error) {
	return send(ctx, hc, method, strings.TrimRight(p.d.URL, "/")+path, body, "")
}

// send makes one request (a JSON body when body is not nil, basic auth
// when auth is not empty) and returns the status and at most 1 MiB of the
// response body.
func send(ctx context.Context, hc *http.Client, method, url string, body []byte, auth string) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", "Basic "+auth)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, nil
}

// Ensure puts the index templates (a PUT replaces: idempotent) and creates
// missing indexes.
func (p *openSearchProvisioner) Ensure(ctx context.Context) ([]Item, error) { return p.run(ctx, true) }

// Check expects 200 OK for every template and index (VAL-SPC-103).
func (p *openSearchProvisioner) Check(ctx context.Context) ([]Item, error) { return p.run(ctx, false) }

func (p *openSearchProvisioner) run(ctx context.Context, fix bool) ([]Item, error) {
	hc := httpClient(p.env)
	err := p.env.Retry.Wait(ctx, "opensearch "+p.d.URL, func(ctx context.Context) error {
		code, _, err := p.do(ctx, hc, http.MethodGet, "/_cluster/health", nil)
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("cluster health: HTTP %d", code)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	var items []Item
	for _, t := range p.d.Templates {
		item := Item{Backend: "opensearch", Resource: "index template " + t.Name}
		code, _, err := p.do(ctx, hc, http.MethodGet, "/_index_template/"+t.Name, nil)
		if err != nil {
			return items, err
		}
		switch {
		case code == http.StatusOK && !fix:
			item.Status = OK
		case !fix:
			item.Status, item.Detail = Missing, fmt.Sprintf("HTTP %d", code)
		default:
			body, err := p.env.read(t.File)
			if err != nil {
				return items, fmt.Errorf("opensearch: template %s: %w", t.Name, err)
			}
			c, resp, err := p.do(ctx, hc, http.MethodPut, "/_index_template/"+t.Name, body)
			if err != nil || c != http.StatusOK {
				return items, fmt.Errorf("opensearch: put template %s: HTTP %d %s %v", t.Name, c, resp, err)
			}
			item.Status = Updated
			if code == http.StatusNotFound {
				item.Status = Created
			}
		}
		items = append(items, item)
	}
	for _, idx := range p.d.Indexes {
		item := Item{Backend: "opensearch", Resource: "index " + idx}
		code, _, err := p.do(ctx, hc, http.MethodHead, "/"+idx, nil)
		if err != nil {
			return items, err
		}
		switch {
		case code == http.StatusOK:
			item.Status = OK
			if fix {
				item.Status = Exists
			}
		case !fix:
			item.Status, item.Detail = Missing, fmt.Sprintf("HTTP %d", code)
		default:
			c, resp, err := p.do(ctx, hc, http.MethodPut, "/"+idx, nil)
			switch {
			case err != nil:
				return items, err
			case c == http.StatusOK:
				item.Status = Created
			case c == http.StatusBadRequest && bytes.Contains(resp, []byte("resource_already_exists_exception")):
				item.Status = Exists
			default:
				return items, fmt.Errorf("opensearch: create index %s: HTTP %d %s", idx, c, resp)
			}
		}
		items = append(items, item)
	}
	return items, nil
}

type grafanaProvisioner struct {
	d   Grafana
	env Env
}

func (p *grafanaProvisioner) do(ctx context.Context, hc *http.Client, method, path string, body any) (int, []byte, error) {
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	pw, err := p.env.Secrets(p.d.PasswordSecret)
	if err != nil {
		return 0, nil, fmt.Errorf("grafana: password secret %q: %w", p.d.PasswordSecret, err)
	}
	user := p.d.User
	if user == "" {
		user = "admin"
	}
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pw))
	return send(ctx, hc, method, strings.TrimRight(p.d.URL, "/")+path, b, auth)
}

// Ensure creates folders and data sources that are missing and imports the
// dashboards (overwrite: true makes the import idempotent).
func (p *grafanaProvisioner) Ensure(ctx context.Context) ([]Item, error) { return p.run(ctx, true) }

// Check looks every folder, data source and dashboard up by name or uid.
func (p *grafanaProvisioner) Check(ctx context.Context) ([]Item, error) { return p.run(ctx, false) }

func (p *grafanaProvisioner) run(ctx context.Context, fix bool) ([]Item, error) {
	hc := httpClient(p.env)
	if err := p.env.Retry.Wait(ctx, "grafana "+p.d.URL, func(ctx context.Context) error {
		code, _, err := p.do(ctx, hc, http.MethodGet, "/api/health", nil)
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("health: HTTP %d", code)
		}
		return err
	}); err != nil {
		return nil, err
	}
	var items []Item
	// Folders, by title.
	code, body, err := p.do(ctx, hc, http.MethodGet, "/api/folders", nil)
	if err != nil || code != http.StatusOK {
		return nil, fmt.Errorf("grafana: list folders: HTTP %d %v", code, err)
	}
	var folders []struct {
		UID   string `json:"uid"`
		Title string `json:"title"`
	}
	_ = json.Unmarshal(body, &folders)
	folderUID := map[string]string{}
	for _, f := range folders {
		folderUID[f.Title] = f.UID
	}
	for _, title := range p.d.Folders {
		item := Item{Backend: "grafana", Resource: "folder " + title, Status: OK}
		if _, ok := folderUID[title]; ok {
			if fix {
				item.Status = Exists
			}
		} else if !fix {
			item.Status = Missing
		} else {
			c, b, err := p.do(ctx, hc, http.MethodPost, "/api/folders", map[string]string{"title": title})
			switch {
			case err != nil:
				return items, err
			case c == http.StatusOK:
				var f struct {
					UID string `json:"uid"`
				}
				_ = json.Unmarshal(b, &f)
				folderUID[title] = f.UID
				item.Status = Created
			case c == http.StatusConflict || c == http.StatusPreconditionFailed:
				item.Status = Exists
			default:
				return items, fmt.Errorf("grafana: create folder %s: HTTP %d %s", title, c, b)
			}
		}
		items = append(items, item)
	}
	for _, ds := range p.d.Datasources {
		name, _ := ds["name"].(string)
		item := Item{Backend: "grafana", Resource: "data source " + name, Status: OK}
		c, _, err := p.do(ctx, hc, http.MethodGet, "/api/datasources/name/"+name, nil)
		if err != nil {
			return items, err
		}
		switch {
		case c == http.StatusOK:
			if fix {
				item.Status = Exists
			}
		case !fix:
			item.Status = Missing
		default:
			c, b, err := p.do(ctx, hc, http.MethodPost, "/api/datasources", ds)
			switch {
			case err != nil:
				return items, err
			case c == http.StatusOK:
				item.Status = Created
			case c == http.StatusConflict:
				item.Status = Exists
			default:
				return items, fmt.Errorf("grafana: create data source %s: HTTP %d %s", name, c, b)
			}
		}
		items = append(items, item)
	}
	for _, d := range p.d.Dashboards {
		raw, err := p.env.read(d.File)
		if err != nil {
			return items, fmt.Errorf("grafana: dashboard %s: %w", d.File, err)
		}
		var dash map[string]any
		if err := json.Unmarshal(raw, &dash); err != nil {
			return items, fmt.Errorf("grafana: dashboard %s: %w", d.File, err)
		}
		uid, _ := dash["uid"].(string)
		item := Item{Backend: "grafana", Resource: "dashboard " + uid, Status: OK}
		c, _, err := p.do(ctx, hc, http.MethodGet, "/api/dashboards/uid/"+uid, nil)
		if err != nil {
			return items, err
		}
		if !fix {
			if c != http.StatusOK {
				item.Status, item.Detail = Missing, fmt.Sprintf("HTTP %d", c)
			}
			items = append(items, item)
			continue
		}
		req := map[string]any{"dashboard": dash, "overwrite": true}
		if d.Folder != "" {
			req["folderUid"] = folderUID[d.Folder]
		}
		pc, b, err := p.do(ctx, hc, http.MethodPost, "/api/dashboards/db", req)
		if err != nil || pc != http.StatusOK {
			return items, fmt.Errorf("grafana: import dashboard %s: HTTP %d %s %v", uid, pc, b, err)
		}
		item.Status = Updated
		if c == http.StatusNotFound {
			item.Status = Created
		}
		items = append(items, item)
	}
	return items, nil
}
