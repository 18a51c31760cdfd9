//go:build windows

package endpoint

const defaultHost = "npipe:////./pipe/docker_engine"
