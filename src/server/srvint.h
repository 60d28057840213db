/*
 * srvint.h - internals shared by the server's files: the server and model
 * state, per-connection state, response helpers, the parsed OpenAI request,
 * and the native chat API's pieces (native.c routes, hub.c per-chat event hubs,
 * reply.c generation of stored replies, slash.c slash commands).
 *
 * Locking order (never the other way round): srv.hub_mu -> hub.mu -> srv.mu,
 * srv.hub_mu -> srv.wr_mu, hub.mu -> srv.eng_rw (try-lock only: shutdown holds
 * it for writing while engine callbacks need hub locks).  The engine thread
 * (reply callbacks) takes only hub.mu, srv.mu and srv.wr_mu, each briefly.
 * srv.stopping is written under both hub_mu and wr_mu.
 */
#ifndef HEARTH_SRVINT_H
#define HEARTH_SRVINT_H

#include "server/server.h"
#include "store/store.h"
#include "util/util.h"

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum model_state { MS_LOADING, MS_READY, MS_FAILED };

/* Fixed-bucket histogram for /metrics. */
#define HIST_N 10
struct hist {
	const double *bounds; /* HIST_N - 1 upper bounds in seconds; the last bucket is +Inf */
	uint64_t counts[HIST_N];
	double sum;
	uint64_t n;
};

struct srv_model {
	char *name, *arg, *path;
	enum model_state state;
	char error[512];
	time_t created;
	hearth_model *model;
	hearth_vocab *vocab;
	hearth_engine *eng;
	hearth_chat_template *tmpl;
	char *bos, *eos;
	double recent_tps; /* exponential average of generation tok/s */
	uint64_t n_requests;
};

struct hub;

struct srv {
	struct srv_config cfg;
	struct srv_model models[SRV_MAX_MODELS];
	int n_models;
	pthread_mutex_t mu; /* model states, metrics */
	time_t started;
	double t_start;
	struct MHD_Daemon *d;
	unsigned short port;
	/* metrics */
	uint64_t req_by_status[6]; /* 1xx..5xx, index status/100 */
	uint64_t req_total;
	uint64_t tok_prompt, tok_gen, tok_cached;
	struct hist ttft, tok_lat;
	/* engines: submit/cancel hold it for reading; shutdown takes it for
	 * writing before freeing them */
	pthread_rwlock_t eng_rw;
	/* native chat API (NULL store: --no-history) */
	hx_store *store;
	pthread_mutex_t hub_mu; /* the hub table and every hub's refs */
	struct hub *hubs;       /* linked list */
	int n_subs;             /* event streams open (under hub_mu) */
	pthread_mutex_t wr_mu;  /* the writer thread's wake-up */
	pthread_cond_t wr_cv;
	bool wr_wake, stopping;
	pthread_t writer;
	bool writer_started;
};

struct gen;

/* Per HTTP request state (MHD's con_cls). */
struct conn {
	struct srv *srv;
	hx_sbuf body;
	bool too_large;
	bool cors;        /* the request's Origin is the configured --cors-origin */
	int status;
	double t0;
	char method[8];
	char path[128];
	const char *model_name;
	int32_t n_prompt, n_gen, n_cached;
	struct gen *gen;
};

/* ---- server.c ------------------------------------------------------------------- */

void srv_add_cors(const struct conn *cn, struct MHD_Response *r);
enum MHD_Result srv_send_text(struct conn *cn, struct MHD_Connection *c, int status, const char *ctype,
                              const char *text, size_t len, const char *retry_after);
/* Sends j (consumed) as JSON. */
enum MHD_Result srv_send_json(struct conn *cn, struct MHD_Connection *c, int status, json_t *j,
                              const char *retry_after);
/* Queues r (a callback response, released here) as a 200 stream of ctype
 * that proxies must not buffer or cache. */
enum MHD_Result srv_send_stream(struct conn *cn, struct MHD_Connection *c, struct MHD_Response *r, const char *ctype);
/* {"error":{"message","type","code"}} */
enum MHD_Result srv_send_error(struct conn *cn, struct MHD_Connection *c, int status, const char *code,
                               const char *msg);

/* *ts = CLOCK_REALTIME now + secs (for pthread_cond_timedwait). */
void srv_deadline(struct timespec *ts, double secs);

/* The model a request names (NULL/"": the only model). */
struct srv_model *srv_find_model(struct srv *s, const char *name);
const char *srv_model_state_name(enum model_state st);
/* Records a finished generation in the metrics (any thread). */
void srv_note_done(struct srv *s, struct srv_model *m, const hearth_gen_stats *st);

/* Renders `messages` (a JSON array of {role, content}) with the model's chat
 * template (kwargs: chat_template_kwargs or NULL) and tokenizes the result.
 * Returns 0 with *toks (malloc'd), *n and *opens (the prompt opens a reasoning
 * section), or an HTTP status (400 template error, 500) with a message. */
int srv_chat_prompt(struct srv_model *m, json_t *messages, json_t *kwargs, hearth_token **toks, size_t *n,
                    bool *opens, char *err, size_t errlen);

/* ---- request.c ---------------------------------------------------------------------- */

/* A validated request.  Strings are borrowed from `root`, which it holds. */
struct srv_params {
	json_t *root;
	bool chat;
	const char *model;      /* NULL: the only model */
	bool stream, include_usage;
	int32_t max_tokens;     /* 0: until the model stops or the context is full */
	hearth_sampler_params sp;
	const char *stops[HEARTH_STOP_MAX_N];
	size_t n_stops;
	json_t *messages;       /* chat: normalized [{role, content[, reasoning_content]}] (owned) */
	json_t *kwargs;         /* chat: chat_template_kwargs or NULL (borrowed) */
	const char *prompt;     /* completions: text, or NULL when ids are given */
	size_t prompt_len;
	int32_t *prompt_ids;    /* completions: token ids (owned; range checked by the server) */
	size_t n_prompt_ids;
};

/* Fills *p from a parsed body.  Returns 0 or 400 with a message in err; in both
 * cases release *p with srv_params_clear. */
int srv_parse_params(json_t *root, bool chat, struct srv_params *p, char *err, size_t errlen);
void srv_params_clear(struct srv_params *p);

/* Turns an Ollama /api/chat body into the equivalent OpenAI chat body (a new
 * reference), or returns NULL with a message in err. */
json_t *srv_from_ollama(json_t *root, char *err, size_t errlen);

/* A native chat's generation parameters (the chat's "params" object, or a
 * message's override).  `set` says which were given. */
struct srv_chat_params {
	hearth_sampler_params sp;
	int32_t max_tokens;
	bool thinking, has_thinking;
	bool ignore_eos;
};

/* Validates a native params object: only the known fields, each in range.
 * Applies them over *p.  Returns 0 or 400 with a message. */
int srv_chat_params_parse(json_t *obj, struct srv_chat_params *p, char *err, size_t errlen);

/* ---- hub.c: one event hub per chat ----------------------------------------------- */

struct reply;

/* Gets (creating when `create`) the hub of a chat, with a reference; NULL when
 * it does not exist (or out of memory). */
struct hub *hub_get(struct srv *s, int64_t chat_id, bool create);
void hub_put(struct srv *s, struct hub *h);
void hub_ref(struct srv *s, struct hub *h); /* one more reference to a hub the caller holds */
void hub_lock(struct hub *h);
void hub_unlock(struct hub *h);
/* Appends an event with the next id of the current reply (chat events) or as
 * `start` of a new reply (begin: reply_id) under the hub's lock; data is
 * consumed.  Returns 0 or HEARTH_ENOMEM. */
int hub_emit_locked(struct hub *h, const char *event, json_t *data);
int hub_begin_reply_locked(struct hub *h, int64_t reply_id, json_t *start_data);
/* Undoes hub_begin_reply_locked (the reply could not be submitted). */
void hub_abort_reply_locked(struct hub *h);
/* The reply being generated (NULL: none); set/cleared by reply.c under the lock. */
struct reply *hub_reply_locked(struct hub *h);
void hub_set_reply_locked(struct hub *h, struct reply *r);
bool hub_deleted_locked(struct hub *h);
void hub_set_deleted_locked(struct hub *h);
/* Waits (lock held) up to `secs` for a change. */
void hub_wait_locked(struct hub *h, double secs);
void hub_broadcast_locked(struct hub *h);
/* True while the chat has a reply being generated. */
bool hub_generating(struct srv *s, int64_t chat_id);
/* Answers GET /api/chats/{id}/events. */
int hub_subscribe(struct conn *cn, struct MHD_Connection *c, int64_t chat_id);
/* Frees idle hubs whose last reply ended over 5 minutes ago (writer thread). */
void hub_gc(struct srv *s);
/* Shutdown: ends every subscriber's stream once it has sent what is left,
 * waiting up to `secs` for them; then hub_free_all frees every hub. */
void hub_close_all(struct srv *s, double secs);
void hub_free_all(struct srv *s);
/* The hubs that have a reply, each with a reference (release with hub_put,
 * then free the array).  Returns their number; *out NULL when none. */
size_t hub_collect(struct srv *s, struct hub ***out);

/* ---- reply.c: stored replies -------------------------------------------------------- */

/* Starts the background writer thread (flushes streaming replies to the store,
 * finalizes them, expires hubs). */
int reply_start_writer(struct srv *s);
/* Shutdown: cancels every reply, waits until each is saved, stops the writer. */
void reply_shutdown(struct srv *s);
/* POST /api/chats/{id}/messages (content: the new message) and
 * /regenerate (content NULL: answers the last user message again): checks,
 * stores the user message and a streaming assistant message, starts the
 * generation (or runs the slash command) and returns 202 with *resp, or an
 * HTTP status with code/message (nothing stored). `over` (may be NULL): this
 * message's params override. */
int reply_post(struct srv *s, struct hub *h, const hx_chat *chat, const char *content, json_t *over, json_t **resp,
               const char **code, char *err, size_t errlen);
/* Stops the chat's running reply (if any) and waits until it is saved.  Returns
 * the stopped message's id, or 0 when nothing was running. */
int64_t reply_stop(struct srv *s, struct hub *h);
/* Shutdown, step 1: cancels every reply (their messages are saved "stopped"). */
void reply_cancel_all(struct srv *s);

/* ---- native.c --------------------------------------------------------------------------- */

/* Answers /api/chats..., /api/search; returns -1 when the path is not one of them. */
int native_route(struct conn *cn, struct MHD_Connection *c, const char *method, const char *path);
/* generating: 0/1, or -1 to look it up (not with a hub lock held). */
json_t *native_chat_json(struct srv *s, const hx_chat *c, int generating);
/* with_html: add "html" (assistant messages not streaming). */
json_t *native_msg_json(const hx_msg *m, bool with_html);

/* ---- slash.c ------------------------------------------------------------------------------ */

/* Runs a slash command for `chat`: returns the reply text (malloc'd Markdown;
 * NULL: out of memory) and whether it is an error.  May change the chat
 * (model, context_from): then *changed is set (the caller sends the chat
 * event).  cmd_id / reply_id: the ids of the command's message and reply. */
char *slash_run(struct srv *s, const hx_chat *chat, const char *cmd, int64_t cmd_id, int64_t reply_id,
                bool *is_error, bool *changed);

#endif
