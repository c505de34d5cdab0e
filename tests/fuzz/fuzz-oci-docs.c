/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The OCI document parsers on arbitrary bytes: a manifest, an image config
 * (with the runtime part and the platform check) and an RFC 3339 time.  The
 * first byte picks the parser, the rest is the document.  A parser may
 * refuse anything, but must say why, and what it accepts must hold what
 * its caller relies on.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz-util.h"
#include "image/image-internal.h"

static void fuzz_manifest(const char *buf, size_t len)
{
	struct snap_error err = { 0 };
	struct oci_manifest m = { 0 };
	if (oci_manifest_parse(buf, len, "manifest", &m, &err) < 0) {
		if (!err.message[0])
			fuzz_fail("manifest refused without a message");
		return;
	}
	if (!snap_digest_valid(m.config.digest) || !m.config.media_type)
		fuzz_fail("manifest accepted with a bad config descriptor");
	for (size_t i = 0; i < m.n_layers; i++)
		if (!snap_digest_valid(m.layers[i].digest) || !oci_layer_media_type_ok(m.layers[i].media_type) ||
		    m.layers[i].size < 0)
			fuzz_fail("manifest accepted with a bad layer %zu", i);
	oci_manifest_done(&m);
}

static void fuzz_config(const char *buf, size_t len)
{
	struct snap_error err = { 0 };
	struct oci_config c = { 0 };
	if (oci_config_parse(buf, len, "config", &c, &err) < 0) {
		if (!err.message[0])
			fuzz_fail("config refused without a message");
		return;
	}
	for (size_t i = 0; i < c.n_diff_ids; i++)
		if (!snap_digest_valid(c.diff_ids[i]))
			fuzz_fail("config accepted with a bad diff ID %zu", i);
	(void)oci_config_check_platform(&c, "config", &err);
	struct snap_image_config rc = { 0 };
	if (oci_config_runtime(c.root, &rc, &err) == 0) {
		if (!rc.env)
			fuzz_fail("runtime config without an env array");
		snap_image_config_done(&rc);
	}
	oci_config_done(&c);
}

static void fuzz_time(const char *buf)
{
	int64_t ns;
	if (oci_parse_time(buf, &ns) < 0)
		return;
	char out[64];
	oci_format_time(out, sizeof(out), ns);
	int64_t back;
	if (oci_parse_time(out, &back) < 0 || back != ns)
		fuzz_fail("time '%s' -> %lld -> '%s' does not read back", buf, (long long)ns, out);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	/* NUL-terminated copy: the parsers take (buf, len) but the time
	 * parser a C string. */
	char *buf = malloc(size);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	switch (data[0] % 3) {
	case 0: fuzz_manifest(buf, size - 1); break;
	case 1: fuzz_config(buf, size - 1); break;
	default: fuzz_time(buf); break;
	}
	free(buf);
	return 0;
}
