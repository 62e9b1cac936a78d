/*
 * The state directory (--state-dir) holds every endpoint's key (glournet.db
 * and its -wal, the policy, the transition log), so it must be glournetd's
 * alone; and it must hold the store it had, since a store that went missing
 * would otherwise come back as a new, empty collector that forgot everyone.
 *
 * The rule, applied at every start: glournetd runs with umask 077; the
 * directory is created 0700, or made 0700 when others could only read it;
 * a directory others can write in, or that belongs to another user, is
 * refused (its files could have been replaced); the known files are made
 * 0600. Each change or refusal is one log line naming the path and the mode.
 */
#ifndef GLOURNET_STATE_DIR_H
#define GLOURNET_STATE_DIR_H

#include <stdbool.h>

struct store;

/* Held (a POSIX record lock, F_SETLK) by the glournetd that runs on the
 * directory, for its whole life; the file holds that glournetd's pid. */
#define STATE_DIR_LOCK "glournetd.lock"

/* The marker: the id of the store this directory holds (store_get_id). */
#define STATE_DIR_MARKER "store-id"

/* umask, the directory and its files, as above. 0 or -errno (logged). */
int state_dir_prepare(const char *dir);

/* Takes the directory's lock, so that two glournetd never share one store
 * (each would checkpoint over the other's endpoints). The open descriptor
 * (>= 0) is the lock: keep it open, never close it before exit. -EBUSY
 * when another process holds it, logged naming its pid and the lock file;
 * other -errno logged as well. After state_dir_prepare. */
int state_dir_lock(const char *dir);

/* The store just opened against the marker: refused (-ESTALE, logged with
 * the file and the option) when the directory says it held a store and this
 * one is empty and not that store (deleted, truncated, replaced), or when
 * there is no marker yet (older glournetd) but the store is new and the
 * transition log records endpoints. `allow_empty` (--allow-empty-store)
 * starts anyway, and says so. Then the store has an id and the marker
 * names it. 0 or -errno. */
int state_dir_check_store(const char *dir, struct store *s, bool allow_empty);

#endif
