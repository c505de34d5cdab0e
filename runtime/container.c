/* SPDX-License-Identifier: Apache-2.0 */
/* The host side of the launcher: prepare, clone, wait for the exec, then
 * wait for the exit while forwarding signals and proxying the pty. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "container-internal.h"
#include "util/fs-util.h"
#include "util/macro.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct snap_container {
	pid_t pid;        /* init, on the host; 0 once reaped */
	int master;       /* pty master or -EBADF */
	bool tty, stdin_open;
	int in_fd, out_fd; /* what the pty is proxied from and to */
	int exit_code;
	bool mask_saved;   /* the signals below are blocked since the clone */
	sigset_t old_mask;
	struct container_cgroup *cgroup; /* removed once init is reaped */
};

/* What the host forwards (or handles) while a container runs.  They are
 * blocked from before the clone until the container is reaped, so that a
 * signal sent once the command runs is forwarded, never lost or fatal. */
static const int host_signals[] = {
	SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH,
};

static void host_sigset(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < ELEMENTSOF(host_signals); i++)
		sigaddset(set, host_signals[i]);
}

void snap_container_spec_init(struct snap_container_spec *spec)
{
	*spec = (struct snap_container_spec){
		.net = SNAP_NET_NONE,
		.limits = { .pids = SNAP_CONTAINER_PIDS_DEFAULT },
		.stdio = { STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO },
	};
}

pid_t snap_container_pid(const struct snap_container *c)
{
	return c->pid;
}

/* Once init is reaped its pid namespace is empty: the cgroup can go. */
static int remove_cgroup(struct snap_container *c, struct snap_error *err)
{
	if (!c->cgroup)
		return 0;
	return container_cgroup_destroy(TAKE_PTR(c->cgroup), err);
}

void snap_container_free(struct snap_container *c)
{
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	struct snap_error ignored = { 0 };
	remove_cgroup(c, &ignored);
	if (c->master >= 0)
		close(c->master);
	if (c->mask_saved) {
		/* Signals still pending were meant for the container, which is
		 * gone: drop them rather than let them hit us on unblocking. */
		sigset_t set;
		host_sigset(&set);
		const struct timespec zero = { 0 };
		while (sigtimedwait(&set, NULL, &zero) > 0)
			;
		sigprocmask(SIG_SETMASK, &c->old_mask, NULL);
	}
	free(c);
}

int snap_container_private_mounts(struct snap_error *err)
{
	if (unshare(CLONE_NEWNS) < 0)
		return snap_error_set(err, negative_errno(), "create a mount namespace: %m");
	/* slave, not private: mounts the host makes later (a btrfs loop mount
	 * of the root, say) still reach us, ours never reach the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return snap_error_set(err, negative_errno(), "make the mount namespace a slave: %m");
	return 0;
}

static void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

static bool env_has(char *const *env, size_t n, const char *key)
{
	size_t klen = strlen(key);
	for (size_t i = 0; i < n; i++)
		if (strncmp(env[i], key, klen) == 0 && env[i][klen] == '=')
			return true;
	return false;
}

/* The spec's environment plus docker's defaults for what it lacks. */
static int build_env(const struct snap_container_spec *spec, const struct container_user *u,
		     char ***ret)
{
	size_t n = 0;
	while (spec->env && spec->env[n])
		n++;
	char **env = calloc(n + 5, sizeof(char *));
	if (!env)
		return -ENOMEM;
	size_t o = 0;
	for (size_t i = 0; i < n; i++)
		if (!(env[o++] = strdup(spec->env[i]))) {
			strv_free(env);
			return -ENOMEM;
		}
	const struct {
		const char *key, *value;
	} defaults[] = {
		{ "PATH", DEFAULT_PATH },
		{ "HOSTNAME", spec->hostname },
		{ "TERM", spec->tty ? "xterm" : NULL },
		{ "HOME", u->home },
	};
	for (size_t i = 0; i < ELEMENTSOF(defaults); i++) {
		if (!defaults[i].value || env_has(env, o, defaults[i].key))
			continue;
		if (asprintf(&env[o], "%s=%s", defaults[i].key, defaults[i].value) < 0) {
			env[o] = NULL;
			strv_free(env);
			return -ENOMEM;
		}
		o++;
	}
	*ret = env;
	return 0;
}

/* fork() with namespace flags.  The raw system call (no stack argument
 * means: continue on a copy of ours, like fork) because glibc has no
 * fork-with-flags; the child only runs code that does not depend on
 * glibc's fork bookkeeping (no threads, no pthread_atfork users). */
static pid_t clone_namespaces(unsigned long flags)
{
	return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
}

/* Read the container's messages until the command is exec'd (EOF). */
static int wait_started(struct snap_container *c, int sock, struct snap_error *err)
{
	for (;;) {
		struct container_msg msg;
		int fd = -EBADF;
		int r = container_recv(sock, &msg, &fd);
		if (r == 0)
			return 0;
		if (r < 0)
			return snap_error_set(err, r, "read from the starting container: %s", strerror(-r));
		if (msg.type == CONTAINER_MSG_PTY && fd >= 0 && c->master < 0) {
			c->master = fd;
			continue;
		}
		if (fd >= 0)
			close(fd);
		if (msg.type == CONTAINER_MSG_ERROR)
			return snap_error_set(err, msg.code < 0 ? msg.code : -EIO, "%s", msg.text);
		return snap_error_set(err, -EBADMSG, "unexpected message %d from the container", msg.type);
	}
}

int snap_container_start(const struct snap_container_spec *spec, struct snap_container **ret,
			 struct snap_error *err)
{
	if (!spec->rootfs || spec->rootfs[0] != '/')
		return snap_error_set(err, -EINVAL, "container rootfs must be an absolute path");
	if (!spec->argv || !spec->argv[0] || !spec->argv[0][0])
		return snap_error_set(err, -EINVAL, "no command to run in the container");

	_cleanup_close_ int rootfd = open(spec->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return snap_error_set(err, negative_errno(), "open rootfs %s: %m", spec->rootfs);

	struct container_launch l = { .spec = spec };
	int r = container_user_resolve(rootfd, spec->user, &l.user, err);
	if (r < 0)
		return r;
	r = build_env(spec, &l.user, &l.env);
	if (r < 0) {
		container_user_done(&l.user);
		return snap_error_set(err, r, "container environment: %s", strerror(-r));
	}
	if (spec->tty)
		l.have_winsize = ioctl(spec->stdio[0], TIOCGWINSZ, &l.winsize) == 0 ||
				 ioctl(spec->stdio[1], TIOCGWINSZ, &l.winsize) == 0;

	_cleanup_(snap_container_freep) struct snap_container *c = calloc(1, sizeof(*c));
	int sv[2] = { -EBADF, -EBADF };
	if (!c)
		r = snap_error_set(err, -ENOMEM, "container: %s", strerror(ENOMEM));
	if (r >= 0 && spec->cgroup)
		r = container_cgroup_create(spec->cgroup, &spec->limits, &c->cgroup, err);
	if (r >= 0 && !spec->seccomp_unconfined)
		r = container_seccomp_prepare(&l.seccomp, err);
	if (r >= 0 && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		r = snap_error_set(err, negative_errno(), "sync socket: %m");
	if (r < 0) {
		container_user_done(&l.user);
		strv_free(l.env);
		container_seccomp_free(l.seccomp);
		return r;
	}
	l.cgroup = c->cgroup;
	c->master = -EBADF;
	c->tty = spec->tty;
	c->stdin_open = spec->stdin_open;
	c->in_fd = spec->stdio[0];
	c->out_fd = spec->stdio[1];
	sigset_t set;
	host_sigset(&set);
	sigprocmask(SIG_BLOCK, &set, &c->old_mask);
	c->mask_saved = true;

	unsigned long flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;
	if (spec->net == SNAP_NET_NONE)
		flags |= CLONE_NEWNET;
	/* With a user namespace, init waits on this pipe for its id maps. */
	int userns_pipe[2] = { -EBADF, -EBADF };
	if (spec->userns) {
		flags |= CLONE_NEWUSER;
		if (pipe2(userns_pipe, O_CLOEXEC) < 0)
			userns_pipe[0] = userns_pipe[1] = -EBADF;
	}
	l.userns_fd = userns_pipe[0];
	pid_t pid = spec->userns && userns_pipe[0] < 0 ? -1 : clone_namespaces(flags);
	if (pid == 0) {
		close(sv[0]);
		close(userns_pipe[1]);
		l.sock = sv[1];
		container_init_main(&l);
	}
	int clone_errno = errno;
	close(sv[1]);
	if (userns_pipe[0] >= 0)
		close(userns_pipe[0]);
	_cleanup_close_ int userns_go = userns_pipe[1];
	container_user_done(&l.user);
	strv_free(l.env);
	container_seccomp_free(l.seccomp);
	if (c->cgroup)
		container_cgroup_close_fds(c->cgroup);
	_cleanup_close_ int sock = sv[0];
	if (pid < 0 && spec->userns)
		return snap_error_set(err, -clone_errno, "create the container's user namespace (and the others): %s",
				      strerror(clone_errno));
	if (pid < 0)
		return snap_error_set(err, -clone_errno, "create the container's namespaces: %s",
				      strerror(clone_errno));
	c->pid = pid;
	if (spec->userns) {
		/* init goes on only once its ids mean something */
		r = container_userns_write_maps(pid, spec, err);
		if (r < 0)
			return r; /* init reads EOF and exits; freep reaps it */
		if (write(userns_go, "", 1) != 1)
			return snap_error_set(err, negative_errno(), "let the container go on: %m");
	}

	r = wait_started(c, sock, err);
	if (r < 0)
		return r; /* snap_container_freep kills and reaps init */
	*ret = TAKE_PTR(c);
	return 0;
}

/* ---- waiting: signals and the pty ------------------------------------- */

struct raw_tty {
	int fd;
	bool active;
	struct termios saved;
};

static void raw_tty_restore(struct raw_tty *t)
{
	if (t->active)
		tcsetattr(t->fd, TCSADRAIN, &t->saved);
}

static void raw_tty_enter(struct raw_tty *t)
{
	if (tcgetattr(t->fd, &t->saved) < 0)
		return;
	struct termios raw = t->saved;
	/* all of it raw, output too: the container's pty already turned its
	 * "\n" into "\r\n" (as docker's raw mode does) */
	cfmakeraw(&raw);
	t->active = tcsetattr(t->fd, TCSADRAIN, &raw) == 0;
}

/* Copy what is readable on `from` to `to`.  Returns >0 when data moved, 0
 * at EOF or hangup (EIO from a pty master whose peers are all closed), -1
 * when nothing is there now (EAGAIN). */
static int pump(int from, int to)
{
	char buf[16384];
	ssize_t n = read(from, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return -1;
	if (n <= 0)
		return 0;
	/* the host side may be gone (closed pipe): drop the output, keep on
	 * waiting for the exit status */
	(void)snap_write_all(to, buf, (size_t)n);
	return 1;
}

int snap_container_wait(struct snap_container *c, int *ret_status, struct snap_error *err)
{
	if (c->pid <= 0) {
		*ret_status = c->exit_code;
		return 0;
	}
	sigset_t set;
	host_sigset(&set);
	_cleanup_close_ int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		return snap_error_set(err, negative_errno(), "signalfd: %m");

	_cleanup_(raw_tty_restore) struct raw_tty raw = { 0 };
	bool read_stdin = false;
	if (c->master >= 0) {
		fcntl(c->master, F_SETFL, fcntl(c->master, F_GETFL) | O_NONBLOCK);
		read_stdin = c->stdin_open;
		if (read_stdin && isatty(c->in_fd)) {
			raw.fd = c->in_fd;
			raw_tty_enter(&raw);
		}
	}

	/* The SIGCHLD of an exit before the mask was set is pending in the
	 * signalfd too (a blocked pending signal is not lost), so one check
	 * per SIGCHLD is enough. */
	bool master_open = c->master >= 0;
	while (c->pid > 0) {
		struct pollfd pfd[3] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = master_open ? c->master : -1, .events = POLLIN },
			{ .fd = read_stdin ? c->in_fd : -1, .events = POLLIN },
		};
		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return snap_error_set(err, negative_errno(), "poll: %m");
		}
		if (pfd[1].revents && pump(c->master, c->out_fd) == 0)
			master_open = false;
		if (pfd[2].revents && pump(c->in_fd, c->master) == 0)
			read_stdin = false;
		if (!(pfd[0].revents & POLLIN))
			continue;
		struct signalfd_siginfo si;
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			int sig = (int)si.ssi_signo;
			if (sig == SIGCHLD) {
				int status;
				pid_t p = waitpid(c->pid, &status, WNOHANG);
				if (p == c->pid) {
					c->pid = 0;
					c->exit_code = WIFEXITED(status) ? WEXITSTATUS(status)
									 : 128 + WTERMSIG(status);
				}
			} else if (sig == SIGWINCH) {
				struct winsize ws;
				if (c->master >= 0 && ioctl(c->in_fd, TIOCGWINSZ, &ws) == 0)
					ioctl(c->master, TIOCSWINSZ, &ws);
			} else {
				kill(c->pid, sig);
			}
		}
	}
	/* The pid namespace is gone, so are all holders of the pty's peer:
	 * what is left in the master's buffer is the last output. */
	while (master_open && pump(c->master, c->out_fd) > 0)
		;
	*ret_status = c->exit_code;
	return remove_cgroup(c, err);
}
