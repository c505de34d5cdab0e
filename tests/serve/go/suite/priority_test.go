// The pollers answer reads ahead of the writers' filesystem work: as root,
// each of the --workers pollers runs at nice -10 and the writers at the
// process's own priority (plugin-api/containerd/grpc-server.c).
package suite

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Nice values of the threads of process pid, from field 19 of
// /proc/PID/task/TID/stat (after the parenthesised command name).
func threadNices(t *testing.T, pid int) []int {
	t.Helper()
	stats, err := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "stat"))
	if err != nil || len(stats) == 0 {
		t.Fatalf("threads of serve (pid %d): %v", pid, err)
	}
	var nices []int
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the thread ended
		}
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		n, err := strconv.Atoi(fields[16]) // field 19: nice
		if err != nil {
			t.Fatalf("%s: %q: %v", p, s, err)
		}
		nices = append(nices, n)
	}
	return nices
}

func TestPollerPriority(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("raising a thread's priority needs root (CAP_SYS_NICE)")
	}
	f := newFixture(t, "--workers", "3")
	f.prepareCommit("base", "") // the workers are running
	high, normal := 0, 0
	for _, n := range threadNices(t, f.srv.Pid()) {
		switch n {
		case -10:
			high++
		case 0:
			normal++
		default:
			t.Errorf("a serve thread runs at nice %d", n)
		}
	}
	if high != 3 {
		t.Fatalf("%d threads at nice -10, want the 3 pollers", high)
	}
	if normal < 4 {
		t.Fatalf("%d threads at nice 0, want the 3 writers, the main thread and gRPC's", normal)
	}
}
