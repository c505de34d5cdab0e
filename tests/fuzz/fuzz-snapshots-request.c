/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containerd's snapshots.v1 requests as they arrive from the socket: the
 * first byte picks the method, the rest is the request message, which is
 * unpacked with protobuf-c and handed to the service's method on a core of
 * its own (vfs driver), exactly as the server does.  Snapshots the inputs
 * create are removed afterwards so every input sees the same store.
 *
 * SNAPCTL_FUZZ_SEEDS=DIR writes one valid request per method into DIR and
 * exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <grpc/grpc.h>
#include <stdio.h>
#include <unistd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-util.h"
#include "service-methods.h"
#include "snapshots.pb-c.h"
#include "util/fs-util.h"

static const char *const methods[] = {
	"Prepare", "View", "Mounts", "Commit", "Remove", "Stat", "Update", "List", "Usage", "Cleanup",
};
static struct snap_core *core;

struct keys {
	char **v;
	size_t n;
};

static int collect(const struct snap_info *info, void *userdata)
{
	struct keys *k = userdata;
	char **nv = realloc(k->v, (k->n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	k->v = nv;
	k->v[k->n] = strdup(info->key);
	return k->v[k->n] ? (k->n++, 0) : -ENOMEM;
}

/* Remove every snapshot, children before parents (go round until a pass
 * removes nothing). */
static void reset_store(void)
{
	for (int pass = 0; pass < 64; pass++) {
		struct keys k = { 0 };
		if (snap_walk(core, NULL, 0, collect, &k, NULL) < 0)
			fuzz_fail("walk snapshots");
		size_t removed = 0;
		for (size_t i = 0; i < k.n; i++) {
			if (snap_remove(core, k.v[i], NULL) == 0)
				removed++;
			free(k.v[i]);
		}
		free(k.v);
		if (k.n == 0)
			return;
		if (removed == 0)
			fuzz_fail("%zu snapshots cannot be removed", k.n);
	}
}

typedef Containerd__Services__Snapshots__V1__PrepareSnapshotRequest__LabelsEntry PrepLabel;

/* Seed `method`'s request m into DIR/<method>: the method's byte, then m. */
static void write_seed(const char *dir, const char *method, const ProtobufCMessage *m)
{
	size_t idx = 0;
	while (strcmp(methods[idx], method) != 0)
		idx++;
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(len + 1);
	if (!buf)
		fuzz_fail("out of memory");
	buf[0] = (uint8_t)idx;
	protobuf_c_message_pack(m, buf + 1);
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", dir, method);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || snap_write_all(fd, buf, len + 1) < 0)
		fuzz_fail("write %s: %s", path, strerror(errno));
	close(fd);
	free(buf);
}

static void write_seeds(const char *dir)
{
	PrepLabel l = CONTAINERD__SERVICES__SNAPSHOTS__V1__PREPARE_SNAPSHOT_REQUEST__LABELS_ENTRY__INIT;
	l.key = "containerd.io/snapshot.ref";
	l.value = "sha256:0";
	PrepLabel *lp = &l;
	Containerd__Services__Snapshots__V1__PrepareSnapshotRequest prep =
		CONTAINERD__SERVICES__SNAPSHOTS__V1__PREPARE_SNAPSHOT_REQUEST__INIT;
	prep.snapshotter = "snapctl";
	prep.key = "k1";
	prep.parent = "base";
	prep.n_labels = 1;
	prep.labels = &lp;
	write_seed(dir, "Prepare", &prep.base);
	Containerd__Services__Snapshots__V1__ViewSnapshotRequest view =
		CONTAINERD__SERVICES__SNAPSHOTS__V1__VIEW_SNAPSHOT_REQUEST__INIT;
	view.key = "v1";
	view.parent = "base";
	write_seed(dir, "View", &view.base);
	Containerd__Services__Snapshots__V1__MountsRequest mounts = CONTAINERD__SERVICES__SNAPSHOTS__V1__MOUNTS_REQUEST__INIT;
	mounts.key = "base-active";
	write_seed(dir, "Mounts", &mounts.base);
	Containerd__Services__Snapshots__V1__CommitSnapshotRequest commit =
		CONTAINERD__SERVICES__SNAPSHOTS__V1__COMMIT_SNAPSHOT_REQUEST__INIT;
	commit.name = "c1";
	commit.key = "base-active";
	write_seed(dir, "Commit", &commit.base);
	Containerd__Services__Snapshots__V1__RemoveSnapshotRequest rm =
		CONTAINERD__SERVICES__SNAPSHOTS__V1__REMOVE_SNAPSHOT_REQUEST__INIT;
	rm.key = "base";
	write_seed(dir, "Remove", &rm.base);
	Containerd__Services__Snapshots__V1__StatSnapshotRequest stat = CONTAINERD__SERVICES__SNAPSHOTS__V1__STAT_SNAPSHOT_REQUEST__INIT;
	stat.key = "base";
	write_seed(dir, "Stat", &stat.base);
	Containerd__Services__Snapshots__V1__Info__LabelsEntry il = CONTAINERD__SERVICES__SNAPSHOTS__V1__INFO__LABELS_ENTRY__INIT;
	il.key = "a";
	il.value = "b";
	Containerd__Services__Snapshots__V1__Info__LabelsEntry *ilp = &il;
	Containerd__Services__Snapshots__V1__Info info = CONTAINERD__SERVICES__SNAPSHOTS__V1__INFO__INIT;
	info.name = "base";
	info.n_labels = 1;
	info.labels = &ilp;
	char *paths[] = { "labels.a" };
	Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
	mask.n_paths = 1;
	mask.paths = paths;
	Containerd__Services__Snapshots__V1__UpdateSnapshotRequest upd =
		CONTAINERD__SERVICES__SNAPSHOTS__V1__UPDATE_SNAPSHOT_REQUEST__INIT;
	upd.info = &info;
	upd.update_mask = &mask;
	write_seed(dir, "Update", &upd.base);
	char *filters[] = { "kind==committed,labels.a==b", "name~=\"^b\"" };
	Containerd__Services__Snapshots__V1__ListSnapshotsRequest list =
		CONTAINERD__SERVICES__SNAPSHOTS__V1__LIST_SNAPSHOTS_REQUEST__INIT;
	list.n_filters = 2;
	list.filters = filters;
	write_seed(dir, "List", &list.base);
	Containerd__Services__Snapshots__V1__UsageRequest usage = CONTAINERD__SERVICES__SNAPSHOTS__V1__USAGE_REQUEST__INIT;
	usage.key = "base";
	write_seed(dir, "Usage", &usage.base);
	Containerd__Services__Snapshots__V1__CleanupRequest cleanup = CONTAINERD__SERVICES__SNAPSHOTS__V1__CLEANUP_REQUEST__INIT;
	write_seed(dir, "Cleanup", &cleanup.base);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *seeds = getenv("SNAPCTL_FUZZ_SEEDS");
	if (seeds) {
		write_seeds(seeds);
		exit(0);
	}
	grpc_init();
	char root[600];
	snprintf(root, sizeof(root), "%s/root", fuzz_scratch());
	struct snap_core_opts opts = { .root = root, .driver = "vfs" };
	struct snap_error err = { 0 };
	if (snap_core_open(&opts, &core, &err) < 0)
		fuzz_fail("open core: %s", err.message);
	/* A committed parent and an active child for requests to name. */
	if (snap_prepare(core, "base-active", NULL, NULL, NULL, &err) < 0 ||
	    snap_commit(core, "base", "base-active", NULL, &err) < 0)
		fuzz_fail("make base snapshot: %s", err.message);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char path[128];
	snprintf(path, sizeof(path), "/containerd.services.snapshots.v1.Snapshots/%s",
		 methods[data[0] % (sizeof(methods) / sizeof(methods[0]))]);
	const struct snap_method *m = snap_service_method_find(path, strlen(path));
	if (!m)
		fuzz_fail("no method for %s", path);
	ProtobufCMessage *req = protobuf_c_message_unpack(m->input, NULL, size - 1, data + 1);
	if (!req)
		return 0; /* not a message of that type: the server answers INVALID_ARGUMENT */
	struct snap_grpc_reply reply = { 0 };
	struct snap_error err = { 0 };
	int r = m->fn(core, req, &reply, &err);
	if (r < 0 && !err.message[0])
		fuzz_fail("%s failed (%d) without a message", m->name, r);
	snap_grpc_reply_done(&reply);
	protobuf_c_message_free_unpacked(req, NULL);
	/* What changed the store is undone: every input sees the base. */
	static const char *const modifying[] = { "Prepare", "View", "Commit", "Remove", "Update" };
	bool modified = false;
	for (size_t i = 0; i < sizeof(modifying) / sizeof(modifying[0]); i++)
		modified |= strcmp(m->name, modifying[i]) == 0;
	if (r == 0 && modified) {
		reset_store();
		struct snap_error e = { 0 };
		if (snap_prepare(core, "base-active", NULL, NULL, NULL, &e) < 0 ||
		    snap_commit(core, "base", "base-active", NULL, &e) < 0)
			fuzz_fail("remake base snapshot: %s", e.message);
	}
	return 0;
}
