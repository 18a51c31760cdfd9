package dockerapi

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/moby/moby/client"
)

// frame is one multiplexed chunk as the engine writes it.
func frame(stream byte, p string) []byte {
	h := make([]byte, 8)
	h[0] = stream
	binary.BigEndian.PutUint32(h[4:], uint32(len(p)))
	return append(h, p...)
}

func TestExecConnDemultiplexes(t *testing.T) {
	tests := []struct {
		name    string
		wire    [][]byte // written in these pieces (split anywhere)
		status  string
		payload string
	}{
		{
			name:    "status then data",
			wire:    [][]byte{frame(2, DialReady+"\n"), frame(1, "+PONG\r\n")},
			status:  DialReady,
			payload: "+PONG\r\n",
		},
		{
			name: "status split across frames and data split mid-header",
			wire: func() [][]byte {
				all := append(append(append(frame(2, "conn"), frame(2, "ected\n")...), frame(1, "hello ")...), frame(1, "world")...)
				// One byte at a time: every header and payload cut.
				var out [][]byte
				for i := range all {
					out = append(out, all[i:i+1])
				}
				return out
			}(),
			status:  DialReady,
			payload: "hello world",
		},
		{
			name:    "stderr after the status is not data",
			wire:    [][]byte{frame(2, DialReady+"\n"), frame(1, "a"), frame(2, "noise"), frame(1, "b")},
			status:  DialReady,
			payload: "ab",
		},
		{
			name:   "a refused connection",
			wire:   [][]byte{frame(2, "ERROR: dial tcp 172.18.0.2:9000: connect: connection refused\n")},
			status: "ERROR: dial tcp 172.18.0.2:9000: connect: connection refused",
		},
		{
			name:   "last words without a newline",
			wire:   [][]byte{frame(2, "ERROR: dial tcp: lookup minio: no such host")},
			status: "ERROR: dial tcp: lookup minio: no such host",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ours, theirs := net.Pipe()
			go func() {
				for _, p := range tt.wire {
					if _, err := theirs.Write(p); err != nil {
						return
					}
				}
				theirs.Close()
			}()
			c := &execConn{hr: client.HijackedResponse{Conn: ours, Reader: bufio.NewReader(ours)}, addr: "minio:9000"}
			defer c.Close()
			got, err := c.readStatus()
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.status {
				t.Errorf("status %q, want %q", got, tt.status)
			}
			if got != DialReady {
				return
			}
			b, err := io.ReadAll(c)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.payload {
				t.Errorf("read %q, want %q", b, tt.payload)
			}
		})
	}
}

func TestExecConnWritesGoToStdin(t *testing.T) {
	ours, theirs := net.Pipe()
	c := &execConn{hr: client.HijackedResponse{Conn: ours, Reader: bufio.NewReader(ours)}}
	go func() { _, _ = c.Write([]byte("PING\r\n")); c.Close() }()
	b, _ := io.ReadAll(theirs)
	if string(b) != "PING\r\n" {
		t.Errorf("stdin got %q", b)
	}
}

func TestRunnableOn(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		bin        []byte
		goos, arch string
		want       string // "" for runnable; else a piece of the error
	}{
		{name: "not an ELF", bin: []byte("#!/bin/sh\n"), goos: "linux", arch: "amd64", want: "not a Linux binary"},
		{name: "other architecture", bin: bin, goos: "linux", arch: "s390x", want: "the engine is linux/s390x"},
		{name: "windows engine", bin: bin, goos: "windows", arch: "amd64", want: "the engine is windows/amd64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := runnableOn(tt.bin, tt.goos, tt.arch)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("runnableOn: %v, want %q", err, tt.want)
			}
		})
	}
	// The test binary itself: dynamic or static as it was built, on the
	// architecture it runs on; both answers are exact.
	err = runnableOn(bin, "linux", hostArch())
	if dynamic := bytes.Contains(bin, []byte("/lib64/ld-linux")) || bytes.Contains(bin, []byte("/lib/ld-linux")); dynamic != (err != nil) {
		t.Errorf("runnableOn(this test binary): %v (dynamic: %v)", err, dynamic)
	}
}

func hostArch() string { return runtime.GOARCH }
