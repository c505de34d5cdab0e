/* SPDX-License-Identifier: Apache-2.0 */
/* snapctl info: driver, kernel features detected, root, counts. */
#include <jansson.h>
#include <string.h>
#include <sys/utsname.h>

#include "commands.h"
#include "container-cgroup.h"
#include "container.h"
#include "image/content.h"
#include "kernel-features.h"
#include "util/macro.h"
#include "snapshot-output.h"
#include "spec/specs.h"

struct counts {
	long total, active, view, committed;
};

static int count_one(const struct snap_info *info, void *userdata)
{
	struct counts *c = userdata;
	c->total++;
	if (info->kind == SNAP_KIND_ACTIVE)
		c->active++;
	else if (info->kind == SNAP_KIND_VIEW)
		c->view++;
	else if (info->kind == SNAP_KIND_COMMITTED)
		c->committed++;
	return 0;
}

static void emit_json(void *ctx, const char *key, const char *value)
{
	json_object_set_new(ctx, key, json_string(value));
}

static void emit_text(void *ctx, const char *key, const char *value)
{
	(void)ctx;
	printf("  %-22s %s\n", key, value);
}

/* The isolation `snapctl run` gives a container (docs/runtime.md). */
struct isolation {
	char seccomp[256], cgroup[512], devices[256];
	const char *network, *keyring;
};

static void isolation_describe(struct isolation *iso)
{
	snap_container_seccomp_describe(iso->seccomp, sizeof(iso->seccomp));
	const struct snap_cgroup_host *h = snap_cgroup_host();
	if (h->version == SNAP_CGROUP_NONE) {
		snprintf(iso->cgroup, sizeof(iso->cgroup), "none (no cgroup file system at " SNAP_CGROUP_ROOT ")");
	} else {
		char where[256];
		snap_cgroup_describe("ID", where, sizeof(where));
		int o = snprintf(iso->cgroup, sizeof(iso->cgroup), "cgroup v%d:", h->version);
		for (size_t i = 0; i < h->n && o > 0 && (size_t)o < sizeof(iso->cgroup); i++)
			o += snprintf(iso->cgroup + o, sizeof(iso->cgroup) - (size_t)o, " %s", h->controllers[i]);
		if (o > 0 && (size_t)o < sizeof(iso->cgroup))
			snprintf(iso->cgroup + o, sizeof(iso->cgroup) - (size_t)o, "%s at %s, pids limit %d by default",
				 h->version == SNAP_CGROUP_V2 ? " freeze" : "", where, SNAP_CONTAINER_PIDS_DEFAULT);
	}
	snprintf(iso->devices, sizeof(iso->devices),
		 "nodev rootfs and /dev; null zero full random urandom tty bound from the host, own devpts%s",
		 h->devices ? "; cgroup v1 devices allowlist" : "");
	iso->network = "private namespace with lo (default), or --net host";
	iso->keyring = "a fresh session keyring per container";
}

int cmd_info(struct cli_ctx *ctx, int argc, char **argv)
{
	int r = cli_parse_plain(ctx, &cli_spec_info, argc, argv);
	if (r < 0)
		return cli_flags_exit(r);
	struct snap_core *core = cli_core(ctx);
	if (!core)
		return EXIT_FAILURE;
	struct counts c = { 0 };
	struct snap_error err = { 0 };
	if (snap_walk(core, NULL, 0, count_one, &c, &err) < 0)
		return cli_fail(ctx, &err);
	struct utsname u;
	uname(&u);

	const struct snap_feature *feat = snap_features_probe(snap_core_root(core));
	char verity[256];
	int sealed = snap_content_verity_probe(core, verity, sizeof(verity));

	if (ctx->json) {
		json_t *f = json_object();
		for (int i = 0; i < SNAP_FEAT__MAX; i++)
			json_object_set_new(f, feat[i].name,
					    json_pack("{s:s, s:s?}", "state", snap_feature_state_name(feat[i].state),
						      "detail", feat[i].detail[0] ? feat[i].detail : NULL));
		json_t *d = json_object();
		if (snap_core_driver_info(core, emit_json, d, &err) < 0) {
			json_decref(d);
			return cli_fail(ctx, &err);
		}
		json_t *doc = json_pack("{s:s, s:s, s:s, s:o, s:o, s:{s:I, s:I, s:I, s:I}}", "root",
					snap_core_root(core), "driver", snap_core_driver_name(core), "kernel", u.release,
					"driver_info", d, "kernel_features", f, "snapshots", "total", (json_int_t)c.total,
					"active", (json_int_t)c.active, "view", (json_int_t)c.view,
					"committed", (json_int_t)c.committed);
		json_object_set_new(doc, "content", json_pack("{s:{s:b, s:s}}", "fs_verity", "enabled",
							      sealed > 0, "detail", verity));
		struct isolation iso;
		isolation_describe(&iso);
		json_object_set_new(doc, "isolation",
				    json_pack("{s:s, s:s, s:s, s:s, s:s}", "seccomp", iso.seccomp, "cgroup", iso.cgroup,
					      "devices", iso.devices, "network", iso.network, "keyring", iso.keyring));
		print_json(doc, JSON_INDENT(2));
		return EXIT_SUCCESS;
	}
	printf("Root:      %s\n", snap_core_root(core));
	printf("Driver:    %s\n", snap_core_driver_name(core));
	printf("Kernel:    %s\n", u.release);
	printf("Snapshots: %ld (%ld committed, %ld active, %ld views)\n", c.total, c.committed, c.active, c.view);
	printf("Content:   fs-verity %s: %s\n", sealed > 0 ? "on" : "off", verity);
	struct isolation iso;
	isolation_describe(&iso);
	printf("Isolation:\n");
	printf("  %-22s %s\n", "seccomp", iso.seccomp);
	printf("  %-22s %s\n", "cgroup", iso.cgroup);
	printf("  %-22s %s\n", "devices", iso.devices);
	printf("  %-22s %s\n", "network", iso.network);
	printf("  %-22s %s\n", "keyring", iso.keyring);
	printf("Kernel features:\n");
	for (int i = 0; i < SNAP_FEAT__MAX; i++)
		printf("  %-22s %s%s%s\n", feat[i].name, snap_feature_state_name(feat[i].state),
		       feat[i].detail[0] ? ": " : "", feat[i].detail);
	printf("Driver details:\n");
	if (snap_core_driver_info(core, emit_text, NULL, &err) < 0)
		return cli_fail(ctx, &err);
	return EXIT_SUCCESS;
}
