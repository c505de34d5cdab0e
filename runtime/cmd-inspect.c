/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapctl inspect NAME...: docker inspect's JSON array, one object per
 * NAME, a container (looked up first, as docker does) or an image.
 * Image objects carry docker's field names (Id, RepoTags, Created, Config,
 * RootFS, History, Size) and the manifest digest; container objects carry
 * Id, Name, Image, Config (the run configuration), State, Driver and the
 * snapshot with its mounts.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "container-cli.h"
#include "container-store.h"
#include "run-userns.h"
#include "image/content.h"
#include "image/image.h"
#include "inspect-format.h"
#include "spec/specs.h"
#include "util/macro.h"

#define CONFIG_MAX (16u << 20)

enum { TYPE_ANY, TYPE_IMAGE, TYPE_CONTAINER };

static json_t *member_or(json_t *o, const char *key, json_t *fallback)
{
	json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
	if (v) {
		json_decref(fallback);
		return json_incref(v);
	}
	return fallback;
}

static json_t *image_tags(struct snap_core *core, const char *id, struct snap_error *err)
{
	struct snap_image_list l = { 0 };
	if (snap_image_list(core, &l, err) < 0)
		return NULL;
	json_t *a = json_array();
	for (size_t i = 0; a && i < l.n; i++)
		if (l.v[i].name && strcmp(l.v[i].id, id) == 0)
			json_array_append_new(a, json_string(snap_image_ref_familiar(l.v[i].name)));
	snap_image_list_done(&l);
	if (!a)
		snap_error_set(err, -ENOMEM, "inspect: out of memory");
	return a;
}

static int image_json(struct snap_core *core, const char *ref, json_t **ret, struct snap_error *err)
{
	struct snap_image img = { 0 };
	int r = snap_image_resolve(core, ref, &img, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *text = NULL;
	r = snap_content_read(core, img.id, CONFIG_MAX, 0, &text, NULL, err);
	json_t *cfg = r < 0 ? NULL : json_loads(text, 0, NULL);
	if (r == 0 && !json_is_object(cfg))
		r = snap_error_set(err, -EBADMSG, "image %s: config %s is not a JSON object", ref, img.id);
	json_t *tags = r < 0 ? NULL : image_tags(core, img.id, err);
	if (r == 0 && !tags)
		r = -ENOMEM;
	if (r < 0) {
		json_decref(cfg);
		snap_image_done(&img);
		return r;
	}
	json_t *rootfs = json_object_get(cfg, "rootfs");
	json_t *o = json_pack("{s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:{s:s, s:o}, s:o, s:I, s:I}",
			      "Id", img.id,
			      "RepoTags", tags,
			      "Digest", img.manifest_digest,
			      "Created", member_or(cfg, "created", json_null()),
			      "Author", member_or(cfg, "author", json_string("")),
			      "Architecture", member_or(cfg, "architecture", json_string("")),
			      "Os", member_or(cfg, "os", json_string("")),
			      "Config", member_or(cfg, "config", json_object()),
			      "Labels", member_or(json_object_get(cfg, "config"), "Labels", json_null()),
			      "RootFS", "Type", "layers", "Layers", member_or(rootfs, "diff_ids", json_array()),
			      "History", member_or(cfg, "history", json_array()),
			      "Size", (json_int_t)img.size,
			      "LayerCount", (json_int_t)img.n_layers);
	json_decref(cfg);
	snap_image_done(&img);
	if (!o)
		return snap_error_set(err, -ENOMEM, "inspect %s: out of memory", ref);
	*ret = o;
	return 0;
}

static json_t *mounts_json(const struct snap_mounts *m)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < m->n; i++) {
		json_t *opts = json_array();
		for (size_t k = 0; opts && k < m->v[i].n_options; k++)
			json_array_append_new(opts, json_string(m->v[i].options[k]));
		json_array_append_new(a, json_pack("{s:s?, s:s?, s:o}", "Type", m->v[i].type, "Source",
						   m->v[i].source, "Options", opts ? opts : json_array()));
	}
	return a;
}

/* The snapshot of a container; a snapshot gone (a run killed before it
 * was made) shows its key only. */
static json_t *snapshot_json(struct snap_core *core, const char *key)
{
	struct snap_info info = { 0 };
	struct snap_mounts m = { 0 };
	struct snap_error ignored = { 0 };
	bool there = snap_stat(core, key, &info, &ignored) == 0;
	json_t *mounts = there && snap_mounts_get(core, key, &m, &ignored) == 0 ? mounts_json(&m) : json_array();
	json_t *o = json_pack("{s:s, s:s?, s:o}", "Key", key, "Parent", there ? info.parent : NULL, "Mounts",
			      mounts ? mounts : json_array());
	snap_mounts_done(&m);
	if (there)
		snap_info_done(&info);
	return o;
}

static const char *state_name(const struct snap_container_rec *rec, bool running)
{
	if (running)
		return "running";
	return rec->state == SNAP_CONTAINER_CREATED ? "created" : "exited";
}

static int container_json(struct snap_core *core, const char *ref, json_t **ret, struct snap_error *err)
{
	_cleanup_(snap_container_rec_done) struct snap_container_rec rec = { 0 };
	int r = snap_container_store_get(core, ref, &rec, err);
	if (r < 0)
		return r;
	bool running = container_is_running(&rec);
	bool exited = !running && rec.state != SNAP_CONTAINER_CREATED;
	char created[64], finished[64] = "";
	cli_format_time(created, sizeof(created), rec.created_ns);
	if (exited && rec.finished_ns)
		cli_format_time(finished, sizeof(finished), rec.finished_ns);

	json_t *config = json_loads(rec.config ? rec.config : "{}", 0, NULL);
	if (!json_is_object(config)) {
		json_decref(config);
		config = json_object();
	}
	json_object_set_new(config, "Image", json_string(rec.image));
	json_t *argv = json_loads(rec.command ? rec.command : "[]", 0, NULL);
	json_t *path = json_is_array(argv) && json_array_size(argv) ? json_array_get(argv, 0) : NULL;
	json_t *args = json_array();
	for (size_t i = 1; args && json_is_array(argv) && i < json_array_size(argv); i++)
		json_array_append(args, json_array_get(argv, i));

	char userns[128];
	run_userns_describe(core, rec.snapshot, userns, sizeof(userns));
	json_t *o = json_pack("{s:s, s:s, s:s, s:O?, s:o, s:s, s:s, s:o,"
			      " s:{s:s, s:b, s:I, s:o?, s:s?}, s:s, s:o, s:{s:s}}",
			      "Id", rec.id,
			      "Name", rec.name,
			      "Created", created,
			      "Path", path,
			      "Args", args ? args : json_array(),
			      "Image", rec.image_id,
			      "ImageName", rec.image,
			      "Config", config,
			      "State", "Status", state_name(&rec, running), "Running", running,
			      "Pid", (json_int_t)(running ? rec.pid : 0),
			      "ExitCode", exited && rec.exit_code >= 0 ? json_integer(rec.exit_code) : NULL,
			      "FinishedAt", *finished ? finished : NULL,
			      "Driver", snap_core_driver_name(core),
			      "Snapshot", snapshot_json(core, rec.snapshot),
			      /* docker's name: "" without a user namespace */
			      "HostConfig", "UsernsMode", userns);
	json_decref(argv);
	if (!o)
		return snap_error_set(err, -ENOMEM, "inspect %s: out of memory", ref);
	*ret = o;
	return 0;
}

/* NAME as a container, then as an image (or only as `type`). */
static int lookup(struct snap_core *core, const char *name, int type, json_t **ret, struct snap_error *err)
{
	if (type != TYPE_IMAGE) {
		int r = container_json(core, name, ret, err);
		if (r != -ENOENT || type == TYPE_CONTAINER)
			return r;
	}
	int r = image_json(core, name, ret, err);
	if (r == -ENOENT && type == TYPE_ANY)
		r = snap_error_set(err, -ENOENT, "no such object: %s", name);
	return r;
}

int cmd_inspect(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *format = NULL;
	int type = TYPE_ANY;
	struct cli_parser p = { .spec = &cli_spec_inspect };
	int c;
	while ((c = cli_next_flag(ctx, &p, argc, argv)) > 0) {
		switch (c) {
		case 'f':
			format = optarg;
			break;
		case 't':
			if (strcmp(optarg, "image") == 0)
				type = TYPE_IMAGE;
			else if (strcmp(optarg, "container") == 0)
				type = TYPE_CONTAINER;
			else
				return cli_spec_usage_error(ctx, &cli_spec_inspect,
							    "--type takes image or container, not '%s'", optarg);
			break;
		case 's':
			break;
		}
	}
	if (c < 0)
		return cli_flags_exit(c);
	char why[256];
	if (format && inspect_format_check(format, why, sizeof(why)) < 0)
		return cli_spec_usage_error(ctx, &cli_spec_inspect, "--format: %s", why);
	struct snap_core *core = cli_core_reader(ctx);
	if (!core)
		return EXIT_FAILURE;

	int status = EXIT_SUCCESS;
	json_t *all = json_array();
	if (!all)
		return cli_failf(ctx, "inspect: out of memory");
	for (int i = optind; i < argc; i++) {
		struct snap_error err = { 0 };
		json_t *o = NULL;
		if (lookup(core, argv[i], type, &o, &err) < 0) {
			status = cli_fail(ctx, &err);
			continue;
		}
		json_array_append_new(all, o);
	}
	if (format) {
		size_t i;
		json_t *o;
		json_array_foreach (all, i, o)
			inspect_format_print(stdout, format, o);
	} else {
		/* like docker: the objects found, [] when none was */
		char *s = json_dumps(all, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
		if (s)
			puts(s);
		free(s);
	}
	json_decref(all);
	return status;
}
