// Benchmark of `snapctl serve` through containerd's proxy client, side by
// side with containerd's in-process overlayfs snapshotter (same machine,
// same operations), and a concurrency run: C clients x N operations.
//
// Not a test: run by tests/serve/run-bench.sh (meson benchmark, suite
// 'bench').  Prints one table and, with -json, writes the figures.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	snapshotsapi "github.com/containerd/containerd/api/services/snapshots/v1"
	"github.com/containerd/containerd/contrib/snapshotservice"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/containerd/snapshots"
	"github.com/containerd/containerd/snapshots/overlay"

	"google.golang.org/grpc"

	"snapctl-serve/server"
)

type medians struct {
	Prepare, Commit, Remove, Mounts float64 // milliseconds
}

type result struct {
	Driver       string  `json:"driver"`
	Iterations   int     `json:"iterations"`
	Snapctl      medians `json:"snapctl_grpc_ms"`
	Containerd   medians `json:"containerd_overlayfs_ms"`
	Clients      int     `json:"clients"`
	OpsPerClient int     `json:"ops_per_client"`
	// -rate: the operations per second offered in all (an open loop);
	// 0 when every client went as fast as it could.
	OfferedRate  float64            `json:"offered_ops_per_second"`
	Errors       int64              `json:"errors"`
	Seconds      float64            `json:"seconds"`
	OpsPerSecond float64            `json:"ops_per_second"`
	Extra        map[string]float64 `json:"extra,omitempty"`
	// Per-operation latency of the concurrency run, milliseconds.
	Latency map[string]percentiles `json:"concurrency_latency_ms"`
	Prober  map[string]percentiles `json:"prober_latency_ms"`
	// The same concurrency run against containerd's overlayfs snapshotter
	// behind the same proxy API (contrib/snapshotservice, gRPC on a unix
	// socket, its own process): what any proxy snapshotter costs here.
	Proxied concRun `json:"containerd_overlayfs_proxied"`
}

type concRun struct {
	// A kubelet's view: one process of its own polling Stat and Usage of
	// the base snapshot every millisecond while the clients run.
	Prober       map[string]percentiles `json:"prober_latency_ms"`
	Errors       int64                  `json:"errors"`
	Seconds      float64                `json:"seconds"`
	OpsPerSecond float64                `json:"ops_per_second"`
	Latency      map[string]percentiles `json:"latency_ms"`
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
	rate := flag.Float64("rate", 0, "offer this many operations per second in all (an open loop: each client starts its cycles on a schedule); 0: every client as fast as it can")
	jsonOut := flag.String("json", "", "write the figures to this file")
	probeSocket := flag.String("probe", "", "(internal) poll Stat and Usage on this socket until stdin closes")
	serveSocket := flag.String("serve-containerd", "", "(internal) serve containerd's overlayfs snapshotter on this socket")
	serveRoot := flag.String("serve-root", "", "(internal) its root")
	flag.Parse()
	if *probeSocket != "" {
		return probe(*probeSocket)
	}
	if *serveSocket != "" {
		return serveContainerd(*serveSocket, *serveRoot)
	}

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
	res := result{Driver: driver, Iterations: *n, Clients: *clients, OpsPerClient: *ops, OfferedRate: *rate}

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

	conc := concurrency(ctx, srv.Dial, server.SocketIn(dir), *clients, *ops, *rate)
	res.Seconds, res.Errors, res.OpsPerSecond, res.Latency = conc.Seconds, conc.Errors, conc.OpsPerSecond, conc.Latency
	res.Prober = conc.Prober
	errs := conc.Errors
	if res.Proxied, err = proxiedContainerd(ctx, dir, *clients, *ops, *rate); err != nil {
		return fmt.Errorf("containerd overlayfs behind the proxy API: %w", err)
	}

	fmt.Printf("median round trip, ms (%d iterations)   snapctl serve (%s, gRPC)   containerd overlayfs (in process)\n", *n, driver)
	fmt.Printf("  Prepare                              %8.3f                     %8.3f\n", res.Snapctl.Prepare, res.Containerd.Prepare)
	fmt.Printf("  Mounts                               %8.3f                     %8.3f\n", res.Snapctl.Mounts, res.Containerd.Mounts)
	fmt.Printf("  Commit                               %8.3f                     %8.3f\n", res.Snapctl.Commit, res.Containerd.Commit)
	fmt.Printf("  Remove                               %8.3f                     %8.3f\n", res.Snapctl.Remove, res.Containerd.Remove)
	offered := "as fast as they can"
	if *rate > 0 {
		offered = fmt.Sprintf("%.0f ops/s offered", *rate)
	}
	fmt.Printf("%d clients x %d ops (%s): %d errors, %.2f s, %.0f ops/s\n", *clients, *ops/len(cycleOps)*len(cycleOps), offered, errs, res.Seconds, res.OpsPerSecond)
	fmt.Printf("containerd overlayfs behind the same proxy API: %d errors, %.2f s, %.0f ops/s\n",
		res.Proxied.Errors, res.Proxied.Seconds, res.Proxied.OpsPerSecond)
	fmt.Printf("a prober process polling Stat/Usage every ms, ms:  snapctl p50   p99   containerd proxied p50   p99\n")
	for _, op := range []string{"Stat", "Usage"} {
		fmt.Printf("  %-8s                     %8.3f %8.3f              %8.3f %8.3f\n", op,
			res.Prober[op].P50, res.Prober[op].P99, res.Proxied.Prober[op].P50, res.Proxied.Prober[op].P99)
	}
	fmt.Printf("latency under that load, ms:   snapctl p50   p99   containerd proxied p50   p99\n")
	for _, op := range cycleOps {
		fmt.Printf("  %-8s                     %8.3f %8.3f              %8.3f %8.3f\n", op,
			res.Latency[op].P50, res.Latency[op].P99, res.Proxied.Latency[op].P50, res.Proxied.Latency[op].P99)
	}

	if *jsonOut != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0644); err != nil {
			return err
		}
	}
	if errs > 0 || res.Proxied.Errors > 0 {
		return fmt.Errorf("%d operations failed (%d on the proxied containerd)", errs, res.Proxied.Errors)
	}
	return nil
}

// concurrency runs the kubelet-like load: every client on its own
// connection; an operation is one RPC, in cycles of cycleOps, each timed.
// With rate > 0 the cycles start on a schedule (an open loop): the load a
// node offers, rather than all the server can take.  A client behind its
// schedule starts its next cycle at once.
func concurrency(ctx context.Context, dial func() (*grpc.ClientConn, error), socket string, clients, ops int, rate float64) concRun {
	base, err := dial()
	if err == nil {
		sn := server.Snapshotter(base)
		if _, err = sn.Prepare(ctx, "conc-base-a", ""); err == nil {
			err = sn.Commit(ctx, "conc-base", "conc-base-a")
		}
		base.Close()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "concurrency run: base snapshot: %v\n", err)
		return concRun{Errors: int64(clients * ops)}
	}
	prober, err := startProber(socket)
	if err != nil {
		fmt.Fprintf(os.Stderr, "concurrency run: prober: %v\n", err)
		return concRun{Errors: int64(clients * ops)}
	}
	var errs int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	lat := map[string][]time.Duration{}
	cycles := ops / len(cycleOps)
	var period time.Duration // between two cycles' starts, any clients
	if rate > 0 {
		period = time.Duration(float64(time.Second) * float64(len(cycleOps)) / rate)
	}
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			cc, err := dial()
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
				if rate > 0 {
					// Cycle i of client c is due at (i*clients+c) cycle periods.
					if wait := time.Until(start.Add(time.Duration(i*clients+c) * period)); wait > 0 {
						time.Sleep(wait)
					}
				}
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
	r := concRun{Errors: errs, Seconds: time.Since(start).Seconds(), Latency: map[string]percentiles{}}
	if r.Prober, err = prober.stop(); err != nil {
		fmt.Fprintf(os.Stderr, "concurrency run: prober: %v\n", err)
		r.Errors++
	}
	r.OpsPerSecond = float64(clients*cycles*len(cycleOps)) / r.Seconds
	for _, op := range cycleOps {
		r.Latency[op] = percentilesOf(lat[op])
	}
	return r
}

// proxiedContainerd starts this program again as a proxy snapshotter
// serving containerd's overlayfs snapshotter (-serve-containerd), and runs
// the concurrency load against it.
func proxiedContainerd(ctx context.Context, dir string, clients, ops int, rate float64) (concRun, error) {
	socket := filepath.Join(dir, "containerd-proxy.sock")
	cmd := exec.Command("/proc/self/exe", "-serve-containerd", socket, "-serve-root", filepath.Join(dir, "containerd-proxied"))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return concRun{}, err
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	for i := 0; ; i++ {
		if _, err := os.Stat(socket); err == nil {
			break
		}
		if i == 500 {
			return concRun{}, fmt.Errorf("no socket %s after 5 s", socket)
		}
		time.Sleep(10 * time.Millisecond)
	}
	r := concurrency(ctx, func() (*grpc.ClientConn, error) { return server.Dial(socket) }, socket, clients, ops, rate)
	return r, nil
}

// serveContainerd is the proxied peer's process: containerd's overlayfs
// snapshotter behind snapshots.v1 on a unix socket, as a proxy plugin is.
func serveContainerd(socket, root string) error {
	sn, err := overlay.NewSnapshotter(root)
	if err != nil {
		return err
	}
	defer sn.Close()
	l, err := net.Listen("unix", socket+".tmp")
	if err != nil {
		return err
	}
	if err := os.Rename(socket+".tmp", socket); err != nil {
		return err
	}
	s := grpc.NewServer()
	snapshotsapi.RegisterSnapshotsServer(s, snapshotservice.FromSnapshotter(sn))
	return s.Serve(l)
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "serve-bench:", err)
		os.Exit(1)
	}
}

type proberProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   bytes.Buffer
}

// startProber starts this program again as the kubelet-like prober.
func startProber(socket string) (*proberProc, error) {
	p := &proberProc{cmd: exec.Command("/proc/self/exe", "-probe", socket)}
	p.cmd.Stdout = &p.out
	p.cmd.Stderr = os.Stderr
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *proberProc) stop() (map[string]percentiles, error) {
	p.stdin.Close()
	if err := p.cmd.Wait(); err != nil {
		return nil, err
	}
	var r map[string]percentiles
	if err := json.Unmarshal(p.out.Bytes(), &r); err != nil {
		return nil, fmt.Errorf("prober output %q: %w", p.out.String(), err)
	}
	return r, nil
}

// probe is the prober's process: Stat and Usage of conc-base, one call
// per millisecond, until stdin closes; then their percentiles as JSON.
func probe(socket string) error {
	done := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(done)
	}()
	conn, err := server.Dial(socket)
	if err != nil {
		return err
	}
	defer conn.Close()
	sn := server.Snapshotter(conn)
	ctx := namespaces.WithNamespace(context.Background(), "bench")
	lat := map[string][]time.Duration{}
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-done:
			r := map[string]percentiles{}
			for op, d := range lat {
				r[op] = percentilesOf(d)
			}
			return json.NewEncoder(os.Stdout).Encode(r)
		case <-tick.C:
		}
		op := "Stat"
		t := time.Now()
		if i%2 == 0 {
			_, err = sn.Stat(ctx, "conc-base")
		} else {
			op = "Usage"
			_, err = sn.Usage(ctx, "conc-base")
		}
		lat[op] = append(lat[op], time.Since(t))
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
}
