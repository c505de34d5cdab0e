/* SPDX-License-Identifier: Apache-2.0 */
/* Ownership helpers in the style of systemd's: cleanup attributes and
 * TAKE_PTR/TAKE_FD to hand ownership on. */
#ifndef SNAP_MACRO_H
#define SNAP_MACRO_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <dirent.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _warn_unused_ __attribute__((warn_unused_result))
#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_closedir_ _cleanup_(closedirp)

#define TAKE_PTR(p)                                                                    \
	({                                                                             \
		typeof(p) _p = (p);                                                    \
		(p) = NULL;                                                            \
		_p;                                                                    \
	})

#define TAKE_FD(fd)                                                                    \
	({                                                                             \
		int _fd = (fd);                                                        \
		(fd) = -EBADF;                                                         \
		_fd;                                                                   \
	})

/* Define a cleanup function `namep(type **)` that calls `fn` on non-NULL. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, fn)                                          \
	static inline void fn##p(type **p)                                             \
	{                                                                              \
		if (*p)                                                                \
			fn(*p);                                                        \
	}

/* -errno of the last failed libc call, never 0. */
static inline int negative_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

#endif
