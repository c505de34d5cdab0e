// Benchmark of `snapctl serve` through containerd's proxy client, side by
// side with containerd's in-process overlayfs snapshotter (same machine,
// same operations), and a concurrency run: C clients x N operations.
//
// Not a test: run by tests/serve/run-bench.sh (meson benchmark, suite
// 'bench').  Prints one table and, with -json, writes the figures.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/containerd/snapshots"
	"github.com/containerd/containerd/snapshots/overlay"

	"snapctl-serve/server"
)

type medians struct {
	Prepare, Commit, Remove, Mounts float64 // milliseconds
}

type result struct {
	Driver       string             `json:"driver"`
	Iterations   int                `json:"iterations"`
	Snapctl      medians            `json:"snapctl_grpc_ms"`
	Containerd   medians            `json:"containerd_overlayfs_ms"`
	Clients      int                `json:"clients"`
	OpsPerClient int                `json:"ops_per_client"`
	Errors       int64              `json:"errors"`
	Seconds      float64            `json:"seconds"`
	OpsPerSecond float64            `json:"ops_per_second"`
	Extra        map[string]float64 `json:"extra,omitempty"`
	// Per-operation latency of the concurrency run, milliseconds.
	Latency map[string]percentiles `json:"concurrency_latency_ms"`
}

type percentiles struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	N   int     `json:"n"`
}

func percentilesOf(d []time.Duration) percentiles {
	if len(d) == 0 {
		return percentiles{}
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	at := func(q float64) float64 {
		return float64(s[int(q*float64(len(s)-1))].Microseconds()) / 1000
	}
	return percentiles{P50: at(0.50), P99: at(0.99), N: len(s)}
}

// The concurrency run's cycle: a kubelet-like mix of writes and the reads
// that poll them.
var cycleOps = []string{"Prepare", "Mounts", "Commit", "Stat", "Usage", "Remove"}

func median(d []time.Duration) float64 {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return float64(s[len(s)/2].Microseconds()) / 1000
}

// cycle measures, n times: Prepare an active snapshot on a committed
// parent, Mounts, Commit it, Remove the committed result.
func cycle(ctx context.Context, sn snapshots.Snapshotter, n int, tag string) (medians, error) {
	if _, err := sn.Prepare(ctx, tag+"-base-a", ""); err != nil {
		return medians{}, err
	}
	if err := sn.Commit(ctx, tag+"-base", tag+"-base-a"); err != nil {
		return medians{}, err
	}
	var p, c, r, m []time.Duration
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("%s-%d", tag, i)
		t0 := time.Now()
		if _, err := sn.Prepare(ctx, key, tag+"-base"); err != nil {
			return medians{}, fmt.Errorf("prepare: %w", err)
		}
		t1 := time.Now()
		if _, err := sn.Mounts(ctx, key); err != nil {
			return medians{}, fmt.Errorf("mounts: %w", err)
		}
		t2 := time.Now()
		if err := sn.Commit(ctx, key+"-c", key); err != nil {
			return medians{}, fmt.Errorf("commit: %w", err)
		}
		t3 := time.Now()
		if err := sn.Remove(ctx, key+"-c"); err != nil {
			return medians{}, fmt.Errorf("remove: %w", err)
		}
		t4 := time.Now()
		p = append(p, t1.Sub(t0))
		m = append(m, t2.Sub(t1))
		c = append(c, t3.Sub(t2))
		r = append(r, t4.Sub(t3))
	}
	return medians{Prepare: median(p), Commit: median(c), Remove: median(r), Mounts: median(m)}, nil
}

func run() error {
	n := flag.Int("n", 200, "iterations of the round-trip measurement")
	clients := flag.Int("clients", 8, "concurrent clients")
	ops := flag.Int("ops", 1000, "operations per client")
	jsonOut := flag.String("json", "", "write the figures to this file")
	flag.Parse()

	bin, driver, err := server.FromEnv()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "snapctl-serve-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx := namespaces.WithNamespace(context.Background(), "bench")
	res := result{Driver: driver, Iterations: *n, Clients: *clients, OpsPerClient: *ops}

	// containerd's own overlayfs snapshotter, in process.
	ov, err := overlay.NewSnapshotter(filepath.Join(dir, "containerd-overlay"))
	if err != nil {
		return fmt.Errorf("containerd overlayfs snapshotter: %w", err)
	}
	if res.Containerd, err = cycle(ctx, ov, *n, "ctrd"); err != nil {
		return fmt.Errorf("containerd overlayfs: %w", err)
	}
	ov.Close()

	srv, err := server.Start(bin, filepath.Join(dir, "snapctl"), server.SocketIn(dir), driver)
	if err != nil {
		return err
	}
	defer func() {
		srv.Stop()
		srv.Unmount()
	}()
	conn, err := srv.Dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	sn := server.Snapshotter(conn)
	if res.Snapctl, err = cycle(ctx, sn, *n, "snap"); err != nil {
		return fmt.Errorf("snapctl: %w", err)
	}

	// Concurrency: every client on its own connection; an operation is
	// one RPC, in cycles of cycleOps, each timed.
	if _, err := sn.Prepare(ctx, "conc-base-a", ""); err != nil {
		return err
	}
	if err := sn.Commit(ctx, "conc-base", "conc-base-a"); err != nil {
		return err
	}
	var errs int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	lat := map[string][]time.Duration{}
	cycles := *ops / len(cycleOps)
	start := time.Now()
	for c := 0; c < *clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			cc, err := srv.Dial()
			if err != nil {
				atomic.AddInt64(&errs, int64(cycles*len(cycleOps)))
				return
			}
			defer cc.Close()
			csn := server.Snapshotter(cc)
			mine := map[string][]time.Duration{}
			timed := func(op string, f func() error) {
				t := time.Now()
				err := f()
				mine[op] = append(mine[op], time.Since(t))
				if err != nil {
					atomic.AddInt64(&errs, 1)
					fmt.Fprintf(os.Stderr, "client %d: %s: %v\n", c, op, err)
				}
			}
			for i := 0; i < cycles; i++ {
				key := fmt.Sprintf("conc-%d-%d", c, i)
				timed("Prepare", func() error { _, err := csn.Prepare(ctx, key, "conc-base"); return err })
				timed("Mounts", func() error { _, err := csn.Mounts(ctx, key); return err })
				timed("Commit", func() error { return csn.Commit(ctx, key+"-c", key) })
				timed("Stat", func() error { _, err := csn.Stat(ctx, key+"-c"); return err })
				timed("Usage", func() error { _, err := csn.Usage(ctx, key+"-c"); return err })
				timed("Remove", func() error { return csn.Remove(ctx, key+"-c") })
			}
			mu.Lock()
			for op, d := range mine {
				lat[op] = append(lat[op], d...)
			}
			mu.Unlock()
		}(c)
	}
	wg.Wait()
	res.Seconds = time.Since(start).Seconds()
	res.Errors = errs
	res.OpsPerSecond = float64(*clients*cycles*len(cycleOps)) / res.Seconds
	res.Latency = map[string]percentiles{}
	for _, op := range cycleOps {
		res.Latency[op] = percentilesOf(lat[op])
	}

	fmt.Printf("median round trip, ms (%d iterations)   snapctl serve (%s, gRPC)   containerd overlayfs (in process)\n", *n, driver)
	fmt.Printf("  Prepare                              %8.3f                     %8.3f\n", res.Snapctl.Prepare, res.Containerd.Prepare)
	fmt.Printf("  Mounts                               %8.3f                     %8.3f\n", res.Snapctl.Mounts, res.Containerd.Mounts)
	fmt.Printf("  Commit                               %8.3f                     %8.3f\n", res.Snapctl.Commit, res.Containerd.Commit)
	fmt.Printf("  Remove                               %8.3f                     %8.3f\n", res.Snapctl.Remove, res.Containerd.Remove)
	fmt.Printf("%d clients x %d ops: %d errors, %.2f s, %.0f ops/s\n", *clients, cycles*len(cycleOps), errs, res.Seconds, res.OpsPerSecond)
	fmt.Printf("latency under that load, ms:       p50        p99\n")
	for _, op := range cycleOps {
		fmt.Printf("  %-8s                     %8.3f   %8.3f\n", op, res.Latency[op].P50, res.Latency[op].P99)
	}

	if *jsonOut != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0644); err != nil {
			return err
		}
	}
	if errs > 0 {
		return fmt.Errorf("%d operations failed", errs)
	}
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "serve-bench:", err)
		os.Exit(1)
	}
}
