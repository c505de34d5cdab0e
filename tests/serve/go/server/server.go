// Package server starts and stops `snapctl serve` for the tests and the
// benchmark, and connects containerd's proxy snapshotter to it.
package server

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	snapshotsapi "github.com/containerd/containerd/api/services/snapshots/v1"
	"github.com/containerd/containerd/snapshots"
	"github.com/containerd/containerd/snapshots/proxy"
	"google.golang.org/grpc"
)

// Server is one running `snapctl serve` process.
type Server struct {
	Bin, Root, Socket, Driver string
	Args                      []string

	cmd    *exec.Cmd
	stderr *logFile
	done   chan struct{}
	err    error
}

// logFile holds what the server prints.  A file, not a pipe: exec.Cmd
// waits for a pipe's EOF, which a process the server forked and that
// outlives it would hold back forever.
type logFile struct {
	f *os.File
}

func newLogFile() (*logFile, error) {
	f, err := os.CreateTemp("", "snapctl-serve-log-")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name()) // read back through the fd only
	return &logFile{f: f}, nil
}

func (l *logFile) String() string {
	st, err := l.f.Stat()
	if err != nil {
		return err.Error()
	}
	b := make([]byte, st.Size())
	n, _ := l.f.ReadAt(b, 0)
	return string(b[:n])
}

// FromEnv reads the binary and the driver the test script chose.
func FromEnv() (bin, driver string, err error) {
	bin = os.Getenv("SNAPCTL")
	driver = os.Getenv("SNAPCTL_TEST_DRIVER")
	if bin == "" || driver == "" {
		return "", "", fmt.Errorf("SNAPCTL and SNAPCTL_TEST_DRIVER must be set (tests/serve/run-go.sh does it)")
	}
	return bin, driver, nil
}

// Start runs `snapctl --root root --driver driver serve --address socket`
// and waits until the socket accepts connections.
func Start(bin, root, socket, driver string, args ...string) (*Server, error) {
	s := &Server{Bin: bin, Root: root, Socket: socket, Driver: driver, Args: args}
	return s, s.start()
}

func (s *Server) start() error {
	argv := append([]string{"--root", s.Root, "--driver", s.Driver, "serve", "--address", s.Socket}, s.Args...)
	s.cmd = exec.Command(s.Bin, argv...)
	log, err := newLogFile()
	if err != nil {
		return err
	}
	if s.stderr != nil {
		s.stderr.f.Close()
	}
	s.stderr = log
	s.cmd.Stderr = log.f
	s.cmd.Stdout = log.f
	if err := s.cmd.Start(); err != nil {
		return err
	}
	s.done = make(chan struct{})
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-s.done:
			return fmt.Errorf("snapctl serve exited before listening (%v): %s", s.err, s.stderr.String())
		default:
		}
		if c, err := net.Dial("unix", s.Socket); err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			s.Kill()
			return fmt.Errorf("snapctl serve did not listen on %s within 30s: %s", s.Socket, s.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Restart starts the same server again after Stop or Kill.
func (s *Server) Restart() error { return s.start() }

// Stderr is what the server printed so far.
func (s *Server) Stderr() string { return s.stderr.String() }

// Pid of the running process.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Stop sends SIGTERM and waits for a clean exit (status 0) within limit.
func (s *Server) Stop() error { return s.StopWithin(15 * time.Second) }

func (s *Server) StopWithin(limit time.Duration) error {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(limit):
		s.Kill()
		return fmt.Errorf("snapctl serve did not exit within %v of SIGTERM: %s", limit, s.stderr.String())
	}
	if s.err != nil {
		return fmt.Errorf("snapctl serve exited with %v: %s", s.err, s.stderr.String())
	}
	if _, err := os.Stat(s.Socket); !os.IsNotExist(err) {
		return fmt.Errorf("socket %s still exists after exit", s.Socket)
	}
	return nil
}

// Kill stops the server with SIGKILL, as a crash would.
func (s *Server) Kill() {
	s.cmd.Process.Kill()
	<-s.done
}

// Dial connects to the server's socket.
func (s *Server) Dial() (*grpc.ClientConn, error) {
	return Dial(s.Socket)
}

// Dial connects to a snapshots.v1 service on a unix socket, the way
// containerd's proxy plugin does.
func Dial(socket string) (*grpc.ClientConn, error) {
	dialer := func(ctx context.Context, addr string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", addr)
	}
	return grpc.Dial(socket, grpc.WithInsecure(), grpc.WithContextDialer(dialer),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16<<20)))
}

// Client is the raw generated client.
func Client(conn *grpc.ClientConn) snapshotsapi.SnapshotsClient {
	return snapshotsapi.NewSnapshotsClient(conn)
}

// Snapshotter is containerd's proxy snapshotter over conn.
func Snapshotter(conn *grpc.ClientConn) snapshots.Snapshotter {
	return proxy.NewSnapshotter(snapshotsapi.NewSnapshotsClient(conn), "snapctl")
}

// SocketIn is a socket path in dir short enough for sun_path.
func SocketIn(dir string) string { return filepath.Join(dir, "snapctl.sock") }

// Unmount detaches whatever is still mounted under the server's root
// after it exited (the btrfs driver keeps its loopback filesystem mounted
// for the next start), deepest first, so the root can be removed.
func (s *Server) Unmount() error {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	root := filepath.Clean(s.Root) + "/"
	var targets []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4]+"/", root) {
			targets = append(targets, unescapeMountPath(f[4]))
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(targets)))
	for _, t := range targets {
		if err := syscall.Unmount(t, syscall.MNT_DETACH); err != nil && err != syscall.EINVAL {
			return fmt.Errorf("unmount %s: %w", t, err)
		}
	}
	return nil
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
func unescapeMountPath(p string) string {
	if !strings.Contains(p, `\`) {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' && i+4 <= len(p) {
			if v, err := strconv.ParseUint(p[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(p[i])
	}
	return b.String()
}
