/* SPDX-License-Identifier: Apache-2.0 */
/* The compressors' common calls (compress.h). */
#include <unistd.h>

#include "layer/compress.h"

unsigned compressor_threads(unsigned threads)
{
	if (threads > 0)
		return threads;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 8 ? 8 : (unsigned)n;
}

int compressor_write(struct compressor *c, const void *buf, size_t len)
{
	return len ? c->write(c, buf, len) : 0;
}

int compressor_finish(struct compressor *c)
{
	return c->finish(c);
}

const char *compressor_error(const struct compressor *c)
{
	return c->error[0] ? c->error : "compression failed";
}

void compressor_free(struct compressor *c)
{
	if (c)
		c->free(c);
}
