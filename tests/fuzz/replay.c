/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main() for a harness built without libFuzzer (gcc builds, the ASan CI
 * build): run every file given, or every file in every directory given,
 * through LLVMFuzzerTestOneInput once.  The seed corpora and the inputs of
 * crashes once found (tests/fuzz/regressions/) run this way in every build.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz-util.h"
#include "util/fs-util.h"
#include "util/macro.h"

static int run_file(int dirfd, const char *name, const char *shown)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r = snap_read_file_at(dirfd, name, 64 << 20, &buf, &len);
	if (r < 0) {
		fprintf(stderr, "replay: read %s: %s\n", shown, strerror(-r));
		return r;
	}
	LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
	return 0;
}

int main(int argc, char **argv)
{
	LLVMFuzzerInitialize(&argc, &argv);
	size_t n = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (run_file(AT_FDCWD, argv[i], argv[i]) < 0)
				return 1;
			n++;
			continue;
		}
		_cleanup_close_ int dfd = open(argv[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		_cleanup_(snap_names_done) struct snap_names names = { 0 };
		if (dfd < 0 || snap_dir_list_sorted(dfd, NULL, &names) < 0) {
			fprintf(stderr, "replay: list %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		for (size_t k = 0; k < names.n; k++) {
			struct stat fst;
			if (fstatat(dfd, names.v[k], &fst, 0) < 0 || !S_ISREG(fst.st_mode))
				continue;
			char shown[4096];
			snprintf(shown, sizeof(shown), "%s/%s", argv[i], names.v[k]);
			if (run_file(dfd, names.v[k], shown) < 0)
				return 1;
			n++;
		}
	}
	printf("replayed %zu inputs\n", n);
	return n > 0 ? 0 : 1;
}
