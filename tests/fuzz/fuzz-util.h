/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the libFuzzer harnesses (tests/fuzz/). */
#ifndef SNAP_FUZZ_UTIL_H
#define SNAP_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Every harness defines these two (libFuzzer's entry points). */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A private scratch directory for this process: a small tmpfs when the
 * process may mount one (a decompression bomb then ends in ENOSPC instead
 * of filling the disk), else a directory under $TMPDIR.  Made once,
 * removed at exit. */
const char *fuzz_scratch(void);

/* Print "fuzz: <message>" and abort(): libFuzzer keeps the input. */
_Noreturn void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Everything about a tree that an apply may change, as one string (paths,
 * types, modes, owners, sizes, mtimes, link targets, contents, xattrs),
 * sorted; NULL on error.  Caller frees. */
char *fuzz_tree_dump(int dirfd);

/* An fd of a memfd holding data (offset 0). */
int fuzz_memfd(const uint8_t *data, size_t size);

#endif
