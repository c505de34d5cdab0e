/* SPDX-License-Identifier: Apache-2.0 */
#include "store-vfs.h"

#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

static int (*real_fchown)(int, uid_t, gid_t);
static pthread_once_t vfs_once = PTHREAD_ONCE_INIT;

static int fchown_if_needed(int fd, uid_t uid, gid_t gid)
{
	struct stat st;
	if (fstat(fd, &st) == 0 && st.st_uid == uid && st.st_gid == gid)
		return 0;
	return real_fchown(fd, uid, gid);
}

static void vfs_setup(void)
{
	/* sqlite3_vfs_find initialises the library (and its default VFS). */
	sqlite3_vfs *vfs = sqlite3_vfs_find(NULL);
	if (!vfs || vfs->iVersion < 3 || !vfs->xGetSystemCall || !vfs->xSetSystemCall)
		return;
	sqlite3_syscall_ptr p = vfs->xGetSystemCall(vfs, "fchown");
	if (!p)
		return; /* not the unix VFS, or one without fchown: nothing to do */
	real_fchown = (int (*)(int, uid_t, gid_t))p;
	if (vfs->xSetSystemCall(vfs, "fchown", (sqlite3_syscall_ptr)fchown_if_needed) != SQLITE_OK)
		real_fchown = NULL;
}

void snap_store_vfs_setup(void)
{
	pthread_once(&vfs_once, vfs_setup);
}
