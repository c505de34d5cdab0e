/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pid 1 of the container and the command it starts.
 *
 * Init is a forked copy of snapctl: it finishes the namespaces (mounts,
 * pivot_root, hostname, lo), forks the command as pid 2, then only reaps
 * zombies and forwards signals to the command, like tini.  When the command
 * exits, init exits with its status (128+N for signal N) and the kernel
 * kills whatever else is left in the pid namespace.
 *
 * Both run on memory inherited from the host process and report failures
 * through the sync socket; they end with _exit so that nothing of the host
 * process (atexit handlers, stdio buffers, sanitizer reports) runs twice.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "container-internal.h"
#include "util/fs-util.h"
#include "util/macro.h"

/* Signals init passes on to the command (SIGCHLD it handles itself). */
static const int forwarded_signals[] = {
	SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGALRM, SIGCONT,
};

_Noreturn static void fail(int sock, const struct snap_error *err)
{
	container_send_error(sock, err);
	_exit(EXIT_RUN_FAILED);
}

/* Close every fd but those in keep[] (unsorted, may repeat, may be < 3). */
static void close_all_but(const int *keep, size_t n)
{
	unsigned lo = 3;
	for (;;) {
		unsigned next = UINT_MAX;
		for (size_t i = 0; i < n; i++)
			if (keep[i] >= (int)lo && (unsigned)keep[i] < next)
				next = (unsigned)keep[i];
		if (next > lo && close_range(lo, next - 1, 0) < 0)
			for (unsigned fd = lo; fd < next && fd < 65536; fd++)
				close((int)fd); /* kernels before close_range (5.9) */
		if (next == UINT_MAX)
			return;
		lo = next + 1;
	}
}

/* mkdir -p of an absolute path in the (already pivoted) root. */
static int make_cwd(const char *cwd, struct snap_error *err)
{
	int r = snap_mkdir_p(cwd, 0755);
	if (r < 0)
		return snap_error_set(err, r, "create working directory %s: %s", cwd, strerror(-r));
	return 0;
}

/* Put fds src[0..2] on 0, 1, 2.  They are first duplicated above 2 so that a
 * source that is itself 0, 1 or 2 is not overwritten before it is used, and
 * so that dup2 always clears FD_CLOEXEC on the target. */
static int install_stdio(const int src[3], struct snap_error *err)
{
	int tmp[3];
	for (int i = 0; i < 3; i++) {
		tmp[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 3);
		if (tmp[i] < 0)
			return snap_error_set(err, negative_errno(), "duplicate stdio fd %d: %m", src[i]);
	}
	for (int i = 0; i < 3; i++)
		if (dup2(tmp[i], i) < 0)
			return snap_error_set(err, negative_errno(), "set up fd %d: %m", i);
	for (int i = 0; i < 3; i++)
		close(tmp[i]);
	return 0;
}

static void exec_error(const char *cmd, int e, struct snap_error *err)
{
	if (e == ENOENT && !strchr(cmd, '/'))
		snap_error_set(err, -ENOENT, "exec: \"%s\": executable file not found in $PATH", cmd);
	else
		snap_error_set(err, -e, "exec: \"%s\": %s", cmd, strerror(e));
}

/* docker's default capability set: what a root command keeps. */
static const int default_caps[] = {
	CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FSETID, CAP_FOWNER, CAP_MKNOD, CAP_NET_RAW,
	CAP_SETGID, CAP_SETUID, CAP_SETFCAP, CAP_SETPCAP, CAP_NET_BIND_SERVICE,
	CAP_SYS_CHROOT, CAP_KILL, CAP_AUDIT_WRITE,
};

/* Drop every other capability from the bounding set (a root command gets
 * the bounding set at exec), and the inheritable and ambient sets, which
 * could carry others across the exec. */
static int drop_capabilities(struct snap_error *err)
{
	for (int cap = 0; cap < 64; cap++) {
		bool keep = false;
		for (size_t i = 0; i < ELEMENTSOF(default_caps); i++)
			keep |= default_caps[i] == cap;
		if (keep)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break; /* past the kernel's last capability */
			return snap_error_set(err, negative_errno(), "drop capability %d: %m", cap);
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return snap_error_set(err, negative_errno(), "clear ambient capabilities: %m");
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	if (syscall(SYS_capget, &hdr, data) < 0)
		return snap_error_set(err, negative_errno(), "read capabilities: %m");
	data[0].inheritable = data[1].inheritable = 0;
	if (syscall(SYS_capset, &hdr, data) < 0)
		return snap_error_set(err, negative_errno(), "clear inheritable capabilities: %m");
	return 0;
}

/* The command, pid 2.  `slave` is the pty peer or -EBADF. */
_Noreturn static void run_command(struct container_launch *l, int slave)
{
	const struct snap_container_spec *spec = l->spec;
	struct snap_error err = { 0 };
	sigset_t all;

	/* exec resets handled signals by itself; only ignored ones (snapctl
	 * or its caller may ignore these) would carry over into the command. */
	static const int may_be_ignored[] = {
		SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM,
		SIGCHLD, SIGTSTP, SIGTTIN, SIGTTOU, SIGWINCH,
	};
	for (size_t i = 0; i < ELEMENTSOF(may_be_ignored); i++)
		signal(may_be_ignored[i], SIG_DFL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);

	/* A session of its own: with a tty it becomes the controlling
	 * terminal; without one the command has none, so reading our stdin
	 * (-i) never stops it with SIGTTIN. */
	if (setsid() < 0) {
		snap_error_set(&err, negative_errno(), "setsid: %m");
		fail(l->sock, &err);
	}
	int stdio[3] = { spec->stdio[0], spec->stdio[1], spec->stdio[2] };
	_cleanup_close_ int devnull = -EBADF;
	if (slave >= 0) {
		if (ioctl(slave, TIOCSCTTY, 0) < 0) {
			snap_error_set(&err, negative_errno(), "set the controlling terminal: %m");
			fail(l->sock, &err);
		}
		stdio[0] = stdio[1] = stdio[2] = slave;
	} else if (!spec->stdin_open) {
		devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (devnull < 0) {
			snap_error_set(&err, negative_errno(), "open /dev/null: %m");
			fail(l->sock, &err);
		}
		stdio[0] = devnull;
	}
	if (install_stdio(stdio, &err) < 0)
		fail(l->sock, &err);

	const char *cwd = spec->cwd && *spec->cwd ? spec->cwd : "/";
	if (make_cwd(cwd, &err) < 0)
		fail(l->sock, &err);

	if (drop_capabilities(&err) < 0)
		fail(l->sock, &err);
	/* Last but the credentials: loading a filter without no_new_privs
	 * (docker does not set it: setuid binaries work in its containers)
	 * needs CAP_SYS_ADMIN, which setresuid to a non-root uid clears.  The
	 * profile allows the few calls left before the exec. */
	if (l->seccomp && container_seccomp_load(l->seccomp, &err) < 0)
		fail(l->sock, &err);
	if (setgroups(l->user.n_groups, l->user.groups) < 0) {
		snap_error_set(&err, negative_errno(), "setgroups: %m");
		fail(l->sock, &err);
	}
	if (setresgid(l->user.gid, l->user.gid, l->user.gid) < 0) {
		snap_error_set(&err, negative_errno(), "set gid %u: %m", (unsigned)l->user.gid);
		fail(l->sock, &err);
	}
	if (setresuid(l->user.uid, l->user.uid, l->user.uid) < 0) {
		snap_error_set(&err, negative_errno(), "set uid %u: %m", (unsigned)l->user.uid);
		fail(l->sock, &err);
	}
	if (chdir(cwd) < 0) {
		snap_error_set(&err, negative_errno(), "chdir to working directory %s: %m", cwd);
		fail(l->sock, &err);
	}

	/* Not before init's command line is clean (hide_caller). */
	char c;
	while (read(l->hidden_fd, &c, 1) < 0 && errno == EINTR)
		;
	close(l->hidden_fd);

	/* execvp searches the PATH of `environ`, so the container's
	 * environment must be in place first. */
	environ = l->env;
	execvp(spec->argv[0], spec->argv);
	exec_error(spec->argv[0], errno, &err);
	fail(l->sock, &err);
}

static int exit_code_of(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return EXIT_RUN_FAILED;
}

/* Where the kernel reads /proc/self/cmdline and environ from, and the rest
 * of the memory map PR_SET_MM_MAP replaces as a whole: /proc/self/stat
 * fields 26-28 (start_code, end_code, start_stack) and 45-51 (start_data,
 * end_data, start_brk, arg_start, arg_end, env_start, env_end). */
static int read_mm_map(struct prctl_mm_map *map)
{
	_cleanup_close_ int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	char buf[2048];
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	unsigned long long f[52] = { 0 };
	char *p = strrchr(buf, ')'); /* comm may hold spaces */
	for (int field = 3; p && field <= 51; field++) {
		p = strchr(p + 1, ' ');
		if (p && field >= 26)
			f[field] = strtoull(p + 1, NULL, 10);
	}
	if (!p)
		return -EIO;
	*map = (struct prctl_mm_map){
		.start_code = f[26], .end_code = f[27], .start_stack = f[28],
		.start_data = f[45], .end_data = f[46], .start_brk = f[47],
		.brk = (unsigned long)syscall(SYS_brk, 0),
		.arg_start = f[48], .arg_end = f[49], .env_start = f[50], .env_end = f[51],
		.exe_fd = (__u32)-1,
	};
	return 0;
}

/* Point the kernel at new argv and environment areas.  PR_SET_MM_MAP
 * needs no capability of the initial user namespace (CRIU restores with
 * it inside user namespaces), so it works without CAP_SYS_RESOURCE and in
 * a container with its own user namespace; the per-field PR_SET_MM needs
 * CAP_SYS_RESOURCE and is the fallback for kernels without
 * CONFIG_CHECKPOINT_RESTORE. */
static int set_mm_args(unsigned long start, unsigned long end)
{
	struct prctl_mm_map map;
	if (read_mm_map(&map) == 0) {
		map.arg_start = start;
		map.arg_end = end;
		map.env_start = map.env_end = end;
		if (prctl(PR_SET_MM, PR_SET_MM_MAP, (unsigned long)&map, sizeof(map), 0) == 0)
			return 0;
	}
	/* The kernel checks start <= end after each call: the new area lies
	 * below the old one (mmap grows down from the stack) on every common
	 * layout, the other order covers the rest. */
	static const int opts[2][2] = { { PR_SET_MM_ARG_START, PR_SET_MM_ARG_END },
					{ PR_SET_MM_ENV_START, PR_SET_MM_ENV_END } };
	const unsigned long area[2][2] = { { start, end }, { end, end } };
	for (int i = 0; i < 2; i++) {
		if (prctl(PR_SET_MM, opts[i][0], area[i][0], 0, 0) == 0 &&
		    prctl(PR_SET_MM, opts[i][1], area[i][1], 0, 0) == 0)
			continue;
		if (prctl(PR_SET_MM, opts[i][1], area[i][1], 0, 0) == 0 &&
		    prctl(PR_SET_MM, opts[i][0], area[i][0], 0, 0) == 0)
			continue;
		return negative_errno();
	}
	return 0;
}

/* Make /proc/1/cmdline and /proc/1/environ of the container show no trace
 * of snapctl's own command line (-e values included) or of the caller's
 * environment, and make init non-dumpable so that its memory (a copy of
 * snapctl's) cannot be read through /proc either.
 *
 * PR_SET_MM points the kernel at a copy of the command's argv and at an
 * empty environment, before the command is forked (set_mm_args).  Returns 1 when that was done, 0 when the bytes must instead be
 * overwritten in place (overwrite_caller, after the fork: the command's
 * strings point into them). */
static int hide_caller(char *const *argv, struct snap_error *err)
{
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	size_t len = 0;
	for (char *const *p = argv; *p; p++)
		len += strlen(*p) + 1;
	char *area = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		return snap_error_set(err, negative_errno(), "map init's command line: %m");
	char *q = area;
	for (char *const *p = argv; *p; p++)
		q = stpcpy(q, *p) + 1;
	if (set_mm_args((unsigned long)area, (unsigned long)q) == 0)
		return 1;
	munmap(area, len);
	return 0;
}

/* Where neither form of PR_SET_MM is allowed: the command's argv
 * written over snapctl's, NUL-padded to its length (snapctl's command line
 * holds the command, so it fits unless the image's Entrypoint or Cmd is
 * longer: then it is cut), and the environment zeroed. */
static void overwrite_caller(char *const *argv)
{
	struct prctl_mm_map map;
	if (read_mm_map(&map) < 0 || map.arg_end <= map.arg_start || map.env_end < map.env_start)
		_exit(EXIT_RUN_FAILED); /* never let the command run with it shown */
	char *arg = (char *)(uintptr_t)map.arg_start;
	size_t room = map.arg_end - map.arg_start;
	/* argv may point into the area itself: build the copy first */
	char copy[4096];
	size_t o = 0;
	for (char *const *p = argv; *p && o < sizeof(copy); p++) {
		size_t n = strlen(*p) + 1;
		if (n > sizeof(copy) - o)
			n = sizeof(copy) - o;
		memcpy(copy + o, *p, n);
		o += n;
	}
	memset(arg, 0, room);
	memcpy(arg, copy, o < room ? o : room);
	arg[room - 1] = '\0'; /* a cut argv must end in NUL or the kernel reads on */
	memset((char *)(uintptr_t)map.env_start, 0, map.env_end - map.env_start);
}

_Noreturn void container_init_main(struct container_launch *l)
{
	const struct snap_container_spec *spec = l->spec;
	struct snap_error err = { 0 };

	/* No daemon watches over us: the container dies with snapctl.  (Our
	 * parent lives in another pid namespace, so getppid() is 0 here and
	 * cannot be used to catch a parent that died before this prctl; the
	 * host closes its end of the sync socket in that case and the sends
	 * below fail.) */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_NAME, "snapctl-init");
	if (l->userns_fd >= 0 && container_userns_wait(l->userns_fd, &err) < 0)
		_exit(EXIT_RUN_FAILED); /* the host gave up and says why */
	/* Into the container's cgroup first, so that everything init starts
	 * is counted and limited there.  In a user namespace init becomes its
	 * root once the rootfs is bound (container_mounts_setup). */
	if (l->cgroup && container_cgroup_join(l->cgroup, &err) < 0)
		fail(l->sock, &err);
	if (container_keyring_new(&err) < 0)
		fail(l->sock, &err);
	/* Out of snapctl's process group and session: a ^C on the terminal
	 * reaches snapctl alone, which forwards it once (through us). */
	setsid();

	int keep[] = { l->sock, spec->stdio[0], spec->stdio[1], spec->stdio[2] };
	close_all_but(keep, ELEMENTSOF(keep));

	if (container_mounts_setup(spec, &err) < 0)
		fail(l->sock, &err);
	if (spec->hostname && sethostname(spec->hostname, strlen(spec->hostname)) < 0) {
		snap_error_set(&err, negative_errno(), "set hostname \"%s\": %m", spec->hostname);
		fail(l->sock, &err);
	}
	if (container_net_setup(spec, &err) < 0)
		fail(l->sock, &err);
	int hidden = hide_caller(spec->argv, &err);
	if (hidden < 0)
		fail(l->sock, &err);
	/* The command waits on this pipe until init's command line is clean. */
	int hidden_pipe[2];
	if (pipe2(hidden_pipe, O_CLOEXEC) < 0) {
		snap_error_set(&err, negative_errno(), "pipe: %m");
		fail(l->sock, &err);
	}

	_cleanup_close_ int slave = -EBADF;
	if (spec->tty) {
		_cleanup_close_ int master = -EBADF;
		if (container_pty_open(l->have_winsize ? &l->winsize : NULL, &master, &slave, &err) < 0)
			fail(l->sock, &err);
		int r = container_send_fd(l->sock, CONTAINER_MSG_PTY, master);
		if (r < 0)
			_exit(EXIT_RUN_FAILED); /* the host is gone */
	}

	/* Block what init waits for before forking, so that nothing arrives
	 * between the fork and sigwaitinfo; the command unblocks. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (size_t i = 0; i < ELEMENTSOF(forwarded_signals); i++)
		sigaddset(&set, forwarded_signals[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);

	pid_t child = fork();
	if (child < 0) {
		snap_error_set(&err, negative_errno(), "fork the command: %m");
		fail(l->sock, &err);
	}
	if (child == 0) {
		close(hidden_pipe[1]);
		l->hidden_fd = hidden_pipe[0];
		run_command(l, slave);
	}
	close(hidden_pipe[0]);
	if (!hidden)
		overwrite_caller(spec->argv);
	close(hidden_pipe[1]); /* EOF: the command may exec */

	/* From here the command's copy of the socket alone decides when the
	 * host sees EOF (at its exec). */
	close(l->sock);
	if (slave >= 0)
		close(TAKE_FD(slave));

	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&set, &si);
		if (sig < 0)
			continue; /* EINTR */
		if (sig != SIGCHLD) {
			kill(child, sig);
			continue;
		}
		int status;
		pid_t p;
		while ((p = waitpid(-1, &status, WNOHANG)) > 0)
			if (p == child)
				_exit(exit_code_of(status));
	}
}
