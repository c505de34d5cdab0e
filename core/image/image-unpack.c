/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Layers as committed snapshots keyed by chain ID.  A new layer is applied
 * into an active staging snapshot on its parent chain, under a key nobody
 * can guess ("snapctl-unpack-PID-RANDOM", as containerd's unpacker uses a
 * random "extract-" key), its diff ID checked against the config, and
 * committed under the chain ID last with the proof label
 * snapctl.unpack.diff-id, so a crash or a bad blob never leaves a
 * half-applied layer under a chain ID.
 *
 * Reuse needs that proof: a chain-ID snapshot is shared only when it is
 * committed, its proof names the layer's diff ID and its parent is the
 * parent chain.  The proof is set only here (snap_core_commit_proven); the
 * snapshot API refuses it to every client.  A chain-ID snapshot without it
 * (a client's `snapshot commit sha256:<chain>`) is never reused and never
 * silently replaced: the import fails and says to remove it.
 */
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <string.h>
#include <unistd.h>

#include "core-internal.h"
#include "pending-trees.h"
#include "image/image-internal.h"

void img_created_done(struct img_created *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->keys[i]);
	free(c->keys);
	*c = (struct img_created){0};
}

void img_created_rollback(struct snap_core *core, struct img_created *c)
{
	/* Newest first: each was created on top of the previous one. */
	for (size_t i = c->n; i > 0; i--)
		snap_remove(core, c->keys[i - 1], NULL);
	img_created_done(c);
}

static int created_add(struct img_created *c, const char *key)
{
	if (!c)
		return 0;
	char **nv = realloc(c->keys, (c->n + 1) * sizeof(char *));
	if (!nv)
		return -ENOMEM;
	c->keys = nv;
	if (!(c->keys[c->n] = strdup(key)))
		return -ENOMEM;
	c->n++;
	return 0;
}

int img_existing_layer(struct snap_core *core, const char *chain_id, const char *parent_chain,
		       const char *diff_id, uint64_t *ret_diff_size, struct snap_error *err)
{
	_cleanup_(snap_info_done) struct snap_info info = { 0 };
	struct snap_error e = { 0 };
	int r = snap_stat(core, chain_id, &info, &e);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		*err = e;
		return r;
	}
	const char *proof = snap_labels_get(&info.labels, SNAP_LABEL_UNPACK_DIFF_ID);
	const char *parent = info.parent ? info.parent : "";
	if (info.kind != SNAP_KIND_COMMITTED || !proof || strcmp(proof, diff_id) != 0 ||
	    strcmp(parent, parent_chain ? parent_chain : "") != 0)
		return snap_error_set(err, -EEXIST,
				      "layer %s: snapshot '%s' exists but was not made by snapctl's unpacker "
				      "(%s); it is not reused: remove it (snapctl snapshot rm %s) and import again",
				      diff_id, chain_id,
				      info.kind != SNAP_KIND_COMMITTED ? "it is not committed"
				      : !proof ? "no " SNAP_LABEL_UNPACK_DIFF_ID " label"
				      : strcmp(proof, diff_id) != 0 ? "its proof names another diff ID"
								    : "its parent is not the layer's parent chain",
				      chain_id);
	const char *size = snap_labels_get(&info.labels, LABEL_DIFF_SIZE);
	*ret_diff_size = size ? strtoull(size, NULL, 10) : 0;
	return 1;
}

/* "snapctl-unpack-PID-" and 128 random bits: another process cannot aim at
 * the staging snapshot (apply into it before the commit). */
int img_staging_key(char *buf, size_t size, struct snap_error *err)
{
	uint8_t rnd[16];
	ssize_t n = getrandom(rnd, sizeof(rnd), 0);
	if (n != (ssize_t)sizeof(rnd))
		return snap_error_set(err, n < 0 ? negative_errno() : -EIO, "unpack: getrandom: %s",
				      n < 0 ? strerror(errno) : "short read");
	int len = snprintf(buf, size, UNPACK_KEY_PREFIX "%d-", (int)getpid());
	for (size_t i = 0; i < sizeof(rnd) && (size_t)len + 2 < size; i++)
		len += snprintf(buf + len, size - (size_t)len, "%02x", rnd[i]);
	return 0;
}

struct unpack_progress {
	snap_image_progress_fn fn;
	void *ctx;
	const char *what;
};

struct apply_watch {
	int blobfd;
	int stopfd; /* eventfd: the apply is over */
	uint64_t total;
	const struct unpack_progress *p;
};

/* The layer engine reads the blob through its own fd; this thread reports
 * how far it got by the file offset it shares with that fd (same open
 * file description), so no byte is copied for the sake of a progress bar. */
static void *apply_watch_thread(void *userdata)
{
	struct apply_watch *w = userdata;
	struct pollfd pfd = {.fd = w->stopfd, .events = POLLIN};
	while (poll(&pfd, 1, 100) == 0) {
		off_t off = lseek(w->blobfd, 0, SEEK_CUR);
		if (off >= 0)
			w->p->fn(w->p->ctx, "unpack", w->p->what, (uint64_t)off, w->total);
	}
	return NULL;
}

/* *ret_pending: the tree was not synced (--sync=blob). */
static int apply_blob(struct snap_core *core, const char *key, const char *blob,
		      const struct unpack_progress *p, bool *ret_pending, struct snap_layer_digests *dg,
		      struct snap_error *err)
{
	uint64_t total = 0;
	_cleanup_close_ int fd = snap_content_open(core, blob, &total, err);
	if (fd < 0)
		return fd;
	if (!p || !p->fn)
		return snap_layer_apply_blob_fd(core, key, fd, ret_pending, dg, err);
	p->fn(p->ctx, "unpack", p->what, 0, total);
	struct apply_watch w = {.blobfd = fd, .total = total, .p = p};
	_cleanup_close_ int stopfd = w.stopfd = eventfd(0, EFD_CLOEXEC);
	pthread_t thread;
	bool watching = stopfd >= 0 && pthread_create(&thread, NULL, apply_watch_thread, &w) == 0;
	int r = snap_layer_apply_blob_fd(core, key, fd, ret_pending, dg, err);
	if (watching) {
		uint64_t one = 1;
		if (write(stopfd, &one, sizeof(one)) == sizeof(one))
			pthread_join(thread, NULL);
		else
			pthread_detach(thread);
	}
	if (r == 0)
		p->fn(p->ctx, "unpack", p->what, total, total);
	return r;
}

static int unpack_one(struct snap_core *core, const char *parent_chain, struct img_layer *layer,
		      struct img_created *created, bool *ret_new, const struct unpack_progress *p,
		      struct snap_error *err)
{
	int r;
	bool known = layer->diff_id[0] != '\0';
	if (known) {
		r = snap_chain_id(parent_chain, layer->diff_id, layer->chain_id);
		if (r < 0)
			return snap_error_set(err, r, "layer %s: bad diff_id %s", layer->blob_digest,
					      layer->diff_id);
		r = img_existing_layer(core, layer->chain_id, parent_chain, layer->diff_id, &layer->diff_size, err);
		if (r != 0) {
			if (r > 0 && ret_new)
				*ret_new = false;
			return r < 0 ? r : 0;
		}
	}

	char key[128];
	r = img_staging_key(key, sizeof(key), err);
	if (r < 0)
		return r;
	r = snap_prepare(core, key, parent_chain && *parent_chain ? parent_chain : NULL, NULL, NULL, err);
	if (r < 0)
		return snap_error_prefix(err, "unpack layer %s", layer->blob_digest);

	struct snap_layer_digests dg = {0};
	bool pending = false;
	r = apply_blob(core, key, layer->blob_digest, p, &pending, &dg, err);
	if (r < 0) {
		snap_remove(core, key, NULL);
		return snap_error_prefix(err, "unpack layer %s", layer->blob_digest);
	}
	if (known && strcmp(dg.diff_id, layer->diff_id) != 0) {
		snap_remove(core, key, NULL);
		return snap_error_set(err, -EINVAL,
				      "layer %s: uncompressed content hashes to %s, the config says %s",
				      layer->blob_digest, dg.diff_id, layer->diff_id);
	}
	if (!known) {
		snprintf(layer->diff_id, SNAP_DIGEST_MAX, "%s", dg.diff_id);
		r = snap_chain_id(parent_chain, layer->diff_id, layer->chain_id);
		uint64_t size;
		if (r == 0)
			r = img_existing_layer(core, layer->chain_id, parent_chain, layer->diff_id, &size, err);
		if (r != 0) {
			snap_remove(core, key, NULL);
			if (r > 0 && ret_new)
				*ret_new = false;
			if (r > 0)
				layer->diff_size = size;
			return r < 0 ? r : 0;
		}
	}
	layer->diff_size = dg.diff_size;
	return img_commit_staged(core, key, parent_chain, layer, pending, created, ret_new, err);
}

int img_commit_staged(struct snap_core *core, const char *key, const char *parent_chain,
		      const struct img_layer *layer, bool pending, struct img_created *created, bool *ret_new,
		      struct snap_error *err)
{
	int r;
	char size[32];
	snprintf(size, sizeof(size), "%" PRIu64, layer->diff_size);
	struct snap_label lv[] = {
		{LABEL_LAYER, "1"},
		{LABEL_DIFF_ID, layer->diff_id},
		{LABEL_DIFF_SIZE, size},
		{SNAP_LABEL_UNPACK_DIFF_ID, layer->diff_id},
	};
	const struct snap_labels labels = {.v = lv, .n = ELEMENTSOF(lv)};
	struct snap_error e = {0};
	/* The blob is on disk (content.c syncs it before it is named); an
	 * unsynced tree is recorded with it, to be checked and rebuilt from
	 * it after a reboot (core/pending-trees.c). */
	const struct snap_pending_tree pt = {.blob_digest = layer->blob_digest, .diff_id = layer->diff_id};
	r = snap_core_commit_proven(core, layer->chain_id, key, &labels, pending ? &pt : NULL, &e);
	if (r == -EEXIST) {
		/* Another import committed the same chain meanwhile: share it
		 * if it carries the proof. */
		snap_remove(core, key, NULL);
		uint64_t other;
		r = img_existing_layer(core, layer->chain_id, parent_chain, layer->diff_id, &other, err);
		if (r == 0)
			r = snap_error_set(err, -EEXIST, "commit layer %s: %s", layer->chain_id, e.message);
		if (r < 0)
			return r;
		if (ret_new)
			*ret_new = false;
		return 0;
	}
	if (r < 0) {
		snap_remove(core, key, NULL);
		*err = e;
		return snap_error_prefix(err, "commit layer %s", layer->chain_id);
	}
	r = created_add(created, layer->chain_id);
	if (r < 0)
		return snap_error_set(err, r, "unpack: out of memory");
	if (ret_new)
		*ret_new = true;
	return 0;
}

int img_unpack_one(struct snap_core *core, const char *parent_chain, struct img_layer *layer,
		   struct img_created *created, bool *ret_new, struct snap_error *err)
{
	return unpack_one(core, parent_chain, layer, created, ret_new, NULL, err);
}

int img_unpack_layers(struct snap_core *core, struct img_layer *layers, size_t n,
		      snap_image_progress_fn progress, void *progress_ctx, struct img_created *created,
		      size_t *ret_new, struct snap_error *err)
{
	size_t n_new = 0;
	for (size_t i = 0; i < n; i++) {
		char what[64];
		snprintf(what, sizeof(what), "layer %zu/%zu", i + 1, n);
		const struct unpack_progress p = {progress, progress_ctx, what};
		bool is_new = false;
		int r = unpack_one(core, i ? layers[i - 1].chain_id : NULL, &layers[i], created, &is_new, &p, err);
		if (r < 0)
			return r;
		n_new += is_new;
	}
	if (ret_new)
		*ret_new = n_new;
	return 0;
}
