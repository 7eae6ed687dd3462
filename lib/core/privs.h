/*
 * core/privs — the service user: switching to it, and giving it the
 * directories it works in.
 *
 * The daemons bind as root and then become `user` (config key); the CLI,
 * run as root on an installation prepared for `user` by `tlsgate init`,
 * becomes `user` too, so that every file it makes in the state and spool
 * directories (sqlite's -wal and -shm files above all) stays usable by
 * the daemons. Switching is for good: groups, gid, uid, in that order,
 * then a check that root cannot be regained (OpenSMTPD's sequence).
 *
 * Owns: those two steps. Does not own: when to switch (the callers), the
 * config.
 */
#ifndef TG_CORE_PRIVS_H
#define TG_CORE_PRIVS_H

#include <sys/types.h>

#include "util/err.h"

/* The uid and gid of user; 0, or -1 with err when there is none. */
int tg_privs_lookup(const char *user, uid_t *uid, gid_t *gid,
    struct tg_err *err);

/* Become user for good (process must be root). 0 or -1 with err. */
int tg_privs_drop(const char *user, struct tg_err *err);

/*
 * Give dir and everything under it to uid:gid (symbolic links themselves,
 * never what they point to; nothing outside dir is touched). 0 or -1 with
 * err naming the first path that could not be changed.
 */
int tg_privs_chown_tree(const char *dir, uid_t uid, gid_t gid,
    struct tg_err *err);

#endif
