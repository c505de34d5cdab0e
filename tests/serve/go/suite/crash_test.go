// Seeded SIGKILL crash test of `snapctl serve` (the serve part of
// tests/crash): a client runs a sequence of calls (prepare, commit, view,
// remove, labels) and the server is killed at a random instant of it; then
// `snapctl check --repair` and `gc`, every snapshot left must be one the
// sequence makes, whole (right kind, parent and labels), the sequence is run
// again from where it stopped, and the end state must equal an
// uninterrupted run's.  SNAPCTL_CRASH_TRIALS trials (default 1),
// SNAPCTL_CRASH_SEED the first seed (printed on failure).
package suite

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/containerd/snapshots"

	"snapctl-serve/server"
)

// The sequence, as steps that each do nothing when already done, so that
// running it again after a crash is the "re-run of the same operation".
func crashSequence(ctx context.Context, sn snapshots.Snapshotter) error {
	exists := func(key string) bool {
		_, err := sn.Stat(ctx, key)
		return err == nil
	}
	commit := func(name, key, parent string, labels map[string]string) error {
		if exists(name) {
			return nil
		}
		if !exists(key) {
			if _, err := sn.Prepare(ctx, key, parent); err != nil {
				return err
			}
		}
		return sn.Commit(ctx, name, key, snapshots.WithLabels(labels))
	}
	for i := 0; i < 8; i++ {
		parent := ""
		if i > 0 {
			parent = fmt.Sprintf("layer-%d", i-1)
		}
		if err := commit(fmt.Sprintf("layer-%d", i), fmt.Sprintf("extract-%d", i), parent,
			map[string]string{"idx": strconv.Itoa(i)}); err != nil {
			return err
		}
		view := fmt.Sprintf("view-%d", i)
		if !exists(view) && i%2 == 0 {
			if _, err := sn.View(ctx, view, fmt.Sprintf("layer-%d", i)); err != nil {
				return err
			}
		}
		if exists(view) {
			if err := sn.Remove(ctx, view); err != nil && !errdefs.IsNotFound(err) {
				return err
			}
		}
	}
	if !exists("container") {
		if _, err := sn.Prepare(ctx, "container", "layer-7",
			snapshots.WithLabels(map[string]string{"role": "rw"})); err != nil {
			return err
		}
	}
	// A chain made and removed top-down (its end state: gone).
	if !exists("scratch-done") {
		if err := commit("scratch-0", "scratch-0-a", "layer-7", nil); err != nil {
			return err
		}
		if err := commit("scratch-1", "scratch-1-a", "scratch-0", nil); err != nil {
			return err
		}
		for _, k := range []string{"scratch-1", "scratch-0"} {
			if err := sn.Remove(ctx, k); err != nil && !errdefs.IsNotFound(err) {
				return err
			}
		}
		if _, err := sn.Prepare(ctx, "scratch-done", ""); err != nil {
			return err
		}
	}
	return nil
}

// The state as text: every snapshot with kind, parent and labels.
func crashState(t *testing.T, ctx context.Context, sn snapshots.Snapshotter) []string {
	t.Helper()
	var out []string
	if err := sn.Walk(ctx, func(_ context.Context, info snapshots.Info) error {
		var labels []string
		for k, v := range info.Labels {
			labels = append(labels, k+"="+v)
		}
		sort.Strings(labels)
		out = append(out, fmt.Sprintf("%s %v %s %s", info.Name, info.Kind, info.Parent, strings.Join(labels, ",")))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func TestCrashSeeded(t *testing.T) {
	bin, driver, err := server.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	trials := 1
	if v := os.Getenv("SNAPCTL_CRASH_TRIALS"); v != "" {
		if trials, err = strconv.Atoi(v); err != nil {
			t.Fatal(err)
		}
	}
	seed := time.Now().UnixNano() % 1000000
	if v := os.Getenv("SNAPCTL_CRASH_SEED"); v != "" {
		if seed, err = strconv.ParseInt(v, 10, 64); err != nil {
			t.Fatal(err)
		}
	}
	ctx := namespaces.WithNamespace(context.Background(), "crash")
	dir, err := os.MkdirTemp("", "snapctl-crash-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)

	start := func(root string) (*server.Server, snapshots.Snapshotter, func()) {
		t.Helper()
		srv, err := server.Start(bin, root, server.SocketIn(dir), driver)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := srv.Dial()
		if err != nil {
			srv.Kill()
			t.Fatal(err)
		}
		return srv, server.Snapshotter(conn), func() { conn.Close() }
	}
	cli := func(root string, args ...string) (string, error) {
		out, err := exec.Command(bin, append([]string{"--root", root, "--driver", driver}, args...)...).CombinedOutput()
		return string(out), err
	}

	// The uninterrupted run: its end state and its duration.
	ref := filepath.Join(dir, "ref")
	srv, sn, closeConn := start(ref)
	t0 := time.Now()
	if err := crashSequence(ctx, sn); err != nil {
		t.Fatal(err)
	}
	dur := time.Since(t0)
	want := crashState(t, ctx, sn)
	closeConn()
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	srv.Unmount()
	t.Logf("uninterrupted sequence on %s: %v, %d snapshots", driver, dur, len(want))

	wantSet := map[string]bool{}
	for _, s := range want {
		wantSet[s] = true
	}
	for i := 0; i < trials; i++ {
		s := seed + int64(i)
		rng := rand.New(rand.NewSource(s))
		delay := time.Duration(rng.Int63n(int64(dur) + 1))
		where := fmt.Sprintf("seed %d (replay: SNAPCTL_CRASH_SEED=%d SNAPCTL_CRASH_TRIALS=1), kill after %v", s, s, delay)
		root := filepath.Join(dir, fmt.Sprintf("trial-%d", i))
		srv, sn, closeConn := start(root)
		done := make(chan struct{})
		go func() {
			crashSequence(ctx, sn) // fails once the server is gone
			close(done)
		}()
		time.Sleep(delay)
		srv.Kill()
		<-done
		closeConn()
		if out, err := cli(root, "check", "--repair"); err != nil {
			t.Fatalf("%s: check --repair: %v\n%s", where, err, out)
		}
		if out, err := cli(root, "gc"); err != nil {
			t.Fatalf("%s: gc: %v\n%s", where, err, out)
		}
		if err := srv.Restart(); err != nil {
			t.Fatalf("%s: restart: %v", where, err)
		}
		conn, err := srv.Dial()
		if err != nil {
			t.Fatal(err)
		}
		sn = server.Snapshotter(conn)
		// Whatever survived is whole: a snapshot of the uninterrupted
		// run's end state, or one of the sequence's transient ones.
		for _, line := range crashState(t, ctx, sn) {
			name := strings.Fields(line)[0]
			if !wantSet[line] && !strings.HasPrefix(name, "extract-") && !strings.HasPrefix(name, "view-") &&
				!strings.HasPrefix(name, "scratch-") {
				t.Errorf("%s: after the crash and repair: %q is not a state of the sequence", where, line)
			}
		}
		if err := crashSequence(ctx, sn); err != nil {
			t.Fatalf("%s: re-run: %v", where, err)
		}
		got := crashState(t, ctx, sn)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: after the re-run:\n%s\nwant (uninterrupted run):\n%s", where,
				strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		conn.Close()
		if err := srv.Stop(); err != nil {
			t.Fatal(err)
		}
		if out, err := cli(root, "check"); err != nil {
			t.Errorf("%s: check after the re-run: %v\n%s", where, err, out)
		}
		srv.Unmount()
		if t.Failed() {
			return
		}
	}
	t.Logf("%d crash trials of serve on %s passed (seeds %d..%d)", trials, driver, seed, seed+int64(trials)-1)
}
