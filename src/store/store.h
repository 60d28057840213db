/*
 * store.h - persistent chat history (src/store): chats and messages of several
 * users, full-text search, export/import.  Used by `hearth serve` (the native
 * chat API, docs/native-api.md) and by `hearth chat --save` / `hearth history`.
 *
 * One interface, several backends: callers only see `hx_store` and the
 * functions below; a backend fills a `struct hx_store_ops` table (store_int.h).
 * The SQLite backend (store_sqlite.c) is the only one today; a PostgreSQL one
 * can be added without touching callers.
 *
 * Conventions:
 *  - Every function returns 0 or a negative HEARTH_E* code with a message
 *    (hearth_errmsg): HEARTH_ENOTFOUND when the chat/message does not exist OR
 *    belongs to another user (never reveal which), HEARTH_EINVAL for bad
 *    arguments (named), HEARTH_EIO for a database error (the SQLite message
 *    included), HEARTH_EFORMAT for a malformed import document.
 *  - Every query uses bound parameters; nothing a user typed is spliced into SQL.
 *  - Every call takes the acting user's id.  Until authentication exists, the
 *    only user is HX_STORE_LOCAL_USER ("local"), created by the first migration.
 *  - Times are milliseconds since the Unix epoch (UTC).
 *  - Strings in the structs below are owned by the struct (malloc'd) when they
 *    come OUT of the store; free them with hx_chat_clear / hx_msg_clear /
 *    hx_*_list_free.  Strings going IN are borrowed (copied by the store).
 *    NULL and "" are both stored as "" except where noted.  Strings going
 *    in must be valid UTF-8 within limits (HEARTH_EINVAL naming the field):
 *    title 1 KiB, model 512 bytes, params 64 KiB, content / reasoning /
 *    system 64 MiB each.
 *  - A store handle may be used from several threads: the SQLite backend
 *    serializes calls on one connection with a mutex (WAL mode lets a
 *    `sqlite3` shell or a second process read at the same time).
 *  - Writes are durable when the call returns (see hx_store_open): an HTTP
 *    handler may acknowledge a message as soon as hx_msg_add returned 0.
 */
#ifndef HEARTH_STORE_H
#define HEARTH_STORE_H

#include "hearth.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HX_STORE_LOCAL_USER 1

typedef struct hx_store hx_store;

/* Message roles and states. */
enum hx_role { HX_ROLE_SYSTEM = 0, HX_ROLE_USER = 1, HX_ROLE_ASSISTANT = 2 };
enum hx_msg_status {
	HX_MSG_COMPLETE = 0,  /* finished normally (stop or length) */
	HX_MSG_STREAMING = 1, /* being generated right now */
	HX_MSG_STOPPED = 2,   /* stopped by the user; the partial text is kept */
	HX_MSG_ERROR = 3,     /* failed, or left streaming by a crash; partial text kept */
};
/* "system"/"user"/"assistant", "complete"/"streaming"/"stopped"/"error"; and back
 * (-1 for an unknown name). */
const char *hx_role_name(int role);
int hx_role_parse(const char *s);
const char *hx_msg_status_name(int status);
int hx_msg_status_parse(const char *s);

typedef struct hx_chat {
	int64_t id;
	int64_t user_id;
	char *title;
	char *model;        /* the model name the chat uses ("" = the server's default) */
	char *system;       /* system prompt ("" = none) */
	char *params;       /* generation parameters: a JSON object as text, e.g.
	                       {"temperature":0.7,"top_p":0.9,"max_tokens":1024,"thinking":true};
	                       "{}" when none.  The store checks it is a JSON object,
	                       the server checks the fields. */
	int64_t context_from; /* messages with id < context_from are not sent to the model
	                         (set by /reset); 0: all */
	int64_t created_ms, updated_ms; /* updated_ms: last change, incl. a new message */
	int64_t n_messages; /* filled by get/list */
} hx_chat;

typedef struct hx_msg {
	int64_t id;
	int64_t chat_id;
	int role;           /* enum hx_role */
	int status;         /* enum hx_msg_status */
	char *content;
	char *reasoning;    /* thinking text ("" = none) */
	char *model;        /* the model that wrote it (assistant), "hearth" for
	                       slash-command replies, "" for user messages */
	char *error;        /* why it failed ("" = none) */
	int32_t n_prompt, n_cached, n_gen; /* tokens (assistant) */
	double ttft_ms, prompt_ms, gen_ms; /* timings (assistant); tok/s = n_gen / gen_ms */
	int64_t created_ms;
} hx_msg;

void hx_chat_clear(hx_chat *c);
void hx_msg_clear(hx_msg *m);
void hx_chat_list_free(hx_chat *v, size_t n);
void hx_msg_list_free(hx_msg *v, size_t n);

/* ---- opening ------------------------------------------------------------- */

/* Opens (creating the file, mode 0600, and its directory, mode 0700, if needed)
 * the SQLite database at `path` and brings its schema to the current version
 * with the numbered migrations, each in one transaction.  WAL journal,
 * synchronous=FULL (a write acknowledged to a caller survives a power loss),
 * foreign keys on, busy timeout 5 s.  Then runs hx_store_recover, unless
 * another process has the database open (a shared flock on "<path>.lock",
 * created next to it, tells): its replies may really be streaming.  Returns 0,
 * HEARTH_EIO (cannot open/create: the path and SQLite's reason), HEARTH_EFORMAT
 * (not a hearth database, or corrupt), HEARTH_EUNSUPPORTED (a newer schema
 * than this build knows: "made by a newer hearth"), HEARTH_ENOMEM.
 * ":memory:" opens a private in-memory database (tests, fuzzing). */
int hx_store_open(const char *path, hx_store **out);
void hx_store_close(hx_store *s);

/* The default database path: <data dir>/hearth.db (hearth_data_dir_default).
 * *out is malloc'd. */
int hx_store_default_path(char **out);

/* Marks every message left HX_MSG_STREAMING (by a crash) as HX_MSG_ERROR with
 * error "interrupted (the server stopped while generating)"; their partial text
 * is kept.  *n_marked (may be NULL) gets how many.  Called by hx_store_open. */
int hx_store_recover(hx_store *s, int64_t *n_marked);

/* PRAGMA integrity_check (and the search index's own check): 0 when "ok",
 * HEARTH_EFORMAT with the first problem. */
int hx_store_check(hx_store *s);

/* One transaction around several calls made by ONE thread (hx_import_json uses
 * it; a CLI importing many files may too): hx_store_begin takes the handle's
 * lock and keeps it until hx_store_commit or hx_store_rollback, so calls from
 * other threads wait instead of joining the transaction.  Not nestable:
 * hx_store_begin inside a transaction is HEARTH_EINVAL.  A failed commit rolls
 * back.  hx_store_rollback without a transaction does nothing. */
int hx_store_begin(hx_store *s);
int hx_store_commit(hx_store *s);
int hx_store_rollback(hx_store *s);

/* Adds a user named `name` (1..64 bytes, unique) and sets *id.  Until
 * authentication exists only tests need it.  HEARTH_EINVAL for a bad or taken
 * name. */
int hx_user_create(hx_store *s, const char *name, int64_t *id);

/* ---- chats ---------------------------------------------------------------- */

/* Creates a chat from in->title/model/system/params (NULL or "" fields get
 * defaults: title "New chat", params "{}").  *out (may be NULL) receives the
 * stored row. */
int hx_chat_create(hx_store *s, int64_t user, const hx_chat *in, hx_chat *out);
int hx_chat_get(hx_store *s, int64_t user, int64_t id, hx_chat *out);

/* Newest first (updated_ms desc, id desc).  `cursor` is NULL for the first page,
 * else the *next_cursor of the previous page (an opaque string; a malformed
 * one is HEARTH_EINVAL).  limit 1..200.  *next_cursor is malloc'd, or NULL on
 * the last page.  Pages never repeat or skip a chat that was not modified while
 * paging.  Must stay well under 50 ms per page with 10,000 chats. */
int hx_chat_list(hx_store *s, int64_t user, const char *cursor, int limit, hx_chat **out, size_t *n,
                 char **next_cursor);

/* Changes the fields whose pointer in `patch` is non-NULL (title, model,
 * system, params) and, when set_context_from, context_from.  Bumps updated_ms. */
int hx_chat_update(hx_store *s, int64_t user, int64_t id, const hx_chat *patch, bool set_context_from);

/* Deletes the chat and all its messages (and their search entries). */
int hx_chat_delete(hx_store *s, int64_t user, int64_t id);

/* ---- messages -------------------------------------------------------------- */

/* Appends a message to chat `m->chat_id` (role, status, content, reasoning,
 * model, error, token counts and timings from *m); sets m->id and
 * m->created_ms.  Bumps the chat's updated_ms. */
int hx_msg_add(hx_store *s, int64_t user, hx_msg *m);

/* Rewrites a message's status, content, reasoning, error, token counts and
 * timings (role, model, chat and created time never change; the chat's
 * updated_ms is not bumped, so streaming flushes do not reorder chat lists).
 * The search index is only touched when the content changed.  Used while streaming
 * (periodic flushes of the partial text) and at the end. */
int hx_msg_update(hx_store *s, int64_t user, const hx_msg *m);

int hx_msg_get(hx_store *s, int64_t user, int64_t id, hx_msg *out);

/* Deletes one message (used by regenerate). */
int hx_msg_delete(hx_store *s, int64_t user, int64_t id);

/* A page of a chat's messages in chronological order (id ascending):
 *  - before > 0: the `limit` messages just before id `before`;
 *  - else after > 0: the `limit` messages just after id `after`;
 *  - else: the LAST `limit` messages (what a chat view shows first).
 * limit 1..1000.  *more says whether more exist beyond the page in the
 * direction of travel (older for before/default, newer for after).  Must
 * stay well under 50 ms per page in a chat of 5,000 messages. */
int hx_msg_list(hx_store *s, int64_t user, int64_t chat_id, int64_t before, int64_t after, int limit,
                hx_msg **out, size_t *n, bool *more);

/* Every message of the chat with id >= from_id, chronological (for building a
 * prompt and for export). */
int hx_msg_all(hx_store *s, int64_t user, int64_t chat_id, int64_t from_id, hx_msg **out, size_t *n);

/* ---- search ---------------------------------------------------------------- */

typedef struct hx_hit {
	int64_t chat_id, message_id;
	char *chat_title;
	int role;
	char *snippet;      /* HTML: the matching text with the matched terms in
	                       <mark>...</mark>, everything else HTML-escaped; about
	                       24 words around the best match */
	int64_t created_ms;
} hx_hit;
void hx_hit_list_free(hx_hit *v, size_t n);

/* Full-text search (FTS5, unicode61 tokenizer with diacritics removed, prefix
 * matching on the last word) over the content of the user's messages, best
 * matches first (bm25), then newest.  `query` is what a person typed: it is
 * turned into FTS5 syntax with every word quoted, so operators, quotes,
 * parentheses, column filters and '*' in it are plain text, never syntax; an
 * empty query (no words) gives no hits.  offset >= 0, limit 1..100.
 * HEARTH_EINVAL for a query over 1 KiB, over 64 words, or not UTF-8. */
int hx_search(hx_store *s, int64_t user, const char *query, int limit, int offset, hx_hit **out, size_t *n);

/* ---- export / import (src/store/export.c, backend-independent) ----------- */

/* The whole chat as a JSON document (malloc'd, UTF-8):
 *   {"format":"hearth-chat","version":1,"chat":{"title","model","system",
 *    "params":{...},"created_at","updated_at"},
 *    "messages":[{"role","content","reasoning"?,"model"?,"status","created_at",
 *                 "n_prompt"?,"n_gen"?,"ttft_ms"?,"gen_ms"?},...]}
 * (also "error"?, "n_cached"?, "prompt_ms"?; a "?" field is left out when
 * empty or zero; ids are not exported; times are ISO-8601 UTC strings with
 * milliseconds; *len may be NULL). */
int hx_export_json(hx_store *s, int64_t user, int64_t chat_id, char **out, size_t *len);

/* The chat as Markdown: "# title", a line with model and date, the system
 * prompt as a blockquote, then "## User" / "## Assistant" sections (thinking
 * in a <details> block), meant for reading, not for import. */
int hx_export_markdown(hx_store *s, int64_t user, int64_t chat_id, char **out, size_t *len);

/* Imports a document written by hx_export_json (or a plain
 * {"title"?, "messages":[{"role","content"},...]} / bare array of such
 * messages, as other tools write) as a NEW chat owned by `user`, in one
 * transaction (all or nothing).  Every field is validated (roles, statuses,
 * sizes: at most 100,000 messages and 64 MiB of text); HEARTH_EFORMAT with a
 * message naming the field and index otherwise (unknown fields too).
 * *chat_id (may be NULL) gets the new id.  Times absent from the document
 * are now; a message "streaming" in it (exported while generating) is stored
 * as "error" ("interrupted").  hx_export_json(import(x)) == x for any x
 * written by hx_export_json of a chat that was not generating. */
int hx_import_json(hx_store *s, int64_t user, const char *doc, size_t len, int64_t *chat_id);

/* A short title from the first user message, without a model: the first line,
 * markdown and leading slash command removed, whitespace collapsed, cut at a
 * word boundary to at most 48 characters (UTF-8 safe) with "…" when cut;
 * "New chat" when nothing is left.  Malloc'd. */
char *hx_title_from_text(const char *text);

#endif
