// Command kafkaimg is the entry point of the infractl/kafka test image: a
// real Kafka-protocol broker cluster (franz-go's kfake), TCP forwarders that
// give each broker its own Docker DNS name, a healthcheck, and a small topic
// tool for init scripts.
//
//	kafkaimg broker --advertise kafka-1:19092=19092,kafka-2:19092=19093,kafka-3:19092=19094
//	kafkaimg proxy --listen :19092 --to kafka-1:19093
//	kafkaimg health --bootstrap localhost:19092
//	kafkaimg topics --bootstrap kafka-1:19092 --max-retries 30 orders:3:3 audit:1:3
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: kafkaimg broker|proxy|health|topics [flags]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "broker":
		err = broker(ctx, os.Args[2:])
	case "proxy":
		err = proxy(ctx, os.Args[2:])
	case "health":
		err = health(ctx, os.Args[2:])
	case "topics":
		err = topics(ctx, os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "kafkaimg %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// namedListener reports the advertised name as its address, so kfake puts
// resolvable host names into metadata.
type namedListener struct {
	net.Listener
	addr namedAddr
}

type namedAddr string

func (a namedAddr) Network() string { return "tcp" }
func (a namedAddr) String() string  { return string(a) }

func (l namedListener) Addr() net.Addr { return l.addr }

func broker(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("broker", flag.ExitOnError)
	adv := fs.String("advertise", "kafka-1:19092=19092", "comma-separated name:port=listen-port, one per broker")
	cluster := fs.String("cluster-id", "infractl-kafka", "cluster id")
	_ = fs.Parse(args)
	names := map[int]string{}
	var ports []int
	for _, item := range strings.Split(*adv, ",") {
		name, p, ok := strings.Cut(item, "=")
		port, err := strconv.Atoi(p)
		if !ok || err != nil {
			return fmt.Errorf("bad --advertise entry %q (want name:port=listen-port)", item)
		}
		names[port] = name
		ports = append(ports, port)
	}
	c, err := kfake.NewCluster(
		kfake.NumBrokers(len(ports)),
		kfake.Ports(ports...),
		kfake.ClusterID(*cluster),
		kfake.ListenFn(func(network, address string) (net.Listener, error) {
			_, p, _ := net.SplitHostPort(address)
			port, _ := strconv.Atoi(p)
			ln, err := net.Listen(network, net.JoinHostPort("0.0.0.0", p))
			if err != nil {
				return nil, err
			}
			return namedListener{Listener: ln, addr: namedAddr(names[port])}, nil
		}),
	)
	if err != nil {
		return err
	}
	fmt.Printf("kafka: %d brokers up: %s\n", len(ports), *adv)
	<-ctx.Done()
	c.Close()
	return nil
}

func proxy(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("proxy", flag.ExitOnError)
	listen := fs.String("listen", ":19092", "address to listen on")
	to := fs.String("to", "", "address to forward to")
	_ = fs.Parse(args)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	go func() { <-ctx.Done(); ln.Close() }()
	fmt.Printf("kafka proxy: %s -> %s\n", *listen, *to)
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		go func() {
			defer c.Close()
			up, err := net.DialTimeout("tcp", *to, 5*time.Second)
			if err != nil {
				return
			}
			defer up.Close()
			done := make(chan struct{}, 2)
			go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
			go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
			<-done
		}()
	}
}

func client(bootstrap string) (*kadm.Client, *kgo.Client, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(bootstrap, ",")...), kgo.DialTimeout(2*time.Second))
	if err != nil {
		return nil, nil, err
	}
	return kadm.NewClient(cl), cl, nil
}

func health(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("health", flag.ExitOnError)
	bootstrap := fs.String("bootstrap", "localhost:19092", "brokers")
	want := fs.Int("brokers", 1, "brokers that must be listed in metadata")
	_ = fs.Parse(args)
	adm, cl, err := client(*bootstrap)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	bs, err := adm.ListBrokers(ctx)
	if err != nil {
		return err
	}
	if len(bs) < *want {
		return fmt.Errorf("%d brokers in metadata, want %d", len(bs), *want)
	}
	fmt.Printf("ok: %d brokers\n", len(bs))
	return nil
}

// topics creates topics name:partitions:replication idempotently, waiting for
// the brokers with a bounded exponential backoff (REQ-SPC-AUTO-002).
func topics(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("topics", flag.ExitOnError)
	bootstrap := fs.String("bootstrap", "kafka-1:19092", "brokers")
	maxRetries := fs.Int("max-retries", 30, "attempts before giving up")
	_ = fs.Parse(args)
	adm, cl, err := client(*bootstrap)
	if err != nil {
		return err
	}
	defer cl.Close()
	delay := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, 3*time.Second)
		_, err = adm.ListBrokers(actx)
		cancel()
		if err == nil {
			break
		}
		if attempt >= *maxRetries || ctx.Err() != nil {
			return fmt.Errorf("%s not ready after %d attempts: %v", *bootstrap, attempt, err)
		}
		time.Sleep(delay)
		delay = min(delay*2, 2*time.Second)
	}
	for _, spec := range fs.Args() {
		parts := strings.Split(spec, ":")
		if len(parts) != 3 {
			return fmt.Errorf("bad topic %q (want name:partitions:replication)", spec)
		}
		p, err1 := strconv.Atoi(parts[1])
		r, err2 := strconv.Atoi(parts[2])
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("bad topic %q: %v", spec, err)
		}
		resp, err := adm.CreateTopic(ctx, int32(p), int16(r), nil, parts[0])
		switch {
		case err == nil && resp.Err == nil:
			fmt.Printf("topic %s: created (%d partitions, replication %d)\n", parts[0], p, r)
		case errors.Is(err, kerr.TopicAlreadyExists) || errors.Is(resp.Err, kerr.TopicAlreadyExists):
			fmt.Printf("topic %s: already exists\n", parts[0])
		case err != nil:
			return fmt.Errorf("topic %s: %v", parts[0], err)
		default:
			return fmt.Errorf("topic %s: %v", parts[0], resp.Err)
		}
	}
	return nil
}
