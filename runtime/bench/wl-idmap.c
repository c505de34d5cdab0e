/* SPDX-License-Identifier: Apache-2.0 */
/* Workload: idmapped snapshots (containerd 2.x's uidmapping/gidmapping
 * labels).  prepare and mount of an active snapshot on a 10-layer chain,
 * with and without a mapping: overlay mounts every layer idmapped, btrfs
 * and vfs bind the snapshot idmapped, so a mapping should cost a few
 * mount_setattr calls and no walk of the tree.  On vfs also the chown-copy
 * fallback (label snapctl.idmap=chown: containerd's remap without idmapped
 * mounts) of a Debian-sized base (9,400 files, ~186 MiB) against the plain
 * copy that vfs makes of the same base anyway. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/macro.h"
#include "wl-util.h"

#define CHAIN_LAYERS 10
#define CHAIN_TOP "idmap-9"
#define DEBIAN_BASE "idmap-debian-sized"

struct idmap_state {
	int layers;     /* chain layers made: idmap-0 .. idmap-(layers-1) */
	bool debian;    /* DEBIAN_BASE made (vfs) */
};

static struct snap_label mapping[] = {
	{ "containerd.io/snapshot/uidmapping", "0:100000:65536" },
	{ "containerd.io/snapshot/gidmapping", "0:100000:65536" },
	{ "snapctl.idmap", "chown" },
};

static bool tiny(const struct bench_ctx *b)
{
	return b->scale == &bench_scale_tiny;
}

static int fill_debian(int dirfd, void *arg, struct snap_error *err)
{
	const struct bench_ctx *b = arg;
	struct bench_rng rng = { b->seed ^ 0x1d3a };
	/* Files of 0..40 KiB: ~20 KiB on average, 186 MiB for 9,400. */
	return bench_gen_tree(dirfd, &rng, tiny(b) ? 200 : 9400, tiny(b) ? 4096 : 40960, err);
}

static int setup(struct bench_ctx *b, struct bench_env *env, void **state, struct snap_error *err)
{
	struct idmap_state *s = calloc(1, sizeof(*s));
	if (!s)
		return snap_error_set(err, -ENOMEM, "bench: out of memory");
	*state = s;
	int r = wl_chain_make(b, env, "idmap", CHAIN_LAYERS, &s->layers, err);
	if (r < 0 || strcmp(env->driver, "vfs") != 0)
		return r;
	r = wl_make_committed(env, DEBIAN_BASE, NULL, fill_debian, b, err);
	s->debian = r >= 0;
	return r;
}

/* prepare KEY on PARENT with `labels` (NULL: none), timed; the caller
 * removes KEY. */
static int timed_prepare(struct bench_env *env, const char *key, const char *parent,
			 const struct snap_labels *labels, double *ms, struct snap_error *err)
{
	int64_t t = bench_now_ns();
	int r = snap_prepare(env->core, key, parent, labels, NULL, err);
	*ms = bench_ms_since(t);
	return r;
}

static int chain_case(struct bench_ctx *b, struct bench_env *env, int runno, bool mapped, struct snap_error *err)
{
	const char *how = mapped ? "mapped" : "unmapped";
	struct snap_labels labels = { mapping, 2 };
	char key[64], metric[96];
	snprintf(key, sizeof(key), "idmap-run-%d-%s", runno, how);
	double prep_ms;
	int r = timed_prepare(env, key, CHAIN_TOP, mapped ? &labels : NULL, &prep_ms, err);
	if (r < 0)
		return snap_error_prefix(err, "prepare %s", how);
	int64_t t = bench_now_ns();
	r = snap_mount_at(env->core, key, env->mnt, 0, err);
	double mount_ms = bench_ms_since(t);
	if (r < 0) {
		wl_remove_quiet(env, key);
		return snap_error_prefix(err, "mount %s", how);
	}
	snprintf(metric, sizeof(metric), "prepare, %d layers, %s", CHAIN_LAYERS, how);
	bench_record(b, env, metric, "ms", prep_ms);
	snprintf(metric, sizeof(metric), "mount, %d layers, %s", CHAIN_LAYERS, how);
	bench_record(b, env, metric, "ms", mount_ms);
	snprintf(metric, sizeof(metric), "prepare+mount, %d layers, %s", CHAIN_LAYERS, how);
	bench_record(b, env, metric, "ms", prep_ms + mount_ms);
	r = wl_unmount(env, err);
	wl_remove_quiet(env, key);
	return r;
}

/* vfs: the plain copy of the Debian-sized base and the chown copy. */
static int chown_case(struct bench_ctx *b, struct bench_env *env, int runno, bool chown_copy,
		      struct snap_error *err)
{
	struct snap_labels labels = { mapping, 3 };
	char key[64];
	snprintf(key, sizeof(key), "idmap-debian-run-%d-%s", runno, chown_copy ? "chown" : "plain");
	double ms;
	int r = timed_prepare(env, key, DEBIAN_BASE, chown_copy ? &labels : NULL, &ms, err);
	wl_remove_quiet(env, key);
	if (r < 0)
		return snap_error_prefix(err, "prepare (%s copy)", chown_copy ? "chown" : "plain");
	bench_record(b, env,
		     chown_copy ? "prepare of a Debian-sized base, chown copy (snapctl.idmap=chown)"
				: "prepare of a Debian-sized base, plain copy",
		     "ms", ms);
	return 0;
}

static int run(struct bench_ctx *b, struct bench_env *env, void *state, int runno, struct snap_error *err)
{
	struct idmap_state *s = state;
	/* Alternate which goes first, so neither always meets a cold cache. */
	bool first = runno % 2 == 0;
	int r = chain_case(b, env, runno, first, err);
	if (r >= 0)
		r = chain_case(b, env, runno, !first, err);
	if (r >= 0 && s->debian) {
		r = chown_case(b, env, runno, first, err);
		if (r >= 0)
			r = chown_case(b, env, runno, !first, err);
	}
	return r;
}

static void teardown(struct bench_ctx *b, struct bench_env *env, void *state)
{
	(void)b;
	struct idmap_state *s = state;
	if (!s)
		return;
	if (s->debian)
		wl_remove_quiet(env, DEBIAN_BASE);
	wl_chain_remove(env, "idmap", s->layers);
	free(s);
}

const struct bench_workload bench_wl_idmap = {
	.name = "idmap",
	.description = "prepare+mount with and without a uid/gid mapping over 10 layers; vfs: the chown-copy fallback",
	.setup = setup,
	.run = run,
	.teardown = teardown,
};
