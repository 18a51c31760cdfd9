package compose

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// Location is a position in a compose file, 1-based.
type Location struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
}

// String formats the location as file:line:col, or file when it has no line.
func (l Location) String() string {
	if l.Line == 0 {
		return l.File
	}
	return fmt.Sprintf("%s:%d:%d", l.File, l.Line, l.Column)
}

// LineIndex maps services (and keys inside them) to file positions. compose-go
// keeps no line numbers, so the index re-reads each compose file with yaml.v3
// nodes.
type LineIndex struct {
	files    []string
	services map[string][]serviceNode // in file order
	docs     map[string]*yaml.Node
	top      map[string]map[string]Location // section -> name -> location (secrets, networks, volumes)
	includes map[string]Location            // absolute include path -> where it is included
}

type serviceNode struct {
	file  string
	key   *yaml.Node
	value *yaml.Node
}

// NewLineIndex parses files; files that cannot be read or parsed are skipped
// (the loader reports those errors).
func NewLineIndex(files []string) *LineIndex {
	idx := &LineIndex{
		files:    files,
		services: map[string][]serviceNode{},
		docs:     map[string]*yaml.Node{},
		top:      map[string]map[string]Location{},
		includes: map[string]Location{},
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		idx.docs[f] = root
		if root.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(root.Content); i += 2 {
			section, body := root.Content[i], root.Content[i+1]
			if section.Value == "include" && body.Kind == yaml.SequenceNode {
				idx.indexIncludes(f, body)
				continue
			}
			if body.Kind != yaml.MappingNode {
				continue
			}
			for j := 0; j+1 < len(body.Content); j += 2 {
				k, v := body.Content[j], body.Content[j+1]
				if section.Value == "services" {
					idx.services[k.Value] = append(idx.services[k.Value], serviceNode{file: f, key: k, value: v})
					// Each pre_start hook is indexed under its node name, so
					// a hook's keys are located like a service's.
					if hooks, _ := child(v, "pre_start"); hooks != nil && hooks.Kind == yaml.SequenceNode {
						for h, hv := range hooks.Content {
							name := HookName(k.Value, h)
							idx.services[name] = append(idx.services[name], serviceNode{file: f, key: hv, value: hv})
						}
					}
					continue
				}
				if idx.top[section.Value] == nil {
					idx.top[section.Value] = map[string]Location{}
				}
				if _, ok := idx.top[section.Value][k.Value]; !ok {
					idx.top[section.Value][k.Value] = Location{File: f, Line: k.Line, Column: k.Column}
				}
			}
		}
	}
	return idx
}

// Service returns where service name is first declared.
func (x *LineIndex) Service(name string) (Location, bool) {
	nodes := x.services[name]
	if len(nodes) == 0 {
		return Location{}, false
	}
	n := nodes[0]
	return Location{File: n.file, Line: n.key.Line, Column: n.key.Column}, true
}

// TopLevel returns where a top-level element (section "secrets", "networks",
// "volumes", "configs") named name is declared.
func (x *LineIndex) TopLevel(section, name string) (Location, bool) {
	l, ok := x.top[section][name]
	return l, ok
}

// Key returns the position of a key path inside a service, e.g.
// ("kafka-init", "environment", "PASSWORD"). Sequences are searched for an
// element whose scalar value, or whose "KEY=value" prefix, matches the path
// element. The last file that declares the path wins (overrides); when the
// path is not found, the deepest prefix found is returned, then the service.
func (x *LineIndex) Key(service string, path ...string) Location {
	var best Location
	bestDepth := -1
	for _, sn := range x.services[service] {
		node, depth := sn.value, 0
		loc := Location{File: sn.file, Line: sn.key.Line, Column: sn.key.Column}
		for _, p := range path {
			next, at := child(node, p)
			if next == nil {
				break
			}
			node = next
			depth++
			loc = Location{File: sn.file, Line: at.Line, Column: at.Column}
		}
		if depth >= bestDepth {
			best, bestDepth = loc, depth
		}
	}
	return best
}

// Scalars calls fn for every scalar under the service's key path, with its
// position; used by rules that look for values (IP literals, secrets).
func (x *LineIndex) Scalars(service string, fn func(loc Location, path []string, value string), path ...string) {
	for _, sn := range x.services[service] {
		node := sn.value
		for _, p := range path {
			node, _ = child(node, p)
			if node == nil {
				break
			}
		}
		if node == nil {
			continue
		}
		walk(node, append([]string{}, path...), func(n *yaml.Node, p []string) {
			fn(Location{File: sn.file, Line: n.Line, Column: n.Column}, p, n.Value)
		})
	}
}

// Comment returns the line comment on the given line of file, if any.
func (x *LineIndex) Comment(file string, line int) string {
	root := x.docs[file]
	if root == nil {
		return ""
	}
	var found string
	var visit func(n *yaml.Node)
	visit = func(n *yaml.Node) {
		if found != "" {
			return
		}
		if n.Line == line && n.LineComment != "" {
			found = n.LineComment
			return
		}
		for _, c := range n.Content {
			visit(c)
		}
	}
	visit(root)
	return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(found), "#"))
}

func walk(n *yaml.Node, path []string, fn func(*yaml.Node, []string)) {
	switch n.Kind {
	case yaml.ScalarNode:
		fn(n, path)
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			walk(n.Content[i+1], append(append([]string{}, path...), n.Content[i].Value), fn)
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			walk(c, path, fn)
		}
	case yaml.AliasNode:
		if n.Alias != nil {
			walk(n.Alias, path, fn)
		}
	}
}

// child finds p in a mapping (by key) or a sequence (by value or KEY= prefix);
// it returns the value node and the node whose position to report.
func child(n *yaml.Node, p string) (*yaml.Node, *yaml.Node) {
	if n == nil {
		return nil, nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == p {
				return n.Content[i+1], n.Content[i]
			}
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if c.Kind == yaml.ScalarNode && (c.Value == p || strings.HasPrefix(c.Value, p+"=")) {
				return c, c
			}
			if c.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(c.Content); i += 2 {
					if c.Content[i+1].Kind == yaml.ScalarNode && c.Content[i+1].Value == p {
						return c, c
					}
				}
			}
		}
	}
	return nil, nil
}

func (x *LineIndex) indexIncludes(file string, seq *yaml.Node) {
	add := func(n *yaml.Node) {
		p := n.Value
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(file), p)
		}
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		x.includes[filepath.Clean(p)] = Location{File: file, Line: n.Line, Column: n.Column}
	}
	for _, item := range seq.Content {
		switch item.Kind {
		case yaml.ScalarNode:
			add(item)
		case yaml.MappingNode:
			for i := 0; i+1 < len(item.Content); i += 2 {
				if item.Content[i].Value != "path" {
					continue
				}
				v := item.Content[i+1]
				if v.Kind == yaml.ScalarNode {
					add(v)
				}
				for _, c := range v.Content {
					add(c)
				}
			}
		}
	}
}

// Include returns where the file at path is included from.
func (x *LineIndex) Include(path string) (Location, bool) {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	l, ok := x.includes[filepath.Clean(path)]
	return l, ok
}
