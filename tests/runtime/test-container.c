/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The launcher on a plain busybox rootfs directory: namespaces, mounts,
 * pid 1, signals, user, env, cwd, hostname, --net none, pty, start
 * failures, and that no mount ever leaks into the caller's namespace.
 * Needs root (namespaces, mounts) and busybox-static; skips otherwise.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "busybox-rootfs.h"
#include "container.h"
#include "util/fs-util.h"
#include "util/macro.h"

static char tmpdir[] = "/tmp/snapctl-test-container-XXXXXX";
static char rootfs[sizeof(tmpdir) + 16];
static const char *skip_reason;

#define REQUIRE_SETUP()                                                                \
	do {                                                                           \
		if (skip_reason) {                                                     \
			print_message("skipped: %s\n", skip_reason);                   \
			skip();                                                        \
		}                                                                      \
	} while (0)

static char *read_mountinfo(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return NULL;
	char *text = NULL;
	size_t cap = 0;
	if (getdelim(&text, &cap, '\0', f) < 0) {
		free(text);
		return NULL;
	}
	return text;
}

struct result {
	int start; /* snap_container_start's return */
	int code;  /* exit code when started */
	char out[8192];
	struct snap_error err;
};

/* Run argv in a container built from `base` (rootfs and stdio filled in),
 * capturing stdout+stderr, and check that the caller's mount table is the
 * same afterwards and that no child is left behind. */
static void run_spec(const struct snap_container_spec *base, char *const argv[], struct result *res)
{
	memset(res, 0, sizeof(*res));
	_cleanup_free_ char *before = read_mountinfo();
	assert_non_null(before);

	_cleanup_close_ int out = memfd_create("container-out", MFD_CLOEXEC);
	assert_true(out >= 0);
	struct snap_container_spec spec = *base;
	if (!spec.rootfs)
		spec.rootfs = rootfs;
	spec.argv = argv;
	if (!spec.tty)
		spec.stdio[1] = spec.stdio[2] = out;
	else
		spec.stdio[1] = out;

	struct snap_container *c = NULL;
	res->start = snap_container_start(&spec, &c, &res->err);
	if (res->start == 0) {
		assert_int_equal(snap_container_wait(c, &res->code, &res->err), 0);
		snap_container_free(c);
	}
	ssize_t n = pread(out, res->out, sizeof(res->out) - 1, 0);
	assert_true(n >= 0);
	res->out[n] = '\0';

	_cleanup_free_ char *after = read_mountinfo();
	assert_non_null(after);
	assert_string_equal(before, after);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void run_argv(char *const argv[], struct result *res)
{
	struct snap_container_spec spec;
	snap_container_spec_init(&spec);
	run_spec(&spec, argv, res);
}

#define ARGV(...) ((char *const[]){ __VA_ARGS__, NULL })

static void test_exit_codes(void **state)
{
	REQUIRE_SETUP();
	struct result r;
	run_argv(ARGV("true"), &r);
	assert_int_equal(r.start, 0);
	assert_int_equal(r.code, 0);
	run_argv(ARGV("false"), &r);
	assert_int_equal(r.code, 1);
	run_argv(ARGV("sh", "-c", "exit 42"), &r);
	assert_int_equal(r.code, 42);
}

static void test_output_and_namespaces(void **state)
{
	REQUIRE_SETUP();
	struct result r;
	/* pid 2: init is pid 1 of the new pid namespace */
	run_argv(ARGV("sh", "-c", "echo hello; echo $$; cat /proc/1/cmdline >/dev/null && echo init"), &r);
	assert_int_equal(r.code, 0);
	assert_string_equal(r.out, "hello\n2\ninit\n");
}

static void test_signals(void **state)
{
	REQUIRE_SETUP();
	struct result r;
	run_argv(ARGV("sh", "-c", "kill -TERM $$"), &r);
	assert_int_equal(r.code, 128 + SIGTERM);
	run_argv(ARGV("sh", "-c", "kill -KILL $$"), &r);
	assert_int_equal(r.code, 128 + SIGKILL);
}

/* A signal sent to init (as `docker kill` would) reaches the command. */
static void test_signal_to_init(void **state)
{
	REQUIRE_SETUP();
	struct snap_container_spec spec;
	snap_container_spec_init(&spec);
	spec.rootfs = rootfs;
	spec.argv = ARGV("sleep", "60");
	struct snap_container *c = NULL;
	struct snap_error err = { 0 };
	assert_int_equal(snap_container_start(&spec, &c, &err), 0);
	assert_int_equal(kill(snap_container_pid(c), SIGTERM), 0);
	int code = -1;
	assert_int_equal(snap_container_wait(c, &code, &err), 0);
	snap_container_free(c);
	assert_int_equal(code, 128 + SIGTERM);
}

/* A signal to the host process while the container runs is forwarded,
 * not fatal: it stays pending (blocked since the start) until the wait. */
static void test_signal_forwarded_from_host(void **state)
{
	REQUIRE_SETUP();
	struct snap_container_spec spec;
	snap_container_spec_init(&spec);
	spec.rootfs = rootfs;
	spec.argv = ARGV("sleep", "60");
	struct snap_container *c = NULL;
	struct snap_error err = { 0 };
	assert_int_equal(snap_container_start(&spec, &c, &err), 0);
	assert_int_equal(kill(getpid(), SIGINT), 0);
	int code = -1;
	assert_int_equal(snap_container_wait(c, &code, &err), 0);
	snap_container_free(c);
	assert_int_equal(code, 128 + SIGINT);
}

static void test_zombies_reaped(void **state)
{
	REQUIRE_SETUP();
	struct result r;
	/* The inner shell exits at once and orphans `true` to init, which
	 * must reap it: no process may stay in state Z.  Reaping is
	 * asynchronous, so look for up to 10 s (a loaded CI machine) and report
	 * the last count; a zombie init never reaps stays and fails.  A process
	 * may end between the glob and the read (the shell's own subshells
	 * do): its stat is skipped quietly. */
	run_argv(ARGV("sh", "-c",
		      "sh -c 'true & true &'; i=0; while :; do "
		      "n=$(for f in /proc/[0-9]*/stat; do { read a b s rest < $f && echo $s; } 2>/dev/null; done | grep -c Z); "
		      "[ $n = 0 ] || [ $i = 100 ] && break; i=$((i+1)); sleep 0.1; done; echo $n"),
		 &r);
	assert_string_equal(r.out, "0\n");
}

static void test_hostname_env_cwd(void **state)
{
	REQUIRE_SETUP();
	struct snap_container_spec spec;
	snap_container_spec_init(&spec);
	spec.hostname = "box1";
	spec.cwd = "/work/new dir";
	spec.env = ARGV("FOO=bar baz", "PATH=/bin");
	struct result r;
	run_spec(&spec, ARGV("sh", "-c", "echo \"$(hostname):$HOSTNAME:$FOO:$PWD:$HOME:$PATH\""), &r);
	assert_int_equal(r.code, 0);
	assert_string_equal(r.out, "box1:box1:bar baz:/work/new dir:/root:/bin\n");
}

/* /etc/hostname and /etc/hosts from the runtime over the image's (empty)
 * files, /etc/resolv.conf not created where the image has none, and the
 * image's files untouched afterwards. */
static void test_etc_files(void **state)
{
	REQUIRE_SETUP();
	struct snap_container_spec spec;
	snap_container_spec_init(&spec);
	spec.hostname = "box2";
	spec.net = SNAP_NET_NONE;
	struct result r;
	run_spec(&spec, ARGV("sh", "-c", "cat /etc/hostname /etc/hosts; ls /etc/resolv.conf 2>&1; ls -a /dev | grep -c snapctl; true"), &r);
	assert_int_equal(r.code, 0);
	assert_string_equal(r.out, "box2\n"
				   "127.0.0.1\tlocalhost\n"
				   "::1\tlocalhost ip6-localhost ip6-loopback\n"
				   "127.0.1.1\tbox2\n"
				   "ls: /etc/resolv.conf: No such file or directory\n"
				   "0\n");
	char path[sizeof(rootfs) + 32];
	snprintf(path, sizeof(path), "%s/etc/hosts", rootfs);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);
	snprintf(path, sizeof(path), "%s/etc/resolv.conf", rootfs);
	assert_int_equal(stat(path, &st), -1);
}

static void test_user(void **state)
{
	REQUIRE_SETUP();
	struct snap_container_spec spec;
	snap_container_spec_init(&spec);
	struct result r;

	spec.user = "tester";
	run_spec(&spec, ARGV("sh", "-c", "echo $(id -u):$(id -g):$(id -G):$HOME"), &r);
	assert_int_equal(r.code, 0);
	assert_string_equal(r.out, "1000:1000:1000 10 29:/home/tester\n");

	spec.user = "4321:audio";
	run_spec(&spec, ARGV("sh", "-c", "echo $(id -u):$(id -g):$HOME"), &r);
	assert_string_equal(r.out, "4321:29:/\n");

	spec.user = "nosuchuser";
	run_spec(&spec, ARGV("true"), &r);
	assert_int_equal(r.start, -ENOENT);
	assert_non_null(strstr(r.err.message, "nosuchuser"));
}

/* docker's default capabilities: root in the container cannot mount. */
static void test_capabilities(void **state)
{
	REQUIRE_SETUP();
	struct result r;
	run_argv(ARGV("sh", "-c",
		      "grep -E '^Cap(Inh|Eff|Bnd|Amb)' /proc/self/status | tr -s '\t' ' '; "
		      "mount -t tmpfs none /tmp 2>/dev/null || echo no-mount"),
		 &r);
	assert_string_equal(r.out,
			    "CapInh: 0000000000000000\n"
			    "CapEff: 00000000a80425fb\n"
			    "CapBnd: 00000000a80425fb\n"
			    "CapAmb: 0000000000000000\n"
			    "no-mount\n");
}

static void test_net_none(void **state)
{
	REQUIRE_SETUP();
	struct snap_container_spec spec;
	snap_container_spec_init(&spec);
	spec.net = SNAP_NET_NONE;
	struct result r;
	run_spec(&spec, ARGV("sh", "-c", "ls /sys/class/net; cat /sys/class/net/lo/flags"), &r);
	assert_int_equal(r.code, 0);
	/* 0x9 = IFF_UP | IFF_LOOPBACK */
	assert_string_equal(r.out, "lo\n0x9\n");
}

static void test_dev_proc_sys(void **state)
{
	REQUIRE_SETUP();
	struct result r;
	run_argv(ARGV("sh", "-c",
		      "ls /dev | tr '\\n' ' '; echo; echo x > /dev/null && head -c 4 /dev/zero | wc -c; "
		      "readlink /dev/ptmx; readlink /dev/fd; "
		      "touch /sys/x 2>/dev/null || echo sys-ro; "
		      "{ echo 1 > /proc/sys/kernel/panic; } 2>/dev/null || echo procsys-ro; "
		      "[ -e /proc/timer_list ] && wc -c < /proc/timer_list || echo 0"),
		 &r);
	assert_string_equal(r.out,
			    "fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero \n"
			    "4\npts/ptmx\n/proc/self/fd\nsys-ro\nprocsys-ro\n0\n");
}

static void test_missing_command(void **state)
{
	REQUIRE_SETUP();
	struct result r;
	run_argv(ARGV("no-such-command", "arg"), &r);
	assert_int_equal(r.start, -ENOENT);
	assert_string_equal(r.err.message, "exec: \"no-such-command\": executable file not found in $PATH");
	run_argv(ARGV("/etc/passwd"), &r);
	assert_int_equal(r.start, -EACCES);
}

/* A mount that fails in the container is reported, and leaves nothing. */
static void test_mount_failure(void **state)
{
	REQUIRE_SETUP();
	char bad[sizeof(tmpdir) + 16];
	snprintf(bad, sizeof(bad), "%s/bad", tmpdir);
	assert_int_equal(mkdir(bad, 0755), 0);
	char proc[sizeof(bad) + 8];
	snprintf(proc, sizeof(proc), "%s/proc", bad);
	_cleanup_close_ int fd = open(proc, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);

	struct snap_container_spec spec;
	snap_container_spec_init(&spec);
	spec.rootfs = bad;
	struct result r;
	run_spec(&spec, ARGV("/bin/true"), &r);
	assert_int_equal(r.start, -ENOTDIR);
	assert_non_null(strstr(r.err.message, "/proc"));
	assert_int_equal(snap_rm_rf_at(AT_FDCWD, bad), 0);
}

/* -i: the command reads our stdin; without it, /dev/null. */
static void test_stdin(void **state)
{
	REQUIRE_SETUP();
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(snap_write_all(p[1], "from stdin\n", 11), 0);
	close(p[1]);
	struct snap_container_spec spec;
	snap_container_spec_init(&spec);
	spec.stdin_open = true;
	spec.stdio[0] = p[0];
	struct result r;
	run_spec(&spec, ARGV("cat"), &r);
	assert_string_equal(r.out, "from stdin\n");
	close(p[0]);

	snap_container_spec_init(&spec);
	run_spec(&spec, ARGV("sh", "-c", "cat; readlink /proc/self/fd/0"), &r);
	assert_string_equal(r.out, "/dev/null\n");
}

static void test_tty(void **state)
{
	REQUIRE_SETUP();
	/* A host pty as our "terminal", for the window size to pass on. */
	int tmaster, tslave;
	struct winsize ws = { .ws_row = 33, .ws_col = 111 };
	assert_int_equal(openpty(&tmaster, &tslave, NULL, NULL, &ws), 0);

	struct snap_container_spec spec;
	snap_container_spec_init(&spec);
	spec.tty = true;
	spec.stdio[0] = tslave;
	struct result r;
	run_spec(&spec, ARGV("sh", "-c", "tty; stty size; echo $TERM"), &r);
	close(tmaster);
	close(tslave);
	assert_int_equal(r.code, 0);
	assert_string_equal(r.out, "/dev/pts/0\r\n33 111\r\nxterm\r\n");
}

static int group_setup(void **state)
{
	if (geteuid() != 0) {
		skip_reason = "needs root (namespaces and mounts)";
		return 0;
	}
	if (!busybox_path()) {
		skip_reason = "busybox-static is not installed";
		return 0;
	}
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", tmpdir);
	if (mkdir(rootfs, 0755) < 0 || busybox_rootfs_make(rootfs) < 0)
		return -1;
	/* Can we create namespaces at all here (a container may forbid it)? */
	struct snap_container_spec spec;
	snap_container_spec_init(&spec);
	spec.rootfs = rootfs;
	spec.argv = ARGV("true");
	struct snap_container *c = NULL;
	struct snap_error err = { 0 };
	int r = snap_container_start(&spec, &c, &err);
	if (r == -EPERM || r == -EINVAL || r == -ENOSPC) {
		static char reason[SNAP_ERROR_MSG_MAX + 32];
		snprintf(reason, sizeof(reason), "cannot create namespaces: %s", err.message);
		skip_reason = reason;
		return 0;
	}
	if (r == 0) {
		int code;
		snap_container_wait(c, &code, &err);
		snap_container_free(c);
	}
	return 0;
}

static int group_teardown(void **state)
{
	if (rootfs[0])
		snap_rm_rf_at(AT_FDCWD, tmpdir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_output_and_namespaces),
		cmocka_unit_test(test_signals),
		cmocka_unit_test(test_signal_to_init),
		cmocka_unit_test(test_signal_forwarded_from_host),
		cmocka_unit_test(test_zombies_reaped),
		cmocka_unit_test(test_hostname_env_cwd),
		cmocka_unit_test(test_etc_files),
		cmocka_unit_test(test_user),
		cmocka_unit_test(test_capabilities),
		cmocka_unit_test(test_net_none),
		cmocka_unit_test(test_dev_proc_sys),
		cmocka_unit_test(test_missing_command),
		cmocka_unit_test(test_mount_failure),
		cmocka_unit_test(test_stdin),
		cmocka_unit_test(test_tty),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
