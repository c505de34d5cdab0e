// containerd's own snapshotter test suite, run through containerd's proxy
// snapshotter against `snapctl serve`: one fresh server (and root) per test.
package suite

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/containerd/containerd/snapshots"
	"github.com/containerd/containerd/snapshots/testsuite"

	"snapctl-serve/server"
)

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		// The suite mounts what the snapshotter returns.
		println("SKIP: containerd's snapshotter suite needs root")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestSnapshotterSuite(t *testing.T) {
	bin, driver, err := server.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	testsuite.SnapshotterSuite(t, "snapctl-"+driver, func(ctx context.Context, root string) (snapshots.Snapshotter, func() error, error) {
		srv, err := server.Start(bin, root, server.SocketIn(filepath.Dir(root)), driver)
		if err != nil {
			return nil, nil, err
		}
		conn, err := srv.Dial()
		if err != nil {
			srv.Kill()
			return nil, nil, err
		}
		return server.Snapshotter(conn), func() error {
			conn.Close()
			err := srv.Stop()
			if uerr := srv.Unmount(); err == nil {
				err = uerr
			}
			return err
		}, nil
	})
}
