/*
 * store_int.h - the inside of src/store: the table of operations a storage
 * backend implements, and the handle every backend embeds first.
 *
 * The front (store.c) checks arguments, fills defaults, takes the clock and
 * encodes/decodes cursors, then dispatches through s->ops; a backend only
 * stores and loads.  So a backend can assume: user > 0, ids > 0, limits in
 * range, role/status valid, params a JSON object, strings non-NULL where the
 * front passes structs it built.  It must still treat every string as
 * untrusted text (bind it, never splice it).
 *
 * Times are passed in by the front (created_ms/updated_ms), so the importer
 * can restore them and tests can pin them.
 */
#ifndef HEARTH_STORE_INT_H
#define HEARTH_STORE_INT_H

#include "store/store.h"

struct hx_store_ops {
	const char *name; /* "sqlite" */
	/* Frees everything; s is invalid afterwards. */
	void (*close)(hx_store *s);

	/* One transaction spanning several calls from one thread: begin takes the
	 * handle's lock and keeps it until commit or rollback (other threads' calls
	 * wait), so nothing they do can end up inside, or be rolled back with, it. */
	int (*begin)(hx_store *s);
	int (*commit)(hx_store *s);
	int (*rollback)(hx_store *s);

	int (*user_create)(hx_store *s, const char *name, int64_t created_ms, int64_t *id);
	int (*recover)(hx_store *s, const char *error, int64_t *n_marked);
	int (*check)(hx_store *s);

	/* in: every string non-NULL, params a JSON object.  The chat gets
	 * created_at = created_ms and updated_at = updated_ms. */
	int (*chat_create)(hx_store *s, int64_t user, const hx_chat *in, int64_t created_ms, int64_t updated_ms,
	                   hx_chat *out);
	int (*chat_get)(hx_store *s, int64_t user, int64_t id, hx_chat *out);
	/* Newest first, starting strictly after (below) the key (after_updated,
	 * after_id) unless `first`.  Returns up to limit chats and *more when at
	 * least one more follows. */
	int (*chat_list)(hx_store *s, int64_t user, bool first, int64_t after_updated, int64_t after_id, int limit,
	                 hx_chat **out, size_t *n, bool *more);
	/* patch: non-NULL fields are set (already defaulted by the front). */
	int (*chat_update)(hx_store *s, int64_t user, int64_t id, const hx_chat *patch, bool set_context_from,
	                   int64_t updated_ms);
	/* Sets updated_at (import restores it after adding the messages). */
	int (*chat_touch)(hx_store *s, int64_t user, int64_t id, int64_t updated_ms);
	int (*chat_delete)(hx_store *s, int64_t user, int64_t id);

	/* m: strings non-NULL, m->created_ms set by the caller; sets m->id and the
	 * chat's updated_at = m->created_ms. */
	int (*msg_add)(hx_store *s, int64_t user, hx_msg *m);
	int (*msg_update)(hx_store *s, int64_t user, const hx_msg *m);
	int (*msg_get)(hx_store *s, int64_t user, int64_t id, hx_msg *out);
	int (*msg_delete)(hx_store *s, int64_t user, int64_t id);
	int (*msg_list)(hx_store *s, int64_t user, int64_t chat_id, int64_t before, int64_t after, int limit,
	                hx_msg **out, size_t *n, bool *more);
	int (*msg_all)(hx_store *s, int64_t user, int64_t chat_id, int64_t from_id, hx_msg **out, size_t *n);

	/* fts: the query already in the backend's syntax (store.c builds it for
	 * FTS5: quoted words, implicit AND, last word a prefix).  Snippets come back
	 * raw, with matches between STORE_MARK_ON and STORE_MARK_OFF; the front
	 * turns them into safe HTML. */
	int (*search)(hx_store *s, int64_t user, const char *fts, int limit, int offset, hx_hit **out, size_t *n);
};

/* Every backend's handle starts with this. */
struct hx_store {
	const struct hx_store_ops *ops;
};

#define STORE_MARK_ON  "\x01"
#define STORE_MARK_OFF "\x02"

/* Backends.  Opening runs the recovery (messages left streaming become
 * errors with STORE_INTERRUPTED) when no other process has the store open. */
int store_sqlite_open(const char *path, hx_store **out);

#define STORE_INTERRUPTED "interrupted (the server stopped while generating)"

/* Helpers shared by the files of src/store. */
int64_t store_now_ms(void);
/* Copies src (NULL = "") into a malloc'd string; NULL on ENOMEM. */
char *store_dup(const char *src);
/* 0 when `text` is a JSON object (at most `max` bytes), else HEARTH_EINVAL
 * naming `what`. */
int store_check_json_object(const char *text, const char *what);

/* Limits (bytes) applied by the front and by import. */
#define STORE_MAX_TITLE           1024
#define STORE_MAX_MODEL           512
#define STORE_MAX_PARAMS          65536
#define STORE_MAX_TEXT            ((size_t)64 << 20) /* one message's content or reasoning; a whole import */
#define STORE_MAX_IMPORT_MESSAGES 100000
#define STORE_MAX_QUERY           1024

#endif
