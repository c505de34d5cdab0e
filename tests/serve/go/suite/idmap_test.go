// containerd 2.x's idmapped snapshots through the service: the
// uidmapping/gidmapping labels on Prepare and View give mounts that carry
// the uidmap=/gidmap= options containerd's mount code applies, the labels
// are kept, and bad values are refused with InvalidArgument before anything
// is made.  What a mapped mount shows on disk is tests/userns/idmap.sh's.
package suite

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/mount"
	"github.com/containerd/containerd/snapshots"
)

const (
	uidLabel = "containerd.io/snapshot/uidmapping"
	gidLabel = "containerd.io/snapshot/gidmapping"
)

// The kernel's answer, from `snapctl info` on a scratch vfs root.
func requireIdmappedMounts(t *testing.T) {
	t.Helper()
	bin := os.Getenv("SNAPCTL")
	dir := t.TempDir()
	out, err := exec.Command(bin, "--root", dir+"/root", "--driver", "vfs", "info").CombinedOutput()
	if err != nil {
		t.Fatalf("snapctl info: %v: %s", err, out)
	}
	line := regexp.MustCompile(`(?m)^\s*idmapped-mounts\s+(.*)$`).FindSubmatch(out)
	if line == nil {
		t.Fatalf("snapctl info reports no idmapped-mounts line:\n%s", out)
	}
	if !strings.HasPrefix(string(line[1]), "yes") {
		t.Skipf("this kernel cannot idmap mounts: %s", line[1])
	}
}

func hasOption(ms []mount.Mount, opt string) bool {
	for _, m := range ms {
		for _, o := range m.Options {
			if o == opt {
				return true
			}
		}
	}
	return false
}

func TestIdmapLabels(t *testing.T) {
	requireIdmappedMounts(t)
	f := newFixture(t)
	f.prepareCommit("base", "")
	mapping := snapshots.WithLabels(map[string]string{
		uidLabel: "0:100000:65536",
		gidLabel: "0:200000:65536",
	})

	ms, err := f.sn.Prepare(f.ctx, "mapped", "base", mapping)
	if err != nil {
		t.Fatalf("prepare with a mapping: %v", err)
	}
	if !hasOption(ms, "uidmap=0:100000:65536") || !hasOption(ms, "gidmap=0:200000:65536") {
		t.Errorf("prepare's mounts lack the uidmap=/gidmap= options: %+v", ms)
	}
	ms, err = f.sn.Mounts(f.ctx, "mapped")
	if err != nil {
		t.Fatal(err)
	}
	if !hasOption(ms, "uidmap=0:100000:65536") || !hasOption(ms, "gidmap=0:200000:65536") {
		t.Errorf("Mounts lacks the uidmap=/gidmap= options: %+v", ms)
	}
	info, err := f.sn.Stat(f.ctx, "mapped")
	if err != nil {
		t.Fatal(err)
	}
	if info.Labels[uidLabel] != "0:100000:65536" || info.Labels[gidLabel] != "0:200000:65536" {
		t.Errorf("the mapping labels are not kept: %v", info.Labels)
	}

	// A plain snapshot of the same parent is not mapped.
	ms, err = f.sn.Prepare(f.ctx, "plain", "base")
	if err != nil {
		t.Fatal(err)
	}
	if hasOption(ms, "uidmap=0:100000:65536") {
		t.Errorf("an unmapped snapshot's mounts carry uidmap=: %+v", ms)
	}

	// A mapped view: mapped and read-only.
	ms, err = f.sn.View(f.ctx, "mapped-view", "base", mapping)
	if err != nil {
		t.Fatalf("view with a mapping: %v", err)
	}
	if !hasOption(ms, "uidmap=0:100000:65536") {
		t.Errorf("a mapped view's mounts are not mapped: %+v", ms)
	}
	if info, err := f.sn.Stat(f.ctx, "mapped-view"); err != nil || info.Kind != snapshots.KindView {
		t.Errorf("the mapped view: stat gives %+v, %v", info, err)
	}

	// Bad values: InvalidArgument, and nothing made.
	bad := []map[string]string{
		{uidLabel: "0:100000:65536"},                     // one of the two
		{uidLabel: "0:100000", gidLabel: "0:1:1"},        // not ctr:host:size
		{uidLabel: "0:100000:0", gidLabel: "0:1:1"},      // empty range
		{uidLabel: "0:1:10,5:100:10", gidLabel: "0:1:1"}, // overlapping ranges
		{uidLabel: "banana", gidLabel: "0:200000:65536"}, // not numbers
	}
	for i, labels := range bad {
		key := "bad-" + string(rune('a'+i))
		_, err := f.sn.Prepare(f.ctx, key, "base", snapshots.WithLabels(labels))
		if err == nil || !errdefs.IsInvalidArgument(err) {
			t.Errorf("prepare with %v: got %v, want InvalidArgument", labels, err)
		}
		if _, err := f.sn.Stat(f.ctx, key); !errdefs.IsNotFound(err) {
			t.Errorf("a refused prepare (%v) left a snapshot: stat gives %v", labels, err)
		}
	}
}
