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
}

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
	// one RPC, in cycles of Prepare, Mounts, Commit, Remove.
	if _, err := sn.Prepare(ctx, "conc-base-a", ""); err != nil {
		return err
	}
	if err := sn.Commit(ctx, "conc-base", "conc-base-a"); err != nil {
		return err
	}
	var errs int64
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < *clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			cc, err := srv.Dial()
			if err != nil {
				atomic.AddInt64(&errs, int64(*ops))
				return
			}
			defer cc.Close()
			csn := server.Snapshotter(cc)
			fail := func(err error) {
				if err != nil {
					atomic.AddInt64(&errs, 1)
					fmt.Fprintf(os.Stderr, "client %d: %v\n", c, err)
				}
			}
			for i := 0; i < *ops/4; i++ {
				key := fmt.Sprintf("conc-%d-%d", c, i)
				_, err := csn.Prepare(ctx, key, "conc-base")
				fail(err)
				_, err = csn.Mounts(ctx, key)
				fail(err)
				fail(csn.Commit(ctx, key+"-c", key))
				fail(csn.Remove(ctx, key+"-c"))
			}
		}(c)
	}
	wg.Wait()
	res.Seconds = time.Since(start).Seconds()
	res.Errors = errs
	res.OpsPerSecond = float64(*clients**ops/4*4) / res.Seconds

	fmt.Printf("median round trip, ms (%d iterations)   snapctl serve (%s, gRPC)   containerd overlayfs (in process)\n", *n, driver)
	fmt.Printf("  Prepare                              %8.3f                     %8.3f\n", res.Snapctl.Prepare, res.Containerd.Prepare)
	fmt.Printf("  Mounts                               %8.3f                     %8.3f\n", res.Snapctl.Mounts, res.Containerd.Mounts)
	fmt.Printf("  Commit                               %8.3f                     %8.3f\n", res.Snapctl.Commit, res.Containerd.Commit)
	fmt.Printf("  Remove                               %8.3f                     %8.3f\n", res.Snapctl.Remove, res.Containerd.Remove)
	fmt.Printf("%d clients x %d ops: %d errors, %.2f s, %.0f ops/s\n", *clients, *ops/4*4, errs, res.Seconds, res.OpsPerSecond)

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
