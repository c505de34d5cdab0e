/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runs inside `snapctl run` (statically linked, copied into the busybox
 * test image) and checks the container's isolation (docs/runtime.md):
 *
 *   isolation-probe confined     default flags: every item below
 *   isolation-probe unconfined   --security-opt seccomp=unconfined: no
 *                                filter, the rest unchanged
 *   isolation-probe forks             fork until refused; prints the count
 *   isolation-probe keyring           the session keyring's serial
 *
 * PROBE_SECRET is a value the test passed with -e: it must not show in
 * any /proc/PID/cmdline or environ but the probe's own environment.  Each
 * check prints "ok ..." or "FAIL ..."; the exit status is 1 on any FAIL.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static int failed;

static void check(bool ok, const char *what, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void check(bool ok, const char *what, const char *fmt, ...)
{
	char detail[512] = "";
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	printf("%s %s%s%s\n", ok ? "ok" : "FAIL", what, detail[0] ? ": " : "", detail);
	failed |= !ok;
}

static ssize_t read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = 0, r;
	while ((size_t)n < len && (r = read(fd, buf + n, len - (size_t)n)) > 0)
		n += r;
	close(fd);
	return n;
}

/* ---- 1. devices ---------------------------------------------------------- */

static void devices(void)
{
	static const char *const allowed[] = { "/dev/null", "/dev/zero", "/dev/full", "/dev/random",
					       "/dev/urandom", "/dev/ptmx" };
	for (size_t i = 0; i < sizeof(allowed) / sizeof(*allowed); i++) {
		int fd = open(allowed[i], O_RDWR | O_CLOEXEC | O_NOCTTY);
		check(fd >= 0, "device allowed", "%s: %s", allowed[i], fd >= 0 ? "opens" : strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	/* nodes the image ships (the test put them there) and nodes made
	 * here, in every writable place: none may open */
	static const char *const shipped[] = { "/shipped/null", "/shipped/loop0", "/shipped/mem" };
	for (size_t i = 0; i < sizeof(shipped) / sizeof(*shipped); i++) {
		struct stat st;
		if (lstat(shipped[i], &st) < 0 || !(S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))) {
			check(false, "shipped device node", "%s is not in the image", shipped[i]);
			continue;
		}
		int fd = open(shipped[i], O_RDONLY | O_CLOEXEC | O_NOCTTY);
		check(fd < 0, "shipped device inert", "%s: %s", shipped[i], fd < 0 ? strerror(errno) : "OPENED");
		if (fd >= 0)
			close(fd);
	}
	static const struct {
		const char *path;
		mode_t type;
		int major, minor;
	} made[] = {
		{ "/tmp/probe-null", S_IFCHR, 1, 3 },
		{ "/tmp/probe-loop0", S_IFBLK, 7, 0 },
		{ "/dev/probe-mem", S_IFCHR, 1, 1 },
		{ "/dev/shm/probe-null", S_IFCHR, 1, 3 },
		{ "/probe-sda", S_IFBLK, 8, 0 },
	};
	for (size_t i = 0; i < sizeof(made) / sizeof(*made); i++) {
		unlink(made[i].path);
		if (mknod(made[i].path, made[i].type | 0666, makedev(made[i].major, made[i].minor)) < 0) {
			check(true, "mknod refused or inert", "%s: mknod: %s", made[i].path, strerror(errno));
			continue;
		}
		int fd = open(made[i].path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		check(fd < 0, "created device inert", "%s: %s", made[i].path, fd < 0 ? strerror(errno) : "OPENED");
		if (fd >= 0)
			close(fd);
		unlink(made[i].path);
	}
}

/* ---- 2. seccomp ---------------------------------------------------------- */

static long seccomp_mode(void)
{
	char buf[8192];
	ssize_t n = read_file("/proc/self/status", buf, sizeof(buf) - 1);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	char *p = strstr(buf, "\nSeccomp:");
	return p ? strtol(p + 9, NULL, 10) : -1;
}

struct refused {
	const char *name;
	long nr;
	long a0, a1, a2, a3, a4;
	int want; /* errno under the profile */
};

static void seccomp(bool confined)
{
	long mode = seccomp_mode();
	check(mode == (confined ? 2 : 0), "seccomp mode", "Seccomp: %ld", mode);
	if (!confined)
		return;
	const struct refused calls[] = {
		{ "keyctl", SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0, 0, 0, EPERM },
		{ "add_key", SYS_add_key, (long)"user", (long)"probe", (long)"x", 1, KEY_SPEC_SESSION_KEYRING, EPERM },
		{ "request_key", SYS_request_key, (long)"user", (long)"probe", 0, 0, 0, EPERM },
		{ "mount", SYS_mount, (long)"none", (long)"/tmp", (long)"tmpfs", 0, 0, EPERM },
		{ "umount2", SYS_umount2, (long)"/proc", MNT_DETACH, 0, 0, 0, EPERM },
		{ "pivot_root", SYS_pivot_root, (long)".", (long)".", 0, 0, 0, EPERM },
		{ "unshare(user|mnt)", SYS_unshare, CLONE_NEWUSER | CLONE_NEWNS, 0, 0, 0, 0, EPERM },
		{ "unshare(net)", SYS_unshare, CLONE_NEWNET, 0, 0, 0, 0, EPERM },
		{ "setns", SYS_setns, 0, 0, 0, 0, 0, EPERM },
		{ "clone3", SYS_clone3, 0, 0, 0, 0, 0, ENOSYS },
		{ "bpf", SYS_bpf, 0, 0, 0, 0, 0, EPERM },
		{ "perf_event_open", SYS_perf_event_open, 0, 0, -1, -1, 0, EPERM },
		{ "userfaultfd", SYS_userfaultfd, 0, 0, 0, 0, 0, EPERM },
		{ "open_by_handle_at", SYS_open_by_handle_at, AT_FDCWD, 0, 0, 0, 0, EPERM },
		{ "kexec_load", SYS_kexec_load, 0, 0, 0, 0, 0, EPERM },
		{ "init_module", SYS_init_module, 0, 0, 0, 0, 0, EPERM },
		{ "finit_module", SYS_finit_module, -1, 0, 0, 0, 0, EPERM },
		{ "delete_module", SYS_delete_module, (long)"probe", 0, 0, 0, 0, EPERM },
		{ "fsopen", SYS_fsopen, (long)"tmpfs", 0, 0, 0, 0, EPERM },
		{ "open_tree", SYS_open_tree, AT_FDCWD, (long)"/", 0, 0, 0, EPERM },
		{ "reboot", SYS_reboot, 0, 0, 0, 0, 0, EPERM },
		{ "swapon", SYS_swapon, (long)"/probe", 0, 0, 0, 0, EPERM },
		{ "acct", SYS_acct, 0, 0, 0, 0, 0, EPERM },
		{ "settimeofday", SYS_settimeofday, 0, 0, 0, 0, 0, EPERM },
		{ "syslog", SYS_syslog, 3, 0, 0, 0, 0, EPERM },
		{ "personality(0x40000)", SYS_personality, 0x40000, 0, 0, 0, 0, EPERM },
	};
	for (size_t i = 0; i < sizeof(calls) / sizeof(*calls); i++) {
		errno = 0;
		long r = syscall(calls[i].nr, calls[i].a0, calls[i].a1, calls[i].a2, calls[i].a3, calls[i].a4);
		int e = errno;
		check(r < 0 && e == calls[i].want, "seccomp refuses", "%s: %s", calls[i].name,
		      r < 0 ? strerror(e) : "ALLOWED");
	}
	/* clone with a namespace flag is refused, plain fork works */
	long r = syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0);
	if (r == 0)
		_exit(0);
	check(r < 0 && errno == EPERM, "seccomp refuses", "clone(CLONE_NEWNET): %s", r < 0 ? strerror(errno) : "ALLOWED");
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	check(p > 0, "fork allowed", "%s", p > 0 ? "" : strerror(errno));
	if (p > 0)
		waitpid(p, NULL, 0);
}

/* ---- 3. cgroup, 4. network ------------------------------------------------ */

static void cgroup(void)
{
	char buf[4096];
	ssize_t n = read_file("/proc/self/cgroup", buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	char *line = strstr(buf, "/snapctl/");
	if (line)
		line[strcspn(line, "\n")] = '\0';
	check(line != NULL, "own cgroup", "%s", line ? line : buf);
}

static void network(void)
{
	struct if_nameindex *ifs = if_nameindex();
	int n = 0;
	bool only_lo = true;
	for (struct if_nameindex *i = ifs; i && i->if_index; i++, n++)
		only_lo &= strcmp(i->if_name, "lo") == 0;
	check(ifs && n == 1 && only_lo, "network namespace", "%d interface(s)%s", n, only_lo ? ", lo" : ", not only lo");
	if_freenameindex(ifs);
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = { 0 };
	strcpy(ifr.ifr_name, "lo");
	bool up = s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP);
	check(up, "lo up", "%s", "");
	if (s >= 0)
		close(s);
}

/* ---- 5. masked and read-only paths ------------------------------------ */


/* Is this process in a user namespace of its own (uid_map not the
 * identity of all ids)? */
static bool in_user_namespace(void)
{
	FILE *f = fopen("/proc/self/uid_map", "re");
	unsigned long a = 0, b = 0, n = 0;
	bool own = f && (fscanf(f, "%lu %lu %lu", &a, &b, &n) != 3 || a != 0 || b != 0 || n != 4294967295UL);
	if (f)
		fclose(f);
	return own;
}

static void masks(void)
{
	static const char *const masked[] = {
		"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
		"/sys/devices/virtual/powercap",
	};
	for (size_t i = 0; i < sizeof(masked) / sizeof(*masked); i++) {
		struct stat st;
		if (stat(masked[i], &st) < 0)
			continue; /* not on this kernel */
		if (S_ISDIR(st.st_mode)) {
			DIR *d = opendir(masked[i]);
			int entries = 0;
			for (struct dirent *e; d && (e = readdir(d));)
				entries += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
			if (d)
				closedir(d);
			check(d && entries == 0, "masked", "%s: %d entries", masked[i], entries);
		} else {
			char buf[64];
			ssize_t n = read_file(masked[i], buf, sizeof(buf));
			check(n == 0 || n == -EACCES, "masked", "%s: read %zd bytes", masked[i], n);
		}
	}
	static const char *const ro[] = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger" };
	for (size_t i = 0; i < sizeof(ro) / sizeof(*ro); i++) {
		struct statvfs sv;
		if (statvfs(ro[i], &sv) < 0) {
			check(errno == ENOENT, "read-only", "%s: %s", ro[i], strerror(errno));
			continue; /* not on this kernel */
		}
		check(sv.f_flag & ST_RDONLY, "read-only", "%s: %s", ro[i], sv.f_flag & ST_RDONLY ? "ro" : "WRITABLE");
	}
	/* EACCES first for a non-root user, and for root of a user namespace
	 * (the file is the host root's, out of its reach before the mount's
	 * read-only flag is looked at) */
	int fd = open("/proc/sys/kernel/hostname", O_WRONLY | O_CLOEXEC);
	check(fd < 0 && (errno == EROFS || (errno == EACCES && (getuid() != 0 || in_user_namespace()))), "read-only",
	      "write /proc/sys/kernel/hostname: %s",
	      fd < 0 ? strerror(errno) : "WRITABLE");
	if (fd >= 0)
		close(fd);
}

/* ---- 7. pid 1 and /proc ----------------------------------------------- */

static void pid1(const char *secret)
{
	char one[8192], self[8192];
	ssize_t n1 = read_file("/proc/1/cmdline", one, sizeof(one));
	ssize_t ns = read_file("/proc/self/cmdline", self, sizeof(self));
	/* byte for byte: no padding, nothing cut, however long the argv */
	check(n1 > 0 && n1 == ns && memcmp(one, self, (size_t)ns) == 0, "pid 1 cmdline is the command's argv",
	      "%zd vs %zd bytes", n1, ns);
	/* the secret given with -e may show in our own environment only */
	DIR *d = opendir("/proc");
	int seen = 0;
	for (struct dirent *e; d && (e = readdir(d));) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		bool me = atoi(e->d_name) == getpid();
		for (int k = 0; k < 2; k++) {
			if (me && k == 1)
				continue;
			char path[300], buf[65536];
			snprintf(path, sizeof(path), "/proc/%s/%s", e->d_name, k ? "environ" : "cmdline");
			ssize_t n = read_file(path, buf, sizeof(buf));
			if (n <= 0)
				continue;
			for (ssize_t i = 0; i < n; i++)
				if (!buf[i])
					buf[i] = ' ';
			if (memmem(buf, (size_t)n, secret, strlen(secret))) {
				check(false, "caller data hidden", "%s shows the -e value", path);
				seen++;
			}
		}
	}
	if (d)
		closedir(d);
	if (!seen)
		check(true, "caller data hidden", "no /proc/*/cmdline or other environ shows the -e value");
	char env[256];
	ssize_t ne = read_file("/proc/1/environ", env, sizeof(env));
	check(ne <= 0, "pid 1 environ", "%s", ne < 0 ? strerror((int)-ne) : ne == 0 ? "empty" : "READABLE");
}

/* ---- 6. keyring ------------------------------------------------------- */

static long session_keyring(void)
{
	return syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 1);
}

/* ---- fork limit --------------------------------------------------------- */

static int forks(void)
{
	pid_t kids[100000];
	int n = 0;
	int last = 0;
	while (n < (int)(sizeof(kids) / sizeof(*kids))) {
		pid_t p = fork();
		if (p < 0) {
			last = errno;
			break;
		}
		if (p == 0) {
			pause();
			_exit(0);
		}
		kids[n++] = p;
	}
	for (int i = 0; i < n; i++)
		kill(kids[i], SIGKILL);
	for (int i = 0; i < n; i++)
		waitpid(kids[i], NULL, 0);
	printf("%d %s\n", n, last ? strerror(last) : "no limit");
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && strcmp(argv[1], "forks") == 0)
		return forks();
	if (argc >= 2 && strcmp(argv[1], "keyring") == 0) {
		printf("%ld\n", session_keyring());
		return 0;
	}
	const char *secret = getenv("PROBE_SECRET");
	if (argc < 2 || (strcmp(argv[1], "confined") && strcmp(argv[1], "unconfined")) || !secret || !*secret) {
		fprintf(stderr, "usage: PROBE_SECRET=VALUE isolation-probe confined|unconfined | forks | keyring\n");
		return 2;
	}
	bool confined = strcmp(argv[1], "confined") == 0;
	devices();
	seccomp(confined);
	cgroup();
	network();
	masks();
	pid1(secret);
	if (!confined) /* with the filter keyctl is refused (checked above) */
		printf("keyring %ld\n", session_keyring());
	return failed;
}
