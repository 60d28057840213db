/*
 * reply.c - replies of the native chat API: one assistant message generated
 * by the engine (or written by a slash command), streamed through the chat's
 * hub and saved in the store.
 *
 * POST /messages: the prompt is built and checked first (nothing is stored
 * when the model is missing or the prompt cannot fit), then the user message
 * and an empty "streaming" assistant message are committed, the `start` event
 * is appended and the request is submitted while the hub is locked (so no
 * delta can come before `start`), and the handler answers 202.
 *
 * The engine callback (engine thread) only appends text to the reply and a
 * `delta` frame to the hub.  One writer thread per server does everything that
 * touches SQLite for running replies: it saves the partial text at least once
 * a second and, once the engine's DONE has arrived, writes the final state
 * (complete / stopped / error, stats), appends `done` with the stored message
 * and releases the chat.  It also expires idle hubs.
 */
#include "server/srvint.h"
#include "server/web.h"
#include "util/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#define FLUSH_S 0.5            /* the partial reply is saved this often (at least once a second) */
#define REPLY_MAX (16u << 20)  /* text kept per reply before it is cut off */

struct reply {
	struct srv *s;
	struct hub *h;        /* a reference */
	struct srv_model *m;  /* NULL: a slash command */
	uint64_t eng_id;
	bool submitted;
	hx_msg msg;           /* id, chat_id, model (owned) */
	/* under the hub's lock */
	hx_sbuf content, reasoning;
	hearth_gen_stats st;
	bool eng_done, overflow;
	enum hearth_finish finish;
	char errmsg[256];
	bool stop_req, shutdown, timed_out;
	double t_submit;      /* hx_time_s() at submission (--request-timeout) */
	bool dirty;
	double last_flush;
	int truncated;
};

static void reply_free(struct reply *r)
{
	if (!r)
		return;
	hub_put(r->s, r->h);
	hx_msg_clear(&r->msg);
	free(r->content.p);
	free(r->reasoning.p);
	free(r);
}

static void wake_writer(struct srv *s)
{
	pthread_mutex_lock(&s->wr_mu);
	s->wr_wake = true;
	pthread_cond_broadcast(&s->wr_cv);
	pthread_mutex_unlock(&s->wr_mu);
}

/* Engine callback (engine thread): copy, append a frame, return. */
static bool reply_cb(const hearth_gen_event *ev, void *user)
{
	struct reply *r = user;
	struct hub *h = r->h;
	struct srv *s = r->s;
	bool done = ev->kind == HEARTH_GEN_DONE, cancel = false;
	if (done)
		srv_note_done(s, r->m, ev->stats);
	hub_lock(h);
	r->st = *ev->stats;
	if (ev->kind == HEARTH_GEN_CONTENT || ev->kind == HEARTH_GEN_REASONING) {
		bool reason = ev->kind == HEARTH_GEN_REASONING;
		hx_sbuf *b = reason ? &r->reasoning : &r->content;
		if (b->len + ev->len > REPLY_MAX || hx_sbuf_add(b, ev->text, ev->len)) {
			r->overflow = true;
			cancel = true;
		} else {
			json_t *d = json_pack("{s:I, s:s%}", "message_id", (json_int_t)r->msg.id,
			                      reason ? "reasoning" : "content", ev->text, ev->len);
			hub_emit_locked(h, "delta", d);
			r->dirty = true;
		}
	} else if (done) {
		r->eng_done = true;
		r->finish = ev->finish;
		snprintf(r->errmsg, sizeof r->errmsg, "%s", ev->message ? ev->message : "");
	}
	hub_unlock(h);
	/* once eng_done is set and the lock released, the writer may free r */
	if (done)
		wake_writer(s);
	return cancel;
}

/* ---- saving ---------------------------------------------------------------------- */

/* Copies the reply's current state into m (strings malloc'd). */
static int snapshot_locked(struct reply *r, hx_msg *m)
{
	memset(m, 0, sizeof *m);
	m->id = r->msg.id;
	m->chat_id = r->msg.chat_id;
	m->role = HX_ROLE_ASSISTANT;
	m->status = HX_MSG_STREAMING;
	m->content = hx_strndup(r->content.p ? r->content.p : "", r->content.len);
	m->reasoning = hx_strndup(r->reasoning.p ? r->reasoning.p : "", r->reasoning.len);
	m->model = hx_strdup(r->msg.model ? r->msg.model : "");
	m->error = hx_strdup("");
	m->n_prompt = r->st.n_prompt;
	m->n_cached = r->st.n_cached;
	m->n_gen = r->st.n_gen;
	m->ttft_ms = r->st.ttft_ms;
	m->prompt_ms = r->st.prompt_ms;
	m->gen_ms = r->st.gen_ms;
	m->created_ms = r->msg.created_ms;
	if (!m->content || !m->reasoning || !m->model || !m->error) {
		hx_msg_clear(m);
		return HEARTH_ENOMEM;
	}
	return 0;
}

/* Saves the final state, sends `done` and releases the chat.  Runs on the
 * writer thread (model replies) or the request's thread (slash commands). */
static void reply_finish(struct reply *r)
{
	struct hub *h = r->h;
	hx_msg m;
	hub_lock(h);
	int rc = snapshot_locked(r, &m);
	enum hearth_finish fin = r->finish;
	bool stopped = r->stop_req || r->shutdown, timed_out = r->timed_out && !stopped;
	char errmsg[256];
	snprintf(errmsg, sizeof errmsg, "%s", r->errmsg);
	if (timed_out)
		snprintf(errmsg, sizeof errmsg, "timed out: the reply took longer than the server's --request-timeout (%g s)",
		         r->s->cfg.request_timeout_s);
	if (r->overflow)
		snprintf(errmsg, sizeof errmsg, "the reply was longer than %u bytes", REPLY_MAX);
	int truncated = r->truncated;
	hub_unlock(h);
	json_t *done = NULL;
	if (rc == 0) {
		if (r->overflow || fin == HEARTH_FINISH_ERROR) {
			m.status = HX_MSG_ERROR;
		} else if (fin == HEARTH_FINISH_CANCELED) {
			m.status = stopped ? HX_MSG_STOPPED : HX_MSG_ERROR;
			if (!stopped && !timed_out)
				snprintf(errmsg, sizeof errmsg, "cancelled");
		} else {
			m.status = HX_MSG_COMPLETE;
		}
		if (m.status == HX_MSG_ERROR && !errmsg[0])
			snprintf(errmsg, sizeof errmsg, "generation failed");
		free(m.error);
		m.error = hx_strdup(m.status == HX_MSG_ERROR ? errmsg : "");
		if (!m.error)
			m.error = NULL;
		if (r->s->store && m.error) {
			int src = hx_msg_update(r->s->store, HX_STORE_LOCAL_USER, &m);
			if (src == HEARTH_EINVAL) {
				/* the store refused the text (e.g. not UTF-8): never leave the
				 * message "streaming"; save it as an error without its text */
				snprintf(errmsg, sizeof errmsg, "the reply could not be saved: %s", hearth_errmsg());
				free(m.content);
				free(m.reasoning);
				free(m.error);
				m.content = hx_strdup("");
				m.reasoning = hx_strdup("");
				m.error = hx_strdup(errmsg);
				m.status = HX_MSG_ERROR;
				src = m.content && m.reasoning && m.error ? hx_msg_update(r->s->store, HX_STORE_LOCAL_USER, &m)
				                                          : HEARTH_ENOMEM;
			}
			if (src && src != HEARTH_ENOTFOUND)
				fprintf(stderr, "hearth serve: saving message %" PRId64 ": %s\n", m.id, hearth_errmsg());
		}
		json_t *mj = native_msg_json(&m, true);
		done = json_pack("{s:o*}", "message", mj);
		if (done && truncated > 0)
			json_object_set_new(done, "truncated", json_integer(truncated));
		hx_msg_clear(&m);
	}
	hub_lock(h);
	if (done)
		hub_emit_locked(h, "done", done);
	hub_set_reply_locked(h, NULL);
	hub_unlock(h);
	reply_free(r);
}

/* Saves the partial text of a running reply when it changed (writer thread). */
static void reply_flush(struct reply *r)
{
	hx_msg m;
	hub_lock(r->h);
	double now = hx_time_s();
	bool go = r->dirty && now - r->last_flush >= FLUSH_S;
	int rc = go ? snapshot_locked(r, &m) : -1;
	if (rc == 0) {
		r->dirty = false;
		r->last_flush = now;
	}
	hub_unlock(r->h);
	if (rc)
		return;
	if (r->s->store)
		hx_msg_update(r->s->store, HX_STORE_LOCAL_USER, &m);
	hx_msg_clear(&m);
}

static void cancel_locked(struct srv *s, struct reply *r);

/* One pass over the running replies: flush or finish each (and cancel those
 * running longer than --request-timeout). */
static size_t writer_pass(struct srv *s)
{
	struct hub **hv;
	size_t n = hub_collect(s, &hv), running = 0;
	for (size_t i = 0; i < n; i++) {
		struct hub *h = hv[i];
		hub_lock(h);
		struct reply *r = hub_reply_locked(h);
		bool fin = r && r->submitted && r->m && r->eng_done;
		bool run = r && r->submitted && r->m && !r->eng_done;
		double lim = s->cfg.request_timeout_s;
		if (run && lim > 0 && !r->timed_out && hx_time_s() - r->t_submit > lim) {
			r->timed_out = true;
			cancel_locked(s, r);
		}
		hub_unlock(h);
		/* Only this thread finishes submitted model replies, so r stays valid. */
		if (fin)
			reply_finish(r);
		else if (run)
			reply_flush(r);
		running += r != NULL && !fin;
		hub_put(s, h);
	}
	free(hv);
	return running;
}

static void *writer_main(void *arg)
{
	struct srv *s = arg;
	double last_gc = hx_time_s(), stop_t = 0;
	for (;;) {
		pthread_mutex_lock(&s->wr_mu);
		if (!s->wr_wake) {
			struct timespec ts;
			srv_deadline(&ts, 0.25);
			pthread_cond_timedwait(&s->wr_cv, &s->wr_mu, &ts);
		}
		s->wr_wake = false;
		bool stopping = s->stopping;
		pthread_mutex_unlock(&s->wr_mu);
		size_t running = writer_pass(s);
		double now = hx_time_s();
		if (stopping) {
			if (stop_t == 0)
				stop_t = now;
			/* every engine is gone by now: replies left were never submitted
			 * and belong to request threads that finish them */
			if (running == 0 || now - stop_t > 10)
				break;
		} else if (now - last_gc > 5) {
			hub_gc(s);
			last_gc = now;
		}
	}
	return NULL;
}

int reply_start_writer(struct srv *s)
{
	if (pthread_create(&s->writer, NULL, writer_main, s))
		return HEARTH_ENOMEM;
	s->writer_started = true;
	return 0;
}

/* Cancels r (the hub is locked). */
static void cancel_locked(struct srv *s, struct reply *r)
{
	if (!r->submitted || !r->m || r->eng_done)
		return;
	/* Never wait for the lock here: shutdown holds it for writing while the
	 * engines deliver their last events, which need this hub's lock.  When it
	 * is taken, the engine is being freed, which cancels everything anyway. */
	if (pthread_rwlock_tryrdlock(&s->eng_rw))
		return;
	if (r->m->eng)
		hearth_engine_cancel(r->m->eng, r->eng_id);
	pthread_rwlock_unlock(&s->eng_rw);
}

void reply_cancel_all(struct srv *s)
{
	pthread_mutex_lock(&s->hub_mu); /* hub_get reads it under hub_mu, the writer under wr_mu */
	pthread_mutex_lock(&s->wr_mu);
	s->stopping = true;
	pthread_mutex_unlock(&s->wr_mu);
	pthread_mutex_unlock(&s->hub_mu);
	struct hub **hv;
	size_t n = hub_collect(s, &hv);
	for (size_t i = 0; i < n; i++) {
		hub_lock(hv[i]);
		struct reply *r = hub_reply_locked(hv[i]);
		if (r) {
			r->shutdown = true;
			cancel_locked(s, r);
		}
		hub_unlock(hv[i]);
		hub_put(s, hv[i]);
	}
	free(hv);
}

void reply_shutdown(struct srv *s)
{
	wake_writer(s);
	if (s->writer_started)
		pthread_join(s->writer, NULL);
	s->writer_started = false;
}

int64_t reply_stop(struct srv *s, struct hub *h)
{
	hub_lock(h);
	struct reply *r = hub_reply_locked(h);
	int64_t id = 0;
	if (r) {
		id = r->msg.id;
		r->stop_req = true;
		cancel_locked(s, r);
		/* wait until it is saved (the writer thread or its request finishes it) */
		double t0 = hx_time_s();
		while (hub_reply_locked(h) == r && hx_time_s() - t0 < 10)
			hub_wait_locked(h, 0.1);
	}
	hub_unlock(h);
	return id;
}

/* ---- the prompt ------------------------------------------------------------------------- */

static bool is_slash(const char *s) { return s && s[0] == '/'; }

/* Builds the chat's messages for the template: system, then the turns of
 * hist[0..n) that go to the model, plus `extra` (a new user message, may be
 * NULL), leaving out the first `skip` turns.  *n_turns gets the turn count. */
static json_t *prompt_messages(const hx_chat *chat, const hx_msg *hist, size_t n, const char *extra, size_t skip,
                               size_t *n_turns)
{
	json_t *a = json_array();
	if (!a)
		return NULL;
	if (chat->system && chat->system[0])
		json_array_append_new(a, json_pack("{s:s, s:s}", "role", "system", "content", chat->system));
	size_t turn = 0;
	json_t *last = NULL;   /* the last appended message */
	bool last_user = false;
	for (size_t i = 0; i <= n; i++) {
		const char *content;
		bool user;
		if (i < n) {
			const hx_msg *m = &hist[i];
			content = m->content ? m->content : "";
			if (m->role == HX_ROLE_USER) {
				if (is_slash(content))
					continue;
				user = true;
			} else if (m->role == HX_ROLE_ASSISTANT) {
				if (strcmp(m->model ? m->model : "", "hearth") == 0 || m->status == HX_MSG_STREAMING ||
				    !content[0])
					continue;
				user = false;
			} else {
				continue;
			}
		} else {
			if (!extra)
				break;
			content = extra;
			user = true;
		}
		if (user && !last_user)
			turn++;
		if (skip > 0 && turn <= skip) /* turn 0: messages before the first user message */
			continue;
		if (last && user == last_user) {
			/* two user messages in a row (the reply between failed) or two
			 * replies: joined, as templates expect alternating roles */
			json_t *c = json_object_get(last, "content");
			size_t la = json_string_length(c), lb = strlen(content);
			char *j = hx_malloc(la + lb + 3);
			if (!j) {
				json_decref(a);
				return NULL;
			}
			memcpy(j, json_string_value(c), la);
			memcpy(j + la, "\n\n", 2);
			memcpy(j + la + 2, content, lb + 1);
			json_object_set_new(last, "content", json_string(j));
			free(j);
			continue;
		}
		last = json_pack("{s:s, s:s}", "role", user ? "user" : "assistant", "content", content);
		if (!last || json_array_append_new(a, last)) {
			json_decref(a);
			return NULL;
		}
		last_user = user;
	}
	*n_turns = turn;
	return a;
}

/* Renders and tokenizes, leaving out the oldest turns until the prompt leaves
 * `reserve` tokens to generate.  Returns 0 or an HTTP status. */
static int build_prompt(struct srv_model *m, int32_t n_ctx, const hx_chat *chat, const hx_msg *hist, size_t n,
                        const char *extra, json_t *kwargs, int32_t reserve, hearth_token **toks, size_t *n_tok,
                        bool *opens, int *truncated, const char **code, char *err, size_t errlen)
{
	size_t n_turns = 0;
	*truncated = 0;
	/* skip = k turns; fewer turns never give a longer prompt: binary search
	 * for the smallest k that fits, trying k = 0 first */
	size_t lo = 0, hi = 0, best_k = SIZE_MAX;
	hearth_token *best = NULL;
	size_t best_n = 0;
	bool best_opens = false;
	for (int iter = 0; iter < 64; iter++) {
		size_t k = iter == 0 ? 0 : lo + (hi - lo) / 2;
		json_t *msgs = prompt_messages(chat, hist, n, extra, k, &n_turns);
		if (!msgs) {
			*code = "internal";
			snprintf(err, errlen, "out of memory");
			free(best);
			return 500;
		}
		hearth_token *t = NULL;
		size_t nt = 0;
		bool op = false;
		int st = srv_chat_prompt(m, msgs, kwargs, &t, &nt, &op, err, errlen);
		json_decref(msgs);
		if (st) {
			*code = "template_error";
			free(best);
			return st;
		}
		bool fits = nt + (size_t)reserve <= (size_t)n_ctx;
		if (fits) {
			free(best);
			best = t;
			best_n = nt;
			best_opens = op;
			best_k = k;
		} else {
			free(t);
		}
		if (iter == 0) {
			if (fits || n_turns <= 1)
				break;
			lo = 1;
			hi = n_turns - 1; /* the turn being answered always stays */
		} else if (fits) {
			if (k == lo)
				break;
			hi = k - 1 < lo ? lo : k - 1;
			if (hi < lo)
				break;
		} else {
			lo = k + 1;
			if (lo > hi)
				break;
		}
	}
	if (!best) {
		/* even alone it leaves less than `reserve`: take it if anything fits */
		json_t *msgs = prompt_messages(chat, hist, n, extra, n_turns ? n_turns - 1 : 0, &n_turns);
		int st = msgs ? srv_chat_prompt(m, msgs, kwargs, &best, &best_n, &best_opens, err, errlen) : 500;
		json_decref(msgs);
		if (st) {
			*code = "template_error";
			return st;
		}
		if (best_n + 1 >= (size_t)n_ctx) {
			free(best);
			*code = "context_length_exceeded";
			snprintf(err, errlen, "the message needs %zu tokens but the context holds %d (raise --ctx)", best_n,
			         n_ctx);
			return 400;
		}
		best_k = n_turns ? n_turns - 1 : 0;
	}
	*toks = best;
	*n_tok = best_n;
	*opens = best_opens;
	*truncated = (int)best_k;
	return 0;
}

/* ---- POST messages / regenerate --------------------------------------------------------- */

static int fail(const char **code, const char *c, char *err, size_t errlen, int status, const char *msg)
{
	*code = c;
	snprintf(err, errlen, "%s", msg);
	return status;
}

/* The model a chat uses: its own, or the server's first. */
static struct srv_model *chat_model(struct srv *s, const hx_chat *chat)
{
	if (chat->model && chat->model[0])
		return srv_find_model(s, chat->model);
	return s->n_models ? &s->models[0] : NULL;
}

int reply_post(struct srv *s, struct hub *h, const hx_chat *chat, const char *content, json_t *over, json_t **resp,
               const char **code, char *err, size_t errlen)
{
	*resp = NULL;
	struct reply *r = hx_calloc(1, sizeof *r);
	if (!r)
		return fail(code, "internal", err, errlen, 500, "out of memory");
	r->s = s;
	r->h = h;
	hub_ref(s, h); /* the reply's own reference */
	/* claim the chat */
	hub_lock(h);
	if (hub_deleted_locked(h) || hub_reply_locked(h)) {
		bool del = hub_deleted_locked(h);
		hub_unlock(h);
		reply_free(r);
		return del ? fail(code, "not_found", err, errlen, 404, "no such chat")
		           : fail(code, "busy", err, errlen, 409,
		                  "the chat is already generating a reply (POST .../stop first)");
	}
	hub_set_reply_locked(h, r);
	hub_unlock(h);

	int st = 0;
	hx_msg *hist = NULL, user = {0}, asst = {0};
	size_t n_hist = 0;
	hearth_token *toks = NULL;
	size_t n_tok = 0;
	bool opens = false, user_added = false, asst_added = false;
	json_t *kwargs = NULL;
	hx_chat upd = {0};
	bool title_set = false;
	int64_t regen_delete = 0;
	const hx_msg *answer = NULL; /* regenerate: the user message answered */

	int rc = hx_msg_all(s->store, HX_STORE_LOCAL_USER, chat->id, chat->context_from, &hist, &n_hist);
	if (rc) {
		st = fail(code, rc == HEARTH_ENOTFOUND ? "not_found" : "store_error", err, errlen,
		          rc == HEARTH_ENOTFOUND ? 404 : 500, hearth_errmsg());
		goto out;
	}
	size_t n_prompt_hist = n_hist;
	if (!content) { /* regenerate */
		if (n_hist >= 1 && hist[n_hist - 1].role == HX_ROLE_USER) {
			answer = &hist[n_hist - 1];
			n_prompt_hist = n_hist - 1;
		} else if (n_hist >= 2 && hist[n_hist - 1].role == HX_ROLE_ASSISTANT &&
		           hist[n_hist - 2].role == HX_ROLE_USER) {
			answer = &hist[n_hist - 2];
			regen_delete = hist[n_hist - 1].id;
			n_prompt_hist = n_hist - 2;
		} else {
			st = fail(code, "invalid_request", err, errlen, 400, "there is no user message to answer");
			goto out;
		}
		content = answer->content ? answer->content : "";
	}
	bool slash = is_slash(content);

	struct srv_chat_params cp = {.sp = hearth_sampler_default_params()};
	json_error_t je;
	json_t *pj = json_loads(chat->params ? chat->params : "{}", 0, &je);
	if (srv_chat_params_parse(pj, &cp, err, errlen) || (over && srv_chat_params_parse(over, &cp, err, errlen))) {
		json_decref(pj);
		*code = "invalid_request";
		st = 400;
		goto out;
	}
	json_decref(pj);

	if (!slash) {
		struct srv_model *m = chat_model(s, chat);
		if (!m) {
			if (s->n_models == 0)
				st = fail(code, "no_model", err, errlen, 503, "no model is loaded (start hearth serve with -m MODEL)");
			else {
				snprintf(err, errlen, "the chat's model '%.200s' is not served (GET /v1/models lists them)",
				         chat->model);
				*code = "model_not_found";
				st = 400;
			}
			goto out;
		}
		pthread_mutex_lock(&s->mu);
		enum model_state ms = m->state;
		pthread_mutex_unlock(&s->mu);
		if (ms != MS_READY) {
			snprintf(err, errlen, ms == MS_LOADING ? "model '%.100s' is still loading" : "model '%.100s' is not available: %.300s",
			         m->name, m->error);
			*code = ms == MS_LOADING ? "model_loading" : "model_failed";
			st = 503;
			goto out;
		}
		r->m = m;
		if (cp.has_thinking)
			kwargs = json_pack("{s:b}", "enable_thinking", cp.thinking);
		int32_t n_ctx = 0;
		if (pthread_rwlock_tryrdlock(&s->eng_rw) == 0) { /* taken for writing: shutting down */
			n_ctx = m->eng ? hearth_engine_n_ctx(m->eng) : 0;
			pthread_rwlock_unlock(&s->eng_rw);
		}
		if (n_ctx <= 0) {
			st = fail(code, "shutting_down", err, errlen, 503, "the server is shutting down");
			goto out;
		}
		int32_t reserve = cp.max_tokens > 0 ? cp.max_tokens : 256;
		if (reserve > n_ctx / 4)
			reserve = n_ctx / 4;
		if (reserve < 1)
			reserve = 1;
		/* regenerate: hist[n_prompt_hist] is the answered message */
		st = build_prompt(m, n_ctx, chat, hist, answer ? n_prompt_hist + 1 : n_hist, answer ? NULL : content, kwargs,
		                  reserve, &toks, &n_tok, &opens, &r->truncated, code, err, errlen);
		if (st)
			goto out;
	}

	/* store: the user message, the title, the streaming reply */
	if (!answer) {
		bool first = !slash;
		for (size_t i = 0; i < n_hist && first; i++) /* slash commands give no title */
			first = hist[i].role != HX_ROLE_USER || is_slash(hist[i].content);
		user.chat_id = chat->id;
		user.role = HX_ROLE_USER;
		user.status = HX_MSG_COMPLETE;
		user.content = (char *)content;
		if ((rc = hx_msg_add(s->store, HX_STORE_LOCAL_USER, &user))) {
			user.content = NULL;
			st = fail(code, rc == HEARTH_ENOTFOUND ? "not_found" : "store_error", err, errlen,
			          rc == HEARTH_ENOTFOUND ? 404 : rc == HEARTH_EINVAL ? 400 : 500, hearth_errmsg());
			goto out;
		}
		user_added = true;
		if (first && chat->title && strcmp(chat->title, "New chat") == 0) {
			upd.title = hx_title_from_text(content);
			if (upd.title && hx_chat_update(s->store, HX_STORE_LOCAL_USER, chat->id, &upd, false) == 0)
				title_set = true;
		}
	} else {
		user = *answer;
	}
	asst.chat_id = chat->id;
	asst.role = HX_ROLE_ASSISTANT;
	asst.status = HX_MSG_STREAMING;
	asst.content = (char *)"";
	asst.reasoning = (char *)"";
	asst.model = slash ? (char *)"hearth" : r->m->name;
	asst.error = (char *)"";
	if ((rc = hx_msg_add(s->store, HX_STORE_LOCAL_USER, &asst))) {
		memset(&asst, 0, sizeof asst);
		st = fail(code, "store_error", err, errlen, 500, hearth_errmsg());
		goto out;
	}
	asst_added = true;
	r->msg.id = asst.id;
	r->msg.chat_id = chat->id;
	r->msg.role = HX_ROLE_ASSISTANT;
	r->msg.created_ms = asst.created_ms;
	r->msg.model = hx_strdup(asst.model);
	asst.content = asst.reasoning = asst.model = asst.error = NULL;
	if (!r->msg.model) {
		st = fail(code, "internal", err, errlen, 500, "out of memory");
		goto out;
	}

	/* the events and the submission, under the hub's lock */
	hx_msg am = {.id = r->msg.id, .chat_id = chat->id, .role = HX_ROLE_ASSISTANT, .status = HX_MSG_STREAMING,
	             .content = (char *)"", .reasoning = (char *)"", .model = r->msg.model, .error = (char *)"",
	             .created_ms = r->msg.created_ms};
	json_t *amj = native_msg_json(&am, false), *umj = native_msg_json(&user, false);
	json_t *start = json_pack("{s:O*}", "message", amj);
	if (start && !answer)
		json_object_set(start, "user_message", umj);
	json_t *chat_ev = NULL;
	if (title_set) {
		hx_chat cur = {0};
		if (hx_chat_get(s->store, HX_STORE_LOCAL_USER, chat->id, &cur) == 0)
			chat_ev = json_pack("{s:o*}", "chat", native_chat_json(s, &cur, 1));
		hx_chat_clear(&cur);
	}
	*resp = answer ? json_pack("{s:O*}", "assistant_message", amj)
	               : json_pack("{s:O*, s:O*}", "user_message", umj, "assistant_message", amj);
	json_decref(amj);
	json_decref(umj);
	if (!start || !*resp) {
		json_decref(start);
		json_decref(chat_ev);
		st = fail(code, "internal", err, errlen, 500, "out of memory");
		goto out;
	}
	if (start && regen_delete)
		json_object_set_new(start, "replaces", json_integer(regen_delete));
	hub_lock(h);
	/* a DELETE that came while this request was storing its messages wins */
	rc = hub_deleted_locked(h) ? HEARTH_ENOTFOUND : hub_begin_reply_locked(h, r->msg.id, start);
	if (rc == HEARTH_ENOTFOUND)
		json_decref(start);
	if (!rc && chat_ev) {
		hub_emit_locked(h, "chat", chat_ev);
		chat_ev = NULL;
	}
	if (!rc && !slash) {
		hearth_gen_request req = hearth_gen_request_default();
		req.prompt = toks;
		req.n_prompt = n_tok;
		req.sampler = cp.sp;
		req.max_tokens = cp.max_tokens;
		req.ignore_eog = cp.ignore_eos;
		req.reasoning = true;
		req.start_in_reasoning = opens;
		req.callback = reply_cb;
		req.user = r;
		if (pthread_rwlock_tryrdlock(&s->eng_rw) == 0) { /* taken for writing: shutting down */
			rc = r->m->eng ? hearth_engine_submit(r->m->eng, &req, &r->eng_id) : HEARTH_ECANCELED;
			pthread_rwlock_unlock(&s->eng_rw);
		} else {
			rc = HEARTH_ECANCELED;
		}
		if (rc) {
			hub_abort_reply_locked(h);
		} else {
			r->submitted = true;
			r->t_submit = hx_time_s();
		}
		if (!rc && (r->stop_req || r->shutdown))
			cancel_locked(s, r);
	}
	/* regenerate: other tabs drop the reply being replaced */
	if (!rc && regen_delete)
		hub_emit_locked(h, "deleted", json_pack("{s:I}", "message_id", (json_int_t)regen_delete));
	hub_unlock(h);
	json_decref(chat_ev);
	if (rc) {
		if (rc == HEARTH_ENOTFOUND)
			st = fail(code, "not_found", err, errlen, 404, "no such chat (it was deleted)");
		else if (rc == HEARTH_ELIMIT)
			st = fail(code, "busy", err, errlen, 503, hearth_errmsg());
		else if (rc == HEARTH_ECTXFULL)
			st = fail(code, "context_length_exceeded", err, errlen, 400, hearth_errmsg());
		else if (rc == HEARTH_ECANCELED)
			st = fail(code, "shutting_down", err, errlen, 503, "the server is shutting down");
		else
			st = fail(code, "internal", err, errlen, 500, hearth_errmsg());
		goto out;
	}
	/* regenerate: the old reply goes once the new one is under way (before a
	 * slash command runs, so /status counts what is left) */
	if (regen_delete && hx_msg_delete(s->store, HX_STORE_LOCAL_USER, regen_delete))
		fprintf(stderr, "hearth serve: deleting the regenerated message %" PRId64 ": %s\n", regen_delete,
		        hearth_errmsg());
	if (slash) {
		bool is_err = false, changed = false;
		char *text = slash_run(s, chat, content, user.id, r->msg.id, &is_err, &changed);
		json_t *cj = NULL;
		if (changed) {
			hx_chat cur = {0};
			if (hx_chat_get(s->store, HX_STORE_LOCAL_USER, chat->id, &cur) == 0)
				cj = json_pack("{s:o*}", "chat", native_chat_json(s, &cur, 1));
			hx_chat_clear(&cur);
		}
		hub_lock(h);
		if (cj)
			hub_emit_locked(h, "chat", cj);
		if (!text || hx_sbuf_str(&r->content, text)) {
			r->finish = HEARTH_FINISH_ERROR;
			snprintf(r->errmsg, sizeof r->errmsg, "out of memory");
		} else {
			hub_emit_locked(h, "delta",
			                json_pack("{s:I, s:s}", "message_id", (json_int_t)r->msg.id, "content", text));
			r->finish = is_err ? HEARTH_FINISH_ERROR : HEARTH_FINISH_STOP;
			if (is_err)
				snprintf(r->errmsg, sizeof r->errmsg, "%s", "the command failed");
		}
		r->eng_done = true;
		hub_unlock(h);
		free(text);
		int64_t aid = r->msg.id;
		reply_finish(r); /* frees r and its hub reference */
		r = NULL;
		/* the reply is complete already: answer with its final state */
		hx_msg fin = {0};
		if (hx_msg_get(s->store, HX_STORE_LOCAL_USER, aid, &fin) == 0) {
			json_t *fj = native_msg_json(&fin, true);
			if (fj)
				json_object_set_new(*resp, "assistant_message", fj);
		}
		hx_msg_clear(&fin);
	}
	st = 202;
out:
	if (st != 202) {
		if (title_set) {
			hx_chat back = {.title = (char *)"New chat"};
			hx_chat_update(s->store, HX_STORE_LOCAL_USER, chat->id, &back, false);
		}
		if (asst_added)
			hx_msg_delete(s->store, HX_STORE_LOCAL_USER, asst.id);
		if (user_added)
			hx_msg_delete(s->store, HX_STORE_LOCAL_USER, user.id);
		json_decref(*resp);
		*resp = NULL;
		hub_lock(h);
		hub_set_reply_locked(h, NULL);
		hub_unlock(h);
		reply_free(r);
	}
	if (!answer) {
		user.content = NULL; /* borrowed */
		hx_msg_clear(&user);
	}
	hx_msg_clear(&asst);
	hx_msg_list_free(hist, n_hist);
	free(upd.title);
	free(toks);
	json_decref(kwargs);
	return st;
}
