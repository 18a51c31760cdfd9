//go:build !windows

package endpoint

const defaultHost = "unix:///var/run/docker.sock"
