/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The default seccomp profile: docker's and containerd's (moby
 * profiles/seccomp/default.json, containerd contrib/seccomp) for a
 * container with docker's default capabilities, written out here group by
 * group.  An allowlist: every other system call fails with EPERM.  Among
 * those refused: keyctl, add_key, request_key (the kernel keyring is not
 * namespaced); mount, umount2, pivot_root, the new mount API, unshare,
 * setns and namespace flags on clone (namespaces are how a container
 * reaches kernel code that only root was meant to reach); bpf,
 * perf_event_open, userfaultfd, open_by_handle_at, kexec_*, *_module,
 * reboot, swapon, acct, settimeofday, iopl, lookup_dcookie, syslog ...
 *
 * libseccomp builds the filter for the native architecture and, as docker
 * does, for the ABIs the kernel can also run here (x86 and x32 on x86_64,
 * arm on aarch64); a name that does not exist on one of them is skipped
 * for that one.
 *
 * The filter is compiled at build time (seccomp-gen.c writes the BPF into
 * a header that container-seccomp.c loads): libseccomp takes tens of
 * milliseconds to build and generate these ~370 rules for three ABIs,
 * which every `snapctl run` would otherwise pay.
 */
#include <errno.h>
#include <sched.h>
#include <seccomp.h>

#include "seccomp-profile.h"

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* Allowed without conditions. */
static const char *const allowed[] = {
	/* files: open, read, write, metadata, directories, links */
	"open", "openat", "openat2", "creat", "close", "close_range", "read", "readv", "pread64",
	"preadv", "preadv2", "write", "writev", "pwrite64", "pwritev", "pwritev2", "lseek", "_llseek",
	"dup", "dup2", "dup3", "fcntl", "fcntl64", "flock", "fsync", "fdatasync", "sync", "syncfs",
	"sync_file_range", "fallocate", "fadvise64", "fadvise64_64", "readahead", "truncate",
	"truncate64", "ftruncate", "ftruncate64", "copy_file_range", "sendfile", "sendfile64", "splice",
	"tee", "vmsplice", "stat", "stat64", "lstat", "lstat64", "fstat", "fstat64", "fstatat64",
	"newfstatat", "statx", "statfs", "statfs64", "fstatfs", "fstatfs64", "access", "faccessat",
	"faccessat2", "chmod", "fchmod", "fchmodat", "chown", "chown32", "fchown", "fchown32",
	"fchownat", "lchown", "lchown32", "umask", "utime", "utimes", "utimensat", "utimensat_time64",
	"futimesat", "mkdir", "mkdirat", "rmdir", "rename", "renameat", "renameat2", "link", "linkat",
	"symlink", "symlinkat", "unlink", "unlinkat", "readlink", "readlinkat", "getdents",
	"getdents64", "chdir", "fchdir", "getcwd",
	/* device nodes: allowed as under docker (CAP_MKNOD); the nodev
	 * mounts make what they create inert (container-devices.c) */
	"mknod", "mknodat",
	/* chroot: CAP_SYS_CHROOT is in docker's default set */
	"chroot",
	/* extended attributes */
	"getxattr", "lgetxattr", "fgetxattr", "setxattr", "lsetxattr", "fsetxattr", "listxattr",
	"llistxattr", "flistxattr", "removexattr", "lremovexattr", "fremovexattr",
	/* memory */
	"brk", "mmap", "mmap2", "munmap", "mremap", "mprotect", "madvise", "mincore", "msync", "mlock",
	"mlock2", "mlockall", "munlock", "munlockall", "remap_file_pages", "membarrier",
	"memfd_create", "memfd_secret", "pkey_alloc", "pkey_free", "pkey_mprotect",
	/* processes: fork without namespaces (clone below), exec, exit, wait */
	"fork", "vfork", "execve", "execveat", "exit", "exit_group", "wait4", "waitid", "waitpid",
	"set_tid_address", "set_robust_list", "get_robust_list", "rseq", "restart_syscall",
	"get_thread_area", "set_thread_area", "prctl", "pidfd_open", "pidfd_send_signal",
	"process_mrelease",
	/* ptrace of the container's own processes: docker allows it from
	 * kernel 4.8 on, where seccomp can no longer be bypassed with it */
	"ptrace",
	/* identity and credentials (within the capabilities left) */
	"getpid", "getppid", "gettid", "getpgid", "getpgrp", "setpgid", "getsid", "setsid", "getuid",
	"getuid32", "geteuid", "geteuid32", "getgid", "getgid32", "getegid", "getegid32", "getresuid",
	"getresuid32", "getresgid", "getresgid32", "getgroups", "getgroups32", "setuid", "setuid32",
	"setgid", "setgid32", "setreuid", "setreuid32", "setregid", "setregid32", "setresuid",
	"setresuid32", "setresgid", "setresgid32", "setfsuid", "setfsuid32", "setfsgid", "setfsgid32",
	"setgroups", "setgroups32", "capget", "capset",
	/* resource limits, usage, scheduling */
	"getrlimit", "ugetrlimit", "setrlimit", "prlimit64", "getrusage", "times", "getpriority",
	"setpriority", "ioprio_get", "ioprio_set", "sched_yield", "sched_getaffinity",
	"sched_setaffinity", "sched_getattr", "sched_setattr", "sched_getparam", "sched_setparam",
	"sched_getscheduler", "sched_setscheduler", "sched_get_priority_max", "sched_get_priority_min",
	"sched_rr_get_interval", "sched_rr_get_interval_time64", "getcpu", "sysinfo", "uname",
	/* signals */
	"kill", "tkill", "tgkill", "rt_sigaction", "rt_sigprocmask", "rt_sigpending", "rt_sigreturn",
	"rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_sigqueueinfo",
	"rt_tgsigqueueinfo", "sigaltstack", "sigprocmask", "sigreturn", "signalfd", "signalfd4",
	"pause",
	/* time and timers (reading clocks; setting them needs CAP_SYS_TIME) */
	"time", "gettimeofday", "clock_gettime", "clock_gettime64", "clock_getres",
	"clock_getres_time64", "clock_nanosleep", "clock_nanosleep_time64", "nanosleep", "alarm",
	"getitimer", "setitimer", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
	"timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime",
	"timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "adjtimex", "clock_adjtime",
	"clock_adjtime64",
	/* waiting on fds and futexes */
	"poll", "ppoll", "ppoll_time64", "select", "_newselect", "pselect6", "pselect6_time64",
	"epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_wait", "epoll_wait_old",
	"epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2", "futex", "futex_time64", "futex_waitv",
	"inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch", "fanotify_mark",
	"pipe", "pipe2", "ioctl",
	/* asynchronous I/O */
	"io_setup", "io_destroy", "io_submit", "io_cancel", "io_getevents", "io_pgetevents",
	"io_pgetevents_time64", "io_uring_setup", "io_uring_enter", "io_uring_register",
	/* sockets (in the container's own network namespace by default) */
	"socket", "socketpair", "socketcall", "bind", "connect", "listen", "accept", "accept4",
	"getsockname", "getpeername", "getsockopt", "setsockopt", "shutdown", "send", "sendto",
	"sendmsg", "sendmmsg", "recv", "recvfrom", "recvmsg", "recvmmsg", "recvmmsg_time64",
	/* System V and POSIX IPC (the container's own ipc namespace) */
	"ipc", "msgget", "msgsnd", "msgrcv", "msgctl", "semget", "semop", "semtimedop",
	"semtimedop_time64", "semctl", "shmget", "shmat", "shmdt", "shmctl", "mq_open", "mq_unlink",
	"mq_timedsend", "mq_timedsend_time64", "mq_timedreceive", "mq_timedreceive_time64",
	"mq_notify", "mq_getsetattr",
	/* self-sandboxing: further seccomp filters and landlock */
	"seccomp", "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self",
	/* random numbers */
	"getrandom",
	/* architecture specific: x86 thread state and LDT, arm and others */
	"arch_prctl", "modify_ldt", "arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2",
	"breakpoint", "cacheflush", "set_tls", "riscv_flush_icache", "s390_pci_mmio_read",
	"s390_pci_mmio_write", "s390_runtime_instr", "swapcontext",
};

/* personality: only the execution domains docker allows (PER_LINUX,
 * PER_LINUX32, UNAME26 variants, and the query 0xffffffff). */
static const unsigned long personalities[] = { 0x0, 0x8, 0x20000, 0x20008, 0xffffffff };

/* clone without any namespace flag; clone3 hides its flags in memory that
 * seccomp cannot read, so it answers ENOSYS and libc falls back to clone. */
#define NAMESPACE_FLAGS                                                                               \
	(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |    \
	 CLONE_NEWCGROUP)

/* Secondary ABIs the kernel runs beside the native one, and the names
 * `snapctl info` shows (native first). */
static const uint32_t extra_arches[] = {
#if defined(__x86_64__)
	SCMP_ARCH_X86, SCMP_ARCH_X32,
#elif defined(__aarch64__)
	SCMP_ARCH_ARM,
#elif defined(__s390x__)
	SCMP_ARCH_S390,
#endif
};
const char seccomp_profile_arches[] =
#if defined(__x86_64__)
	"x86_64 x86 x32";
#elif defined(__aarch64__)
	"aarch64 arm";
#elif defined(__s390x__)
	"s390x s390";
#else
	"native";
#endif

static int add_rule(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned n,
		    const struct scmp_arg_cmp *cmp)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR)
		return 0; /* unknown to this libseccomp: no such call here */
	int r = seccomp_rule_add_array(ctx, action, nr, n, cmp);
	/* -EDOM/-EINVAL: the call does not exist on one of the ABIs */
	return r == -EDOM || r == -EINVAL ? 0 : r;
}

int seccomp_profile_build(scmp_filter_ctx ctx)
{
	for (size_t i = 0; i < ELEMENTSOF(extra_arches); i++) {
		int r = seccomp_arch_add(ctx, extra_arches[i]);
		if (r < 0 && r != -EEXIST)
			return r;
	}
	for (size_t i = 0; i < ELEMENTSOF(allowed); i++) {
		int r = add_rule(ctx, SCMP_ACT_ALLOW, allowed[i], 0, NULL);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < ELEMENTSOF(personalities); i++) {
		struct scmp_arg_cmp cmp = SCMP_A0(SCMP_CMP_EQ, personalities[i]);
		int r = add_rule(ctx, SCMP_ACT_ALLOW, "personality", 1, &cmp);
		if (r < 0)
			return r;
	}
#if defined(__s390x__) || defined(__s390__)
	struct scmp_arg_cmp clone_flags = SCMP_A1(SCMP_CMP_MASKED_EQ, NAMESPACE_FLAGS, 0);
#else
	struct scmp_arg_cmp clone_flags = SCMP_A0(SCMP_CMP_MASKED_EQ, NAMESPACE_FLAGS, 0);
#endif
	int r = add_rule(ctx, SCMP_ACT_ALLOW, "clone", 1, &clone_flags);
	if (r >= 0)
		r = add_rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL);
	return r;
}

size_t seccomp_profile_n_allowed(void)
{
	return ELEMENTSOF(allowed) + 2; /* + personality, clone */
}
