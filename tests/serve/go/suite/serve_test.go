// snapctl's own checks of the service: error codes, the namespace header,
// List streaming and filters, concurrent clients, socket mode, SIGTERM with
// calls in flight and recovery after a crash.
package suite

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	snapshotsapi "github.com/containerd/containerd/api/services/snapshots/v1"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/containerd/snapshots"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"snapctl-serve/server"
)

type fixture struct {
	t    *testing.T
	dir  string
	srv  *server.Server
	sn   snapshots.Snapshotter
	raw  snapshotsapi.SnapshotsClient
	ctx  context.Context
	stop func()
}

func newFixture(t *testing.T, serveArgs ...string) *fixture {
	t.Helper()
	bin, driver, err := server.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "snapctl-serve-")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, dir: dir, ctx: namespaces.WithNamespace(context.Background(), "snapctl-test")}
	f.srv, err = server.Start(bin, filepath.Join(dir, "root"), server.SocketIn(dir), driver, serveArgs...)
	if err != nil {
		os.RemoveAll(dir)
		t.Fatal(err)
	}
	f.connect()
	t.Cleanup(func() {
		f.stop()
		if err := f.srv.Stop(); err != nil {
			t.Error(err)
		}
		if err := f.srv.Unmount(); err != nil {
			t.Error(err)
		}
		os.RemoveAll(dir)
	})
	return f
}

func (f *fixture) connect() {
	conn, err := f.srv.Dial()
	if err != nil {
		f.t.Fatal(err)
	}
	f.sn = server.Snapshotter(conn)
	f.raw = server.Client(conn)
	f.stop = func() { conn.Close() }
}

func (f *fixture) prepareCommit(name, parent string, opts ...snapshots.Opt) {
	f.t.Helper()
	if _, err := f.sn.Prepare(f.ctx, name+"-active", parent, opts...); err != nil {
		f.t.Fatalf("prepare %s: %v", name, err)
	}
	if err := f.sn.Commit(f.ctx, name, name+"-active", opts...); err != nil {
		f.t.Fatalf("commit %s: %v", name, err)
	}
}

func TestErrorCodes(t *testing.T) {
	f := newFixture(t)
	f.prepareCommit("base", "")
	if _, err := f.sn.Prepare(f.ctx, "child", "base"); err != nil {
		t.Fatal(err)
	}

	check := func(what string, err error, want func(error) bool, code string) {
		t.Helper()
		if err == nil || !want(err) {
			t.Errorf("%s: got %v, want %s", what, err, code)
		}
	}
	_, err := f.sn.Stat(f.ctx, "missing")
	check("stat missing", err, errdefs.IsNotFound, "NotFound")
	_, err = f.sn.Mounts(f.ctx, "missing")
	check("mounts missing", err, errdefs.IsNotFound, "NotFound")
	check("remove missing", f.sn.Remove(f.ctx, "missing"), errdefs.IsNotFound, "NotFound")
	_, err = f.sn.Prepare(f.ctx, "child", "base")
	check("prepare existing key", err, errdefs.IsAlreadyExists, "AlreadyExists")
	_, err = f.sn.Prepare(f.ctx, "orphan", "missing-parent")
	check("prepare on missing parent", err, errdefs.IsNotFound, "NotFound")
	check("remove parent with children", f.sn.Remove(f.ctx, "base"), errdefs.IsFailedPrecondition, "FailedPrecondition")
	_, err = f.sn.Update(f.ctx, snapshots.Info{Name: "base"}, "parent")
	check("update of a read-only field", err, errdefs.IsInvalidArgument, "InvalidArgument")

	// The message says what failed on which object.
	_, err = f.raw.Stat(f.ctx, &snapshotsapi.StatSnapshotRequest{Snapshotter: "snapctl", Key: "missing"})
	if st, _ := status.FromError(err); st.Code() != codes.NotFound || st.Message() == "" {
		t.Errorf("stat missing: status %v %q, want NotFound with a message", st.Code(), st.Message())
	}
}

// A method the service does not have is Unimplemented, as containerd's
// errdefs expects for "not implemented".
func TestUnknownMethod(t *testing.T) {
	f := newFixture(t)
	conn, err := f.srv.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var resp snapshotsapi.StatSnapshotResponse
	err = conn.Invoke(f.ctx, "/containerd.services.snapshots.v1.Snapshots/Rename",
		&snapshotsapi.StatSnapshotRequest{Key: "x"}, &resp)
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("unknown method: %v, want Unimplemented", err)
	}
	// The server still answers afterwards.
	if _, err := f.sn.Stat(f.ctx, "x"); !errdefs.IsNotFound(err) {
		t.Errorf("stat after an unknown method: %v", err)
	}
}

// Clients are scoped by their containerd namespace header, as containerd's
// metadata store scopes keys: one namespace cannot see, stat, walk, mount,
// remove, update, commit or build on another's snapshots, and the same key
// is two snapshots in two namespaces.  Calls without the header work
// in the namespace their key begins with.  The unpacker's proof label is
// refused to every client.
func TestNamespaces(t *testing.T) {
	f := newFixture(t)
	ns := func(n string) context.Context { return namespaces.WithNamespace(context.Background(), n) }
	a, b, none := ns("ns-a"), ns("ns-b"), context.Background()
	req := func(key, parent string) *snapshotsapi.PrepareSnapshotRequest {
		return &snapshotsapi.PrepareSnapshotRequest{Snapshotter: "snapctl", Key: key, Parent: parent}
	}
	code := func(what string, err error, want codes.Code) {
		t.Helper()
		if status.Code(err) != want {
			t.Errorf("%s: got %v, want %v", what, err, want)
		}
	}

	// Namespace A's layer, planted under the name B would look for.
	if _, err := f.raw.Prepare(a, req("layer-active", "")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.raw.Commit(a, &snapshotsapi.CommitSnapshotRequest{Snapshotter: "snapctl", Name: "layer",
		Key: "layer-active", Labels: map[string]string{"who": "a"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.raw.Prepare(a, req("a-active", "layer")); err != nil {
		t.Fatal(err)
	}

	// B sees none of it and cannot build on it.
	_, err := f.raw.Stat(b, &snapshotsapi.StatSnapshotRequest{Snapshotter: "snapctl", Key: "layer"})
	code("B stat A's layer", err, codes.NotFound)
	_, err = f.raw.Prepare(b, req("b-on-a", "layer"))
	code("B prepare on A's layer", err, codes.NotFound)
	_, err = f.raw.View(b, &snapshotsapi.ViewSnapshotRequest{Snapshotter: "snapctl", Key: "b-view", Parent: "layer"})
	code("B view of A's layer", err, codes.NotFound)
	_, err = f.raw.Mounts(b, &snapshotsapi.MountsRequest{Snapshotter: "snapctl", Key: "a-active"})
	code("B mounts of A's active", err, codes.NotFound)
	_, err = f.raw.Usage(b, &snapshotsapi.UsageRequest{Snapshotter: "snapctl", Key: "layer"})
	code("B usage of A's layer", err, codes.NotFound)
	_, err = f.raw.Commit(b, &snapshotsapi.CommitSnapshotRequest{Snapshotter: "snapctl", Name: "stolen", Key: "a-active"})
	code("B commit of A's active", err, codes.NotFound)
	_, err = f.raw.Update(b, &snapshotsapi.UpdateSnapshotRequest{Snapshotter: "snapctl",
		Info: snapshotsapi.Info{Name: "layer", Labels: map[string]string{"who": "b"}}})
	code("B update of A's layer", err, codes.NotFound)
	_, err = f.raw.Remove(b, &snapshotsapi.RemoveSnapshotRequest{Snapshotter: "snapctl", Key: "a-active"})
	code("B remove of A's active", err, codes.NotFound)
	walk := func(ctx context.Context) []string {
		t.Helper()
		var keys []string
		if err := f.sn.Walk(ctx, func(_ context.Context, info snapshots.Info) error {
			keys = append(keys, info.Name)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		sort.Strings(keys)
		return keys
	}
	if got := walk(b); len(got) != 0 {
		t.Errorf("B walks A's snapshots: %v", got)
	}

	// The same key in B is B's own snapshot.
	if _, err := f.raw.Prepare(b, req("layer-active", "")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.raw.Commit(b, &snapshotsapi.CommitSnapshotRequest{Snapshotter: "snapctl", Name: "layer",
		Key: "layer-active", Labels: map[string]string{"who": "b"}}); err != nil {
		t.Fatal(err)
	}
	for ctx, who := range map[context.Context]string{a: "a", b: "b"} {
		info, err := f.sn.Stat(ctx, "layer")
		if err != nil || info.Labels["who"] != who {
			t.Errorf("stat layer in ns-%s: %+v %v", who, info, err)
		}
	}
	if got := walk(a); strings.Join(got, " ") != "a-active layer" {
		t.Errorf("A walks %v", got)
	}

	// The unpacker's proof label: refused to every client, in every call.
	proof := map[string]string{"snapctl.unpack.diff-id": "sha256:" + strings.Repeat("0", 64)}
	_, err = f.raw.Prepare(a, &snapshotsapi.PrepareSnapshotRequest{Snapshotter: "snapctl", Key: "p", Labels: proof})
	code("prepare with the proof label", err, codes.InvalidArgument)
	_, err = f.raw.Commit(a, &snapshotsapi.CommitSnapshotRequest{Snapshotter: "snapctl", Name: "p", Key: "a-active", Labels: proof})
	code("commit with the proof label", err, codes.InvalidArgument)
	_, err = f.raw.Update(a, &snapshotsapi.UpdateSnapshotRequest{Snapshotter: "snapctl",
		Info: snapshotsapi.Info{Name: "layer", Labels: proof}})
	code("update with the proof label", err, codes.InvalidArgument)
	if st, _ := status.FromError(err); !strings.Contains(st.Message(), "reserved") {
		t.Errorf("update with the proof label: message %q does not say it is reserved", st.Message())
	}

	// Without the header (containerd sends none to a proxy plugin), the
	// namespace is the key's first component, containerd's "NS/ID/KEY":
	// a key without one is refused, a parent of another namespace too,
	// and walk lists only keys that name their namespace.
	_, err = f.raw.Prepare(none, req("nowhere", ""))
	code("prepare of a key without a namespace", err, codes.InvalidArgument)
	_, err = f.raw.Stat(none, &snapshotsapi.StatSnapshotRequest{Snapshotter: "snapctl", Key: "layer"})
	code("stat of a key without a namespace", err, codes.InvalidArgument)
	if _, err := f.raw.Prepare(none, req("ns-a/1/x", "")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.raw.Commit(none, &snapshotsapi.CommitSnapshotRequest{Snapshotter: "snapctl",
		Name: "ns-a/2/x", Key: "ns-a/1/x"}); err != nil {
		t.Fatal(err)
	}
	_, err = f.raw.Prepare(none, req("ns-b/3/y", "ns-a/2/x"))
	code("prepare on another namespace's parent", err, codes.InvalidArgument)
	if got := walk(none); strings.Join(got, " ") != "ns-a/2/x" {
		t.Errorf("walk without a namespace: %v", got)
	}
	if got := walk(a); strings.Join(got, " ") != "a-active layer ns-a/2/x" {
		t.Errorf("A walks %v", got)
	}
	if _, err := f.raw.Stat(b, &snapshotsapi.StatSnapshotRequest{Snapshotter: "snapctl", Key: "ns-a/2/x"}); status.Code(err) != codes.NotFound {
		t.Errorf("B stat of ns-a/2/x: %v", err)
	}
	if _, err := f.raw.Remove(none, &snapshotsapi.RemoveSnapshotRequest{Snapshotter: "snapctl", Key: "ns-a/2/x"}); err != nil {
		t.Errorf("remove without a namespace: %v", err)
	}

	// A header that is not a containerd identifier.
	bad := metadata.NewOutgoingContext(context.Background(), metadata.Pairs("containerd-namespace", "../a"))
	_, err = f.raw.Stat(bad, &snapshotsapi.StatSnapshotRequest{Snapshotter: "snapctl", Key: "layer"})
	code("an invalid namespace", err, codes.InvalidArgument)

	// The CLI works in its own namespace: it lists none of the clients'
	// snapshots, and they cannot see its own.
	cli := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(f.srv.Bin, append([]string{"--root", f.srv.Root, "--driver", f.srv.Driver}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("snapctl %v: %v: %s", args, err, out)
		}
		return string(out)
	}
	cli("snapshot", "prepare", "cli-own")
	if out := cli("snapshot", "ls"); strings.Contains(out, "layer") || !strings.Contains(out, "cli-own") {
		t.Errorf("snapctl snapshot ls in the CLI's namespace:\n%s", out)
	}
	_, err = f.raw.Stat(a, &snapshotsapi.StatSnapshotRequest{Snapshotter: "snapctl", Key: "cli-own"})
	code("A stat of the CLI's snapshot", err, codes.NotFound)
}

// More snapshots than fit in one List message (blocks of 100), with filters.
func TestListStreamsAndFilters(t *testing.T) {
	f := newFixture(t)
	const n = 230
	for i := 0; i < n; i++ {
		labels := map[string]string{"idx": fmt.Sprint(i)}
		if i%3 == 0 {
			labels["three"] = "yes"
		}
		if _, err := f.sn.Prepare(f.ctx, fmt.Sprintf("k%03d", i), "", snapshots.WithLabels(labels)); err != nil {
			t.Fatal(err)
		}
	}
	var all []string
	if err := f.sn.Walk(f.ctx, func(_ context.Context, info snapshots.Info) error {
		all = append(all, info.Name)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(all) != n {
		t.Fatalf("walk: %d snapshots, want %d", len(all), n)
	}
	sort.Strings(all)
	if all[0] != "k000" || all[n-1] != fmt.Sprintf("k%03d", n-1) {
		t.Errorf("walk: first %s last %s", all[0], all[n-1])
	}

	count := func(filters ...string) int {
		c := 0
		if err := f.sn.Walk(f.ctx, func(context.Context, snapshots.Info) error { c++; return nil }, filters...); err != nil {
			t.Fatalf("walk %v: %v", filters, err)
		}
		return c
	}
	if got, want := count(`labels.three==yes`), (n+2)/3; got != want {
		t.Errorf("labels.three==yes: %d, want %d", got, want)
	}
	if got := count(`name==k007`); got != 1 {
		t.Errorf("name==k007: %d, want 1", got)
	}
	if got := count(`name==k007`, `name==k008`); got != 2 {
		t.Errorf("name==k007 OR name==k008: %d, want 2", got)
	}
	if got := count(`kind==committed`); got != 0 {
		t.Errorf("kind==committed: %d, want 0", got)
	}
}

func TestSocketMode(t *testing.T) {
	f := newFixture(t)
	st, err := os.Stat(f.srv.Socket)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&os.ModeSocket == 0 || st.Mode().Perm() != 0660 {
		t.Errorf("socket mode %v, want a socket with 0660", st.Mode())
	}
	// A second server on the same socket must not take it over.
	bin, driver, _ := server.FromEnv()
	out, err := exec.Command(bin, "--root", filepath.Join(f.dir, "root2"), "--driver", driver,
		"serve", "--address", f.srv.Socket).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "another server") {
		t.Errorf("a second server on a live socket: %v, %s", err, out)
	}
	if _, err := f.sn.Stat(f.ctx, "missing"); !errdefs.IsNotFound(err) {
		t.Errorf("first server after the second one's attempt: %v", err)
	}
}

// 8 clients, each on its own connection, doing prepare/mounts/commit/
// stat/remove cycles at once.
func TestConcurrentClients(t *testing.T) {
	f := newFixture(t)
	f.prepareCommit("base", "")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			conn, err := f.srv.Dial()
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			sn := server.Snapshotter(conn)
			for i := 0; i < 25; i++ {
				key := fmt.Sprintf("c%d-%d", c, i)
				if _, err := sn.Prepare(f.ctx, key, "base"); err != nil {
					errs <- fmt.Errorf("prepare %s: %w", key, err)
					return
				}
				if _, err := sn.Mounts(f.ctx, key); err != nil {
					errs <- fmt.Errorf("mounts %s: %w", key, err)
					return
				}
				if err := sn.Commit(f.ctx, key+"-c", key); err != nil {
					errs <- fmt.Errorf("commit %s: %w", key, err)
					return
				}
				if _, err := sn.Stat(f.ctx, key+"-c"); err != nil {
					errs <- fmt.Errorf("stat %s: %w", key, err)
					return
				}
				if err := sn.Remove(f.ctx, key+"-c"); err != nil {
					errs <- fmt.Errorf("remove %s: %w", key, err)
					return
				}
			}
		}(c)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// SIGTERM while clients are busy.  Every call snapctl took is answered;
// the calls gRPC had not handed over yet when the shutdown began are
// refused (Unavailable, or Canceled for streams that arrived during the
// shutdown) without being executed.  The server exits cleanly, and after a
// restart exactly the answered prepares exist.
func TestSigtermAnswersInFlight(t *testing.T) {
	// A grace period no loaded machine reaches: past it, calls would be
	// cancelled mid-way and the test could not tell what was executed.
	f := newFixture(t, "--grace", "60")
	f.prepareCommit("base", "")
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created []string
		refused []string
		bad     []error
	)
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := 0; ; i++ {
				key := fmt.Sprintf("t%d-%d", c, i)
				_, err := f.raw.Prepare(f.ctx, &snapshotsapi.PrepareSnapshotRequest{Key: key, Parent: "base"})
				mu.Lock()
				switch status.Code(err) {
				case codes.OK:
					created = append(created, key)
				case codes.Unavailable, codes.Canceled:
					refused = append(refused, key)
				default:
					bad = append(bad, fmt.Errorf("prepare %s: %v", key, err))
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}(c)
	}
	time.Sleep(300 * time.Millisecond)
	if err := f.srv.StopWithin(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for _, err := range bad {
		t.Error(err)
	}

	if err := f.srv.Restart(); err != nil {
		t.Fatal(err)
	}
	f.stop()
	f.connect()
	for _, key := range created {
		if info, err := f.sn.Stat(f.ctx, key); err != nil || info.Kind != snapshots.KindActive {
			t.Errorf("after restart, answered prepare %s: %v %v", key, info, err)
		}
	}
	for _, key := range refused {
		if _, err := f.sn.Stat(f.ctx, key); !errdefs.IsNotFound(err) {
			t.Errorf("after restart, refused prepare %s was executed (stat: %v)", key, err)
		}
	}
	t.Logf("%d prepares answered, %d refused by the shutdown", len(created), len(refused))
}

// SIGTERM while a client holds an idle connection and ignores GOAWAY:
// gRPC waits for every connection to close before it reports the shutdown,
// so snapctl must not wait for such a client until the grace period is
// over.  The client speaks just enough HTTP/2 (preface and SETTINGS) for
// gRPC to take the connection, then never reads nor closes it.
func TestSigtermIdleConnection(t *testing.T) {
	f := newFixture(t, "--grace", "60")
	f.prepareCommit("base", "")
	conn, err := net.Dial("unix", f.srv.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	preface := "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
	settings := []byte{0, 0, 0, 4, 0, 0, 0, 0, 0} // empty SETTINGS frame
	if _, err := conn.Write(append([]byte(preface), settings...)); err != nil {
		t.Fatal(err)
	}
	// The server has taken the connection once it answered a call made
	// after it (calls are served in order of arrival on one listener).
	if _, err := f.sn.Stat(f.ctx, "base"); err != nil {
		t.Fatal(err)
	}
	f.stop()
	start := time.Now()
	if err := f.srv.StopWithin(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("exited %v after SIGTERM with an idle connection open", time.Since(start).Round(time.Millisecond))
}

// A crash (SIGKILL) loses nothing that was answered, and the next start
// cleans up what the crash left (staging under ROOT/tmp).
func TestRestartAfterCrash(t *testing.T) {
	f := newFixture(t)
	f.prepareCommit("base", "", snapshots.WithLabels(map[string]string{"keep": "me"}))
	if _, err := f.sn.Prepare(f.ctx, "active", "base"); err != nil {
		t.Fatal(err)
	}
	f.srv.Kill()
	leftover := filepath.Join(f.srv.Root, "tmp", "crash-leftover")
	if err := os.MkdirAll(leftover, 0700); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.Restart(); err != nil {
		t.Fatal(err)
	}
	f.stop()
	f.connect()
	info, err := f.sn.Stat(f.ctx, "base")
	if err != nil || info.Kind != snapshots.KindCommitted || info.Labels["keep"] != "me" {
		t.Errorf("base after restart: %+v %v", info, err)
	}
	if _, err := f.sn.Mounts(f.ctx, "active"); err != nil {
		t.Errorf("mounts of active after restart: %v", err)
	}
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Errorf("%s survived the restart (stat: %v)", leftover, err)
	}
	if err := f.sn.Remove(f.ctx, "active"); err != nil {
		t.Error(err)
	}
	if err := f.sn.(snapshots.Cleaner).Cleanup(f.ctx); err != nil {
		t.Errorf("cleanup: %v", err)
	}
}
