/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapctl fstest: differential filesystem testing.  The same scenarios run
 * on every configuration of the matrix (driver x overlay feature set x
 * backing filesystem x mount path); what a process observes and what the
 * committed layer holds are compared with a reference configuration, and
 * every difference is either expected (a documented kernel semantic,
 * expected.c and docs/fstest.md) or unexpected (exit 1).
 *
 * Layout of one run: WORK/bk-NAME is the mounted backing filesystem (tmpfs,
 * or a loop device of WORK/NAME.img), WORK/bk-NAME/CONFIG the snapctl root
 * of one configuration and WORK/bk-NAME/CONFIG.mnt its mount points.  Each
 * configuration runs in a child process (run.c) that writes its
 * observations to WORK/bk-NAME/CONFIG.obs; the parent compares them.
 */
#ifndef SNAP_FSTEST_H
#define SNAP_FSTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <snapctl/driver.h>

/* ---- scenarios (sc-*.c) ---------------------------------------------- */

enum fst_opcode {
	FST_END = 0,
	FST_MKDIR,     /* path, num = mode */
	FST_WRITE,     /* path, arg = data: creat + truncate + write */
	FST_APPEND,    /* path, arg = data */
	FST_OPEN,      /* path, num = open flags (O_CREAT adds mode 0644); records errno */
	FST_TRUNCATE,  /* path, num = length */
	FST_SYMLINK,   /* path = link, arg = target */
	FST_LINK,      /* path = existing, arg = new name */
	FST_RENAME,    /* path -> arg, num = renameat2 flags */
	FST_UNLINK,    /* path */
	FST_RMDIR,     /* path */
	FST_RMRF,      /* path: a whole tree, depth first */
	FST_CHMOD,     /* path, num = mode */
	FST_CHOWN,     /* path, num = uid, num2 = gid (lchown) */
	FST_UTIMES,    /* path, num = seconds, num2 = nanoseconds for atime and mtime (no follow) */
	FST_SETXATTR,  /* path, arg = name, val = value ("hex:..." for bytes) */
	FST_RMXATTR,   /* path, arg = name */
	FST_SETACL,    /* path, arg = "access"|"default", val = "u::rw,g::r,o::r,u:1000:rw,m::rw" */
	FST_MKFIFO,    /* path */
	FST_STAT,      /* path: records inode identity (#N in order of first sight), nlink, size */
	FST_KEEP,      /* path, num = slot, num2 = open flags: an fd kept across steps */
	FST_PREAD,     /* num = slot: hash of what the kept fd reads */
	FST_PWRITE,    /* num = slot, arg = data, at offset 0 */
	FST_FSTAT,     /* num = slot: inode identity, nlink, size of the kept fd */
	FST_CLOSE,     /* num = slot */
	FST_READDIR,   /* path: the names and d_types listed now */
	FST_STATFS,    /* path: filesystem type and whether it answers */
	FST_MASS,      /* path = dir, num = count: files f000.. with data */
	FST_MASSREN,   /* path = from dir, arg = to dir, num = count: rename f* to g* */
};

#define FST_SLOTS 4

struct fst_op {
	enum fst_opcode op;
	const char *path;
	const char *arg;
	long num;
	long num2;
	const char *val;
};

struct fst_scenario {
	const char *name;           /* "family/name": also its directory */
	const char *what;           /* one line */
	const struct fst_op *setup; /* in the lower (committed) layer */
	const struct fst_op *steps; /* in the snapshot above it */
	bool meta_only;             /* the steps change metadata only: with metacopy no data is copied up */
	/* Observation keys ("diff g") the committed layer must hold on every
	 * configuration, the reference included, NULL-terminated (NULL: none).
	 * Where all drivers share a mistake (the differ is one), comparing
	 * with vfs cannot see it: this says what is right outright. */
	const char *const *layer;
};

struct fst_family {
	const char *name;
	const char *what;
	const struct fst_scenario *v;
	size_t n;
};

#define FST_FAMILY(id, fname, desc, arr)                                                 \
	const struct fst_family id = { .name = (fname), .what = (desc), .v = (arr),     \
				       .n = sizeof(arr) / sizeof((arr)[0]) }

extern const struct fst_family fst_family_open, fst_family_link, fst_family_rename, fst_family_unlink,
	fst_family_meta, fst_family_ino, fst_family_persist;
extern const struct fst_family *const fst_families[];
extern const size_t fst_n_families;

/* Run one step on the scenario directory dirfd; appends "ret=..." and what
 * the step observes to `out` (a buffer of `len`). */
struct fst_step_state;
struct fst_step_state *fst_step_state_new(void);
void fst_step_state_free(struct fst_step_state *s);
static inline void fst_step_state_freep(struct fst_step_state **s)
{
	fst_step_state_free(*s);
}
int fst_op_run(struct fst_step_state *s, int dirfd, const struct fst_op *op, char *out, size_t len);
/* "mkdir d", "rename a b": a step's name in the report. */
void fst_op_describe(const struct fst_op *op, char *buf, size_t len);

/* ---- observations (observe.c) ------------------------------------------ */

/* One observed fact: scenario, key ("live a/b", "step 03 rename a b"),
 * value ("type=reg mode=0644 ..."). */
struct fst_obs {
	char *scenario;
	char *key;
	char *value;
};

struct fst_obs_list {
	struct fst_obs *v;
	size_t n, cap;
};
int fst_obs_add(struct fst_obs_list *l, const char *scenario, const char *key, const char *value);
void fst_obs_list_done(struct fst_obs_list *l);
void fst_obs_sort(struct fst_obs_list *l);
/* Write and read the child's result file: "scenario\tkey\tvalue\n". */
int fst_obs_write(const struct fst_obs_list *l, int fd);
int fst_obs_read(struct fst_obs_list *l, const char *path);

/* Observe the tree below dirfd (a scenario directory) as `phase` ("live",
 * "remount", "view"). */
int fst_observe_tree(struct fst_obs_list *l, const char *scenario, const char *phase, int dirfd);
/* Observe the entries of an uncompressed layer tar (fd at offset 0) below
 * each selected scenario's directory as phase "diff". */
int fst_observe_diff(struct fst_obs_list *l, const struct fst_scenario *const *sc, size_t n_sc, int tarfd,
		     struct snap_error *err);
/* For a metacopy overlay: which regular files below `dirfd` (the upper dir
 * of a scenario) hold data ("store PATH" -> "data=copied|metacopy"). */
int fst_observe_store(struct fst_obs_list *l, const char *scenario, int dirfd);

/* ---- matrix (matrix.c) ------------------------------------------------- */

enum fst_api { FST_API_NONE = 0, FST_API_NEW, FST_API_LEGACY };

struct fst_fset {
	const char *name;
	const char *what;
	const char *labels[6]; /* "key=value", NULL-terminated */
};
extern const struct fst_fset fst_fsets[];
extern const size_t fst_n_fsets;

struct fst_backing {
	const char *name;  /* "ext4", "xfs", "btrfs", "tmpfs" */
	const char *mkfs;  /* NULL for tmpfs */
	char *image;       /* WORK/NAME.img */
	char *mnt;         /* WORK/bk-NAME */
	bool mounted;
	char skip[512];    /* why it could not be made */
};

enum fst_status { FST_PENDING = 0, FST_DONE, FST_SKIPPED, FST_FAILED };

struct fst_config {
	char name[128];  /* "overlay/index/ext4/new" */
	char *driver;
	const struct fst_fset *fset;  /* overlay only */
	struct fst_backing *backing;
	enum fst_api api;
	enum fst_status status;
	char reason[1024];   /* skipped/failed: why */
	char effective[512]; /* overlay: the options the kernel reports for the mount */
	char *root;          /* BACKING/ID */
	char *obs_path;      /* BACKING/ID.obs */
	struct fst_obs_list obs;
	double seconds;
	ssize_t ref;          /* index of the reference configuration, -1 for the reference itself */
	size_t n_expected, n_unexpected;
	bool keep;            /* left mounted by --keep */
	int pid;
};

struct fst_options {
	const char *plugin_dir;
	const char *scenario_glob;
	bool quick, keep, verbose;
	int jobs;
	char **drivers;  size_t n_drivers;
	char **fsets;    size_t n_fsets;
	char **backings; size_t n_backings;
	char **apis;     size_t n_apis;
};

struct fst_run {
	struct fst_options opt;
	char *work;
	struct fst_backing *backings;
	size_t n_backings;
	struct fst_config *configs;
	size_t n_configs;
	const struct fst_scenario **sc;
	size_t n_sc;
	char kernel[256];
	char features[512]; /* "overlay: metacopy=yes ..." */
	double seconds;
	char loadavg[64];
	struct fst_diff *diffs;
	size_t n_diffs, cap_diffs;
};

int fst_matrix_build(struct fst_run *run, struct snap_error *err);
void fst_config_done(struct fst_config *c);
/* Scenarios selected by --scenario GLOB (all without it). */
int fst_select_scenarios(struct fst_run *run);

/* ---- backing filesystems (backing.c) ------------------------------------ */

int fst_backing_make(struct fst_run *run, struct fst_backing *b);
void fst_backing_remove(struct fst_backing *b);
/* Detach every mount at or below `prefix`, deepest first. */
void fst_umount_below(const char *prefix);

/* ---- one configuration, in a child (run.c) ------------------------------ */

/* Runs the configuration; returns the process exit code (0: observations
 * written; 77: skipped, reason in the result file; 1: failed). */
int fst_config_run(struct fst_run *run, struct fst_config *c);

/* ---- comparison (compare.c, expected.c) --------------------------------- */

struct fst_diff {
	size_t config;       /* index in run->configs */
	const char *scenario;
	const char *key;
	char field[32];
	char type[16];       /* the entry's type ("dir", "reg"...) where the observation has one */
	char *ref_value;     /* "-" when absent */
	char *value;
	const struct fst_rule *rule; /* NULL: unexpected */
};

struct fst_rule {
	const char *id;
	const char *driver;    /* "overlay", or NULL for any */
	const char *backing;   /* NULL for any */
	const char *scenario;  /* fnmatch patterns separated by '|', NULL for any */
	const char *key;       /* fnmatch patterns on the key, separated by '|', NULL for any */
	const char *field;     /* fields separated by '|', NULL for any */
	const char *type;      /* the entry's type ("dir"), NULL for any */
	bool on_btrfs;         /* only where the tree is on btrfs */
	bool known_issue;      /* not a kernel semantic: a known issue fstest found (docs/fstest.md, findings) */
	unsigned need_on, need_off; /* FST_FEAT_*: effective options the config must have / lack */
	const char *reason;    /* one line, with the kernel source */
};

#define FST_FEAT_INDEX 0x1u
#define FST_FEAT_METACOPY 0x2u
#define FST_FEAT_REDIRECT 0x4u
#define FST_FEAT_XINO 0x8u
#define FST_FEAT_NFS_EXPORT 0x10u
#define FST_FEAT_USERXATTR 0x20u
#define FST_FEAT_VOLATILE 0x40u

extern const struct fst_rule fst_rules[];
extern const size_t fst_n_rules;
unsigned fst_config_features(const struct fst_config *c);
const struct fst_rule *fst_rule_match(const struct fst_config *c, const struct fst_diff *d);

int fst_compare(struct fst_run *run);

/* ---- output (report.c, chart.c) ------------------------------------------ */

void fst_report_table(const struct fst_run *run, bool verbose);
int fst_report_json(const struct fst_run *run, const char *path, struct snap_error *err);
int fst_chart_write(const struct fst_run *run, const char *path, bool png, struct snap_error *err);

#endif
