/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The plugin builds, checked as the loader will see them.  Arguments are
 * KIND:PATH, KIND one of
 *   intree    - an in-tree driver's plugin build: its ELF dynamic symbol
 *               table defines exactly one symbol, snap_driver_entry, a valid
 *               descriptor of ABI SNAP_DRIVER_ABI_MAJOR whose driver is named
 *               "<name>-plugin" and has every mandatory method;
 *   bad-abi   - snap_driver_entry with an ABI major other than ours;
 *   no-symbol - no snap_driver_entry at all;
 *   dup-name  - a valid descriptor whose driver is named "vfs".
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <snapctl/driver.h>

#include "util/fs-util.h"
#include "util/macro.h"

static int n_args;
static char **args;

/* Names of the defined global/weak symbols in the .dynsym of an ELF64 file,
 * as one string "a b c " (the file is small: read it whole). */
static char *exported_symbols(const char *path)
{
	char *data = NULL;
	size_t len = 0;
	int r = snap_read_file_at(AT_FDCWD, path, 64u << 20, &data, &len);
	if (r < 0)
		fail_msg("read %s: %s", path, strerror(-r));
	assert_true(len >= sizeof(Elf64_Ehdr));
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)data;
	assert_memory_equal(eh->e_ident, ELFMAG, SELFMAG);
	assert_int_equal(eh->e_ident[EI_CLASS], ELFCLASS64);
	assert_true(eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) <= len);
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(data + eh->e_shoff);

	char *out = calloc(1, 1);
	size_t out_len = 0;
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type != SHT_DYNSYM)
			continue;
		assert_true(sh[i].sh_link < eh->e_shnum);
		const Elf64_Shdr *strs = &sh[sh[i].sh_link];
		assert_true(sh[i].sh_offset + sh[i].sh_size <= len && strs->sh_offset + strs->sh_size <= len);
		const Elf64_Sym *syms = (const Elf64_Sym *)(data + sh[i].sh_offset);
		size_t n = sh[i].sh_size / sizeof(Elf64_Sym);
		for (size_t k = 0; k < n; k++) {
			int bind = ELF64_ST_BIND(syms[k].st_info);
			if (syms[k].st_shndx == SHN_UNDEF || (bind != STB_GLOBAL && bind != STB_WEAK))
				continue;
			if (syms[k].st_name >= strs->sh_size)
				continue;
			const char *name = data + strs->sh_offset + syms[k].st_name;
			/* ASan's one-definition-rule markers shadow every global
			 * in a sanitized build; they are not part of the ABI. */
			if (!*name || strncmp(name, "__odr_asan", 10) == 0)
				continue;
			size_t nl = strlen(name);
			out = realloc(out, out_len + nl + 2);
			assert_non_null(out);
			memcpy(out + out_len, name, nl);
			out_len += nl;
			out[out_len++] = ' ';
			out[out_len] = '\0';
		}
	}
	free(data);
	return out;
}

static const struct snap_plugin *entry_of(const char *path)
{
	/* RTLD_LOCAL: one module's symbols never satisfy another's. */
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		fail_msg("dlopen %s: %s", path, dlerror());
	return dlsym(h, SNAP_PLUGIN_ENTRY_SYMBOL); /* the handle stays open */
}

static void check_intree(const char *path)
{
	_cleanup_free_ char *syms = exported_symbols(path);
	if (strcmp(syms, "snap_driver_entry ") != 0)
		fail_msg("%s exports \"%s\", want only snap_driver_entry", path, syms);

	const struct snap_plugin *p = entry_of(path);
	assert_non_null(p);
	assert_int_equal(p->magic, SNAP_PLUGIN_MAGIC);
	assert_int_equal(p->abi_major, SNAP_DRIVER_ABI_MAJOR);
	assert_true(p->abi_minor <= SNAP_DRIVER_ABI_MINOR);
	assert_non_null(p->description);
	const struct snap_driver *d = p->driver;
	assert_non_null(d);
	assert_int_equal(SNAP_ABI_MAJOR_OF(d->abi_version), SNAP_DRIVER_ABI_MAJOR);
	size_t nl = strlen(d->name);
	if (nl <= 7 || strcmp(d->name + nl - 7, "-plugin") != 0)
		fail_msg("%s: driver name \"%s\" lacks the -plugin suffix", path, d->name);
	assert_true(d->probe && d->open && d->close && d->create && d->mounts && d->commit && d->remove &&
		    d->usage && d->open_tree);
}

static void test_modules(void **state)
{
	assert_true(n_args > 0);
	for (int i = 0; i < n_args; i++) {
		char *colon = strchr(args[i], ':');
		assert_non_null(colon);
		*colon = '\0';
		const char *kind = args[i], *path = colon + 1;
		if (strcmp(kind, "intree") == 0) {
			check_intree(path);
		} else if (strcmp(kind, "bad-abi") == 0) {
			const struct snap_plugin *p = entry_of(path);
			assert_non_null(p);
			assert_int_equal(p->magic, SNAP_PLUGIN_MAGIC);
			assert_int_not_equal(p->abi_major, SNAP_DRIVER_ABI_MAJOR);
		} else if (strcmp(kind, "no-symbol") == 0) {
			assert_null(entry_of(path));
			_cleanup_free_ char *syms = exported_symbols(path);
			assert_null(strstr(syms, "snap_driver_entry "));
		} else if (strcmp(kind, "dup-name") == 0) {
			const struct snap_plugin *p = entry_of(path);
			assert_non_null(p);
			assert_int_equal(p->abi_major, SNAP_DRIVER_ABI_MAJOR);
			assert_string_equal(p->driver->name, "vfs");
		} else {
			fail_msg("unknown kind %s", kind);
		}
		*colon = ':';
	}
}

int main(int argc, char **argv)
{
	n_args = argc - 1;
	args = argv + 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_modules),
	};
	return cmocka_run_group_tests_name("plugin-modules", tests, NULL, NULL);
}
