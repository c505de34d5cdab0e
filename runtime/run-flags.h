/* SPDX-License-Identifier: Apache-2.0 */
/* The keys of run's long-only flags (spec/run.c lists them, cmd-run.c and
 * the files of the concerns they configure handle them). */
#ifndef SNAP_RUN_FLAGS_H
#define SNAP_RUN_FLAGS_H

enum {
	RUN_FLAG_RM = 0x100,
	RUN_FLAG_NAME,
	RUN_FLAG_HOSTNAME,
	RUN_FLAG_NET,
	RUN_FLAG_PIDS_LIMIT,  /* run-isolation.c handles these */
	RUN_FLAG_MEMORY,
	RUN_FLAG_CPUS,
	RUN_FLAG_SECURITY_OPT,
	RUN_FLAG_ENTRYPOINT,  /* run-config.c */
	RUN_FLAG_SECRET_ENV,  /* run-secret.c */
	RUN_FLAG_STORAGE_OPT, /* run-storage.c */
	RUN_FLAG_USERNS,      /* run-userns.c */
};

#endif
