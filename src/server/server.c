/*
 * server.c - `hearth serve`: HTTP on libmicrohttpd (one thread per connection),
 * one generation engine per model, OpenAI-compatible routes, dispatch, start-up
 * and shutdown.
 *
 * Routes:
 *   GET  /health               200 {"status":"ok"} when every model is ready;
 *                              503 with "loading" / "error" / "no model" and detail
 *   GET  /v1/models            the ready models
 *   POST /v1/chat/completions  chat (template-rendered), streaming (SSE) or not
 *   POST /v1/completions       raw prompt (text or token ids), streaming or not
 *   GET  /api/status           models, load state, slots, queue, tokens/s, memory
 *   GET  /metrics              Prometheus text
 *   POST /api/chat, GET /api/tags  Ollama-compatible chat (NDJSON) and model list
 *   /api/chats..., /api/search     the native chat API with stored history (native.c)
 *   any other GET                   the embedded web UI (web.c)
 *
 * What it accepts: a Host header naming a loopback address or the bind address
 * (DNS-rebinding protection: anything else is 403); bodies up to max_body bytes
 * (413, also for chunked bodies); CORS headers only for the one --cors-origin
 * (never a wildcard, foreign origins never echoed); JSON validated field by field (request.c;
 * 400 with an OpenAI-style error body).  MHD itself answers 431 for an oversized
 * header section, 414 for an oversized URI and 400 for malformed framing.
 * Slow or silent connections are dropped after timeout_s.  More requests than
 * slots wait in the engine's queue; beyond its bound: 503 with Retry-After.
 *
 * Streaming: the engine callback (engine thread) formats SSE events into the
 * request's buffer; the connection thread's content reader sends them, or a
 * ": keep-alive" comment after keepalive_s of silence.  When the client goes
 * away MHD fails the write and frees the response, whose free callback cancels
 * the generation (within about one token).  Non-streaming requests poll their
 * socket while they wait, for the same effect.
 */
#include "server/srvint.h"
#include "server/web.h"
#include "util/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define STREAM_BUF_MAX (8u << 20) /* unsent SSE bytes before a stuck client is cancelled */

static const double k_ttft_b[HIST_N - 1] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
static const double k_tok_b[HIST_N - 1] = {0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2};

/* One generation, shared by the connection thread and the engine thread. */
struct gen {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int refs;
	struct srv *srv;
	struct srv_model *m;
	uint64_t id;
	bool chat, stream, include_usage;
	bool ollama;      /* Ollama /api/chat: NDJSON lines instead of SSE */
	char cid[40];
	time_t created;
	hx_sbuf out;   /* stream: SSE bytes not yet sent */
	size_t out_pos;
	hx_sbuf content, reasoning; /* non-stream: the whole answer */
	bool done, overflow, timed_out;
	double deadline;  /* hx_time_s() after which the generation is cancelled; 0: none */
	enum hearth_finish finish;
	int error;
	char msg[256];
	hearth_gen_stats st;
};

static void gen_release(struct gen *g)
{
	pthread_mutex_lock(&g->mu);
	int left = --g->refs;
	pthread_mutex_unlock(&g->mu);
	if (left)
		return;
	free(g->out.p);
	free(g->content.p);
	free(g->reasoning.p);
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
	free(g);
}

static void hist_add(struct hist *h, double v)
{
	int i = 0;
	while (i < HIST_N - 1 && v > h->bounds[i])
		i++;
	h->counts[i]++;
	h->sum += v;
	h->n++;
}

/* ---- responses ------------------------------------------------------------------- */

/* CORS: only the configured origin is ever named; never a wildcard. */
void srv_add_cors(const struct conn *cn, struct MHD_Response *r)
{
	if (!cn->cors)
		return;
	MHD_add_response_header(r, "Access-Control-Allow-Origin", cn->srv->cfg.cors_origin);
	MHD_add_response_header(r, "Vary", "Origin");
}

enum MHD_Result srv_send_text(struct conn *cn, struct MHD_Connection *c, int status, const char *ctype,
                                 const char *text, size_t len, const char *retry_after)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", ctype);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (retry_after)
		MHD_add_response_header(r, "Retry-After", retry_after);
	srv_add_cors(cn, r);
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	cn->status = status;
	return ret;
}

enum MHD_Result srv_send_json(struct conn *cn, struct MHD_Connection *c, int status, json_t *j,
                                 const char *retry_after)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!s)
		return srv_send_text(cn, c, 500, "text/plain", "out of memory\n", 14, NULL);
	enum MHD_Result ret = srv_send_text(cn, c, status, "application/json", s, strlen(s), retry_after);
	free(s);
	return ret;
}

static const char *err_type(int status)
{
	switch (status) {
	case 400:
	case 404:
	case 405:
	case 413:
		return "invalid_request_error";
	case 401:
	case 403:
		return "authentication_error";
	case 503:
		return "server_unavailable";
	default:
		return "server_error";
	}
}

enum MHD_Result srv_send_error(struct conn *cn, struct MHD_Connection *c, int status, const char *code,
                                  const char *msg)
{
	json_t *j = json_pack("{s:{s:s, s:s, s:s?}}", "error", "message", msg, "type", err_type(status), "code", code);
	if (!j) /* the message was not UTF-8 */
		j = json_pack("{s:{s:s, s:s}}", "error", "message", "invalid request", "type", err_type(status));
	return srv_send_json(cn, c, status, j, status == 503 && code && strcmp(code, "busy") == 0 ? "1" : NULL);
}

/* ---- models ---------------------------------------------------------------------- */

static bool has_token(void *user, const char *tok) { return hearth_vocab_find(user, tok, strlen(tok)) >= 0; }

static char *token_str(const hearth_vocab *v, int32_t id)
{
	hearth_str s = id >= 0 ? hearth_vocab_token_text(v, id) : (hearth_str){NULL, 0};
	return hx_strndup(s.ptr ? s.ptr : "", s.ptr ? (size_t)s.len : 0);
}

/* Loads one model (on the loader thread); records the failure reason. */
static void model_load(struct srv *s, struct srv_model *m)
{
	hearth_model_file mf = {0};
	hearth_model_dirs dirs = {.models_dir = s->cfg.models_dir, .hf_cache = NULL};
	int rc = hearth_model_resolve(m->arg, &dirs, HEARTH_RESOLVE_PATHS, &mf);
	hearth_model *model = NULL;
	hearth_vocab *vocab = NULL;
	hearth_engine *eng = NULL;
	hearth_chat_template *tmpl = NULL;
	char *bos = NULL, *eos = NULL;
	if (rc)
		goto fail;
	hearth_model_params mp = hearth_model_default_params();
	mp.n_threads = s->cfg.n_threads;
	if ((rc = hearth_model_load(mf.path, &mp, &model)) ||
	    (rc = hearth_vocab_load(hearth_model_gguf(model), &vocab)))
		goto fail;
	hearth_str src;
	if (hearth_gguf_get_str(hearth_model_gguf(model), "tokenizer.chat_template", &src) == 0 && src.len > 0) {
		rc = hearth_chat_template_parse(src.ptr, (size_t)src.len, "chat template", NULL, &tmpl);
	} else {
		const char *bn = hearth_chat_detect_builtin_fn(has_token, vocab);
		const char *b = hearth_chat_builtin_template(bn);
		rc = b ? hearth_chat_template_parse(b, strlen(b), bn, NULL, &tmpl) : HEARTH_ENOTFOUND;
	}
	if (rc)
		goto fail;
	bos = token_str(vocab, hearth_vocab_bos(vocab));
	eos = token_str(vocab, hearth_vocab_eos(vocab));
	if (!bos || !eos) {
		rc = HEARTH_ENOMEM;
		goto fail;
	}
	hearth_engine_params ep = hearth_engine_default_params();
	ep.n_slots = s->cfg.parallel;
	ep.n_ctx = s->cfg.n_ctx;
	ep.kv_type = s->cfg.kv_type;
	ep.n_threads = s->cfg.n_threads;
	ep.max_queue = s->cfg.max_queue;
	if ((rc = hearth_engine_create(model, vocab, &ep, &eng)))
		goto fail;
	pthread_mutex_lock(&s->mu);
	m->path = hx_strdup(mf.path);
	m->model = model;
	m->vocab = vocab;
	m->tmpl = tmpl;
	m->bos = bos;
	m->eos = eos;
	m->eng = eng;
	m->created = time(NULL);
	m->state = MS_READY;
	pthread_mutex_unlock(&s->mu);
	hearth_model_file_clear(&mf);
	return;
fail:
	pthread_mutex_lock(&s->mu);
	snprintf(m->error, sizeof m->error, "%s: %s", m->arg, hearth_errmsg()[0] ? hearth_errmsg() : hearth_strerror(rc));
	m->state = MS_FAILED;
	pthread_mutex_unlock(&s->mu);
	fprintf(stderr, "hearth serve: model '%s' failed to load: %s\n", m->name, m->error);
	hearth_engine_free(eng);
	hearth_chat_template_free(tmpl);
	free(bos);
	free(eos);
	hearth_vocab_free(vocab);
	hearth_model_free(model);
	hearth_model_file_clear(&mf);
}

static void *loader_main(void *arg)
{
	struct srv *s = arg;
	for (int i = 0; i < s->n_models; i++) {
		model_load(s, &s->models[i]);
		if (s->models[i].state == MS_READY)
			fprintf(stderr, "hearth serve: model '%s' ready (%s)\n", s->models[i].name, s->models[i].path);
	}
	return NULL;
}

/* Finds the model a request names (NULL name: the only model). */
struct srv_model *srv_find_model(struct srv *s, const char *name)
{
	if (!name || !name[0])
		return s->n_models == 1 ? &s->models[0] : NULL;
	for (int i = 0; i < s->n_models; i++)
		if (strcmp(s->models[i].name, name) == 0)
			return &s->models[i];
	return NULL;
}

/* ---- generation events ------------------------------------------------------------ */

static void sse_json(struct gen *g, json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!s) {
		g->overflow = true;
		return;
	}
	if (hx_sbuf_str(&g->out, "data: ") || hx_sbuf_str(&g->out, s) || hx_sbuf_str(&g->out, "\n\n"))
		g->overflow = true;
	free(s);
}

static json_t *chunk(struct gen *g, json_t *delta_or_text, const char *finish)
{
	json_t *choice = json_pack("{s:i}", "index", 0);
	if (g->chat)
		json_object_set_new(choice, "delta", delta_or_text);
	else
		json_object_set_new(choice, "text", delta_or_text);
	json_object_set_new(choice, "finish_reason", finish ? json_string(finish) : json_null());
	return json_pack("{s:s, s:s, s:I, s:s, s:[o]}", "id", g->cid, "object",
	                 g->chat ? "chat.completion.chunk" : "text_completion", "created", (json_int_t)g->created,
	                 "model", g->m->name, "choices", choice);
}

static json_t *timings(const hearth_gen_stats *st)
{
	int32_t n_eval = st->n_prompt - st->n_cached;
	return json_pack("{s:i, s:f, s:f, s:i, s:f, s:f, s:i, s:f}", "prompt_n", n_eval, "prompt_ms", st->prompt_ms,
	                 "prompt_per_second", st->prompt_ms > 0 ? n_eval * 1e3 / st->prompt_ms : 0.0, "predicted_n",
	                 st->n_gen, "predicted_ms", st->gen_ms, "predicted_per_second",
	                 st->gen_ms > 0 ? st->n_gen * 1e3 / st->gen_ms : 0.0, "cache_n", st->n_cached, "ttft_ms",
	                 st->ttft_ms);
}

static json_t *usage(const hearth_gen_stats *st)
{
	return json_pack("{s:i, s:i, s:i, s:{s:i}}", "prompt_tokens", st->n_prompt, "completion_tokens", st->n_gen,
	                 "total_tokens", st->n_prompt + st->n_gen, "prompt_tokens_details", "cached_tokens",
	                 st->n_cached);
}

static const char *finish_str(enum hearth_finish f)
{
	return f == HEARTH_FINISH_LENGTH ? "length" : "stop";
}

static void nd_json(struct gen *g, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!s || hx_sbuf_str(&g->out, s) || hx_sbuf_str(&g->out, "\n"))
		g->overflow = true;
	free(s);
}

static void iso_time(char *out, size_t len)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char b[32];
	strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%.20s.%06dZ", b, (int)(ts.tv_nsec / 1000) % 1000000);
}

/* An Ollama chat response object (done or not). */
static json_t *ollama_obj(struct gen *g, const char *content, size_t clen, const char *thinking, size_t tlen,
                          bool done)
{
	char ts[48];
	iso_time(ts, sizeof ts);
	json_t *msg = json_pack("{s:s, s:s%}", "role", "assistant", "content", content ? content : "", clen);
	if (thinking && tlen)
		json_object_set_new(msg, "thinking", json_stringn(thinking, tlen));
	json_t *o = json_pack("{s:s, s:s, s:o, s:b}", "model", g->m->name, "created_at", ts, "message", msg, "done", done);
	if (done && o) {
		const hearth_gen_stats *st = &g->st;
		json_object_set_new(o, "done_reason", json_string(finish_str(g->finish)));
		json_object_set_new(o, "total_duration",
		                    json_integer((json_int_t)((st->queue_ms + st->prompt_ms + st->gen_ms) * 1e6)));
		json_object_set_new(o, "prompt_eval_count", json_integer(st->n_prompt));
		json_object_set_new(o, "prompt_eval_duration", json_integer((json_int_t)(st->prompt_ms * 1e6)));
		json_object_set_new(o, "eval_count", json_integer(st->n_gen));
		json_object_set_new(o, "eval_duration", json_integer((json_int_t)(st->gen_ms * 1e6)));
	}
	return o;
}

void srv_note_done(struct srv *s, struct srv_model *m, const hearth_gen_stats *st)
{
	pthread_mutex_lock(&s->mu);
	s->tok_prompt += (uint64_t)st->n_prompt;
	s->tok_cached += (uint64_t)st->n_cached;
	s->tok_gen += (uint64_t)st->n_gen;
	if (st->n_gen > 0)
		hist_add(&s->ttft, st->ttft_ms / 1e3);
	if (st->n_gen > 1 && st->gen_ms > 0) {
		double per = st->gen_ms / 1e3 / (st->n_gen - 1);
		hist_add(&s->tok_lat, per);
		double tps = 1.0 / per;
		m->recent_tps = m->recent_tps > 0 ? 0.7 * m->recent_tps + 0.3 * tps : tps;
	}
	m->n_requests++;
	pthread_mutex_unlock(&s->mu);
}

/* Engine callback (engine thread): quick formatting into the request's buffer. */
static bool gen_cb(const hearth_gen_event *ev, void *user)
{
	struct gen *g = user;
	bool cancel = false;
	pthread_mutex_lock(&g->mu);
	g->st = *ev->stats;
	switch (ev->kind) {
	case HEARTH_GEN_PROMPT:
		if (g->stream && g->chat && !g->ollama)
			sse_json(g, chunk(g, json_pack("{s:s, s:s}", "role", "assistant", "content", ""), NULL));
		break;
	case HEARTH_GEN_CONTENT:
	case HEARTH_GEN_REASONING: {
		bool reason = ev->kind == HEARTH_GEN_REASONING;
		if (g->stream && g->ollama) {
			nd_json(g, reason ? ollama_obj(g, "", 0, ev->text, ev->len, false)
			                  : ollama_obj(g, ev->text, ev->len, NULL, 0, false));
		} else if (g->stream) {
			json_t *t = json_stringn(ev->text, ev->len);
			if (g->chat)
				sse_json(g, chunk(g, json_pack("{s:o}", reason ? "reasoning_content" : "content", t), NULL));
			else if (!reason)
				sse_json(g, chunk(g, t, NULL));
			else
				json_decref(t);
		} else if (hx_sbuf_add(reason ? &g->reasoning : &g->content, ev->text, ev->len)) {
			g->overflow = true;
		}
		break;
	}
	case HEARTH_GEN_DONE:
		g->done = true;
		g->finish = ev->finish;
		g->error = ev->error;
		snprintf(g->msg, sizeof g->msg, "%s", ev->message);
		if (g->stream && g->ollama) {
			if (ev->finish == HEARTH_FINISH_ERROR || (ev->finish == HEARTH_FINISH_CANCELED && g->timed_out))
				nd_json(g, json_pack("{s:s}", "error", g->timed_out ? "request timed out" : g->msg));
			else
				nd_json(g, ollama_obj(g, "", 0, NULL, 0, true));
		} else if (g->stream) {
			if (ev->finish == HEARTH_FINISH_CANCELED && g->timed_out) {
				sse_json(g, json_pack("{s:{s:s, s:s, s:s}}", "error", "message",
				                      "the request took longer than the server's --request-timeout", "type",
				                      "timeout", "code", "timeout"));
			} else if (ev->finish == HEARTH_FINISH_ERROR) {
				sse_json(g, json_pack("{s:{s:s, s:s}}", "error", "message", g->msg[0] ? g->msg : "generation failed",
				                      "type", "server_error"));
			} else {
				json_t *c = chunk(g, g->chat ? json_object() : json_string(""), finish_str(ev->finish));
				json_object_set_new(c, "timings", timings(ev->stats));
				sse_json(g, c);
				if (g->include_usage) {
					json_t *u = json_pack("{s:s, s:s, s:I, s:s, s:[], s:o}", "id", g->cid, "object",
					                      g->chat ? "chat.completion.chunk" : "text_completion", "created",
					                      (json_int_t)g->created, "model", g->m->name, "choices", "usage",
					                      usage(ev->stats));
					sse_json(g, u);
				}
			}
			if (hx_sbuf_str(&g->out, "data: [DONE]\n\n"))
				g->overflow = true;
		}
		break;
	}
	if (g->out.len - g->out_pos > STREAM_BUF_MAX)
		g->overflow = true; /* the client is not reading */
	if (g->deadline > 0 && !g->done && hx_time_s() > g->deadline)
		g->timed_out = true;
	cancel = (g->overflow || g->timed_out) && !g->done;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);

	if (ev->kind == HEARTH_GEN_DONE) {
		srv_note_done(g->srv, g->m, ev->stats);
		gen_release(g); /* the engine's reference */
	}
	return cancel;
}

/* ---- streaming response ----------------------------------------------------------- */

static ssize_t stream_reader(void *cls, uint64_t pos, char *out, size_t max)
{
	struct gen *g = cls;
	(void)pos;
	pthread_mutex_lock(&g->mu);
	struct timespec deadline;
	srv_deadline(&deadline, g->srv->cfg.keepalive_s);
	while (g->out_pos == g->out.len && !g->done) {
		if (pthread_cond_timedwait(&g->cv, &g->mu, &deadline) == ETIMEDOUT)
			break;
	}
	if (!g->done && !g->timed_out && g->deadline > 0 && hx_time_s() > g->deadline) {
		/* e.g. still queued: no engine event has come to notice it */
		g->timed_out = true;
		pthread_mutex_unlock(&g->mu);
		hearth_engine_cancel(g->m->eng, g->id);
		pthread_mutex_lock(&g->mu);
	}
	ssize_t n;
	if (g->out_pos < g->out.len) {
		size_t k = HX_MIN(max, g->out.len - g->out_pos);
		memcpy(out, g->out.p + g->out_pos, k);
		g->out_pos += k;
		if (g->out_pos == g->out.len)
			g->out_pos = g->out.len = 0;
		n = (ssize_t)k;
	} else if (g->done) {
		n = MHD_CONTENT_READER_END_OF_STREAM;
	} else {
		static const char ka_line[] = ": keep-alive\n\n";
		size_t k = HX_MIN(max, sizeof ka_line - 1);
		memcpy(out, ka_line, k);
		n = (ssize_t)k;
	}
	pthread_mutex_unlock(&g->mu);
	return n;
}

/* Response freed: the stream ended or the client went away. */
static void stream_free(void *cls)
{
	struct gen *g = cls;
	pthread_mutex_lock(&g->mu);
	bool done = g->done;
	pthread_mutex_unlock(&g->mu);
	if (!done)
		hearth_engine_cancel(g->m->eng, g->id);
	gen_release(g);
}

/* ---- non-streaming wait ------------------------------------------------------------ */

/* True when the peer has closed its side of the connection. */
static bool peer_closed(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci)
		return false;
	int fd = ci->connect_fd;
	struct pollfd pfd = {.fd = fd, .events = POLLIN | POLLRDHUP};
	if (poll(&pfd, 1, 0) <= 0)
		return false;
	if (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR))
		return true;
	char b;
	ssize_t r = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	return r == 0;
}

static void wait_done(struct gen *g, struct MHD_Connection *c)
{
	pthread_mutex_lock(&g->mu);
	bool cancelled = false;
	while (!g->done) {
		struct timespec ts;
		srv_deadline(&ts, 0.05);
		pthread_cond_timedwait(&g->cv, &g->mu, &ts);
		if (!g->done && g->deadline > 0 && hx_time_s() > g->deadline)
			g->timed_out = true;
		if (!g->done && !cancelled && (g->timed_out || peer_closed(c))) {
			pthread_mutex_unlock(&g->mu);
			hearth_engine_cancel(g->m->eng, g->id);
			pthread_mutex_lock(&g->mu);
			cancelled = true;
		}
	}
	pthread_mutex_unlock(&g->mu);
}

/* ---- completions -------------------------------------------------------------------- */

int srv_chat_prompt(struct srv_model *m, json_t *messages, json_t *kwargs, hearth_token **toks, size_t *n,
                    bool *opens, char *err, size_t errlen)
{
	char *mj = json_dumps(messages, JSON_COMPACT);
	char *kj = kwargs ? json_dumps(kwargs, JSON_COMPACT) : NULL;
	char *text = NULL;
	size_t len = 0;
	int rc = mj ? hearth_chat_template_render(m->tmpl, mj, kj, true, m->bos, m->eos, &text, &len) : HEARTH_ENOMEM;
	free(mj);
	free(kj);
	if (rc) {
		snprintf(err, errlen, "the chat template failed: %s", hearth_errmsg());
		return rc == HEARTH_ENOMEM ? 500 : 400;
	}
	*opens = hearth_think_prompt_opens(text, len, NULL, NULL);
	const char *tp = text;
	size_t bl = strlen(m->bos);
	if (hearth_vocab_add_bos(m->vocab) && bl && len >= bl && memcmp(tp, m->bos, bl) == 0) {
		tp += bl;
		len -= bl;
	}
	rc = hearth_tokenize_alloc(m->vocab, tp, len, true, true, toks, n);
	free(text);
	if (rc) {
		snprintf(err, errlen, "tokenizer: %s", hearth_errmsg());
		return 500;
	}
	return 0;
}

static void make_id(char *out, size_t len, const char *prefix)
{
	static atomic_uint_fast64_t ctr;
	uint64_t x = (uint64_t)atomic_fetch_add(&ctr, 1) + 1;
	uint64_t t = (uint64_t)hx_time_ns();
	uint64_t h = (t ^ (x * 0x9E3779B97F4A7C15ull)) * 0xBF58476D1CE4E5B9ull;
	snprintf(out, len, "%s%016llx", prefix, (unsigned long long)(h ^ (h >> 31)));
}

static enum MHD_Result handle_generate(struct conn *cn, struct MHD_Connection *c, bool chat, bool ollama)
{
	struct srv *s = cn->srv;
	char err[512];
	json_error_t je;
	json_t *root = json_loadb(cn->body.p ? cn->body.p : "", cn->body.len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		snprintf(err, sizeof err, "the body is not valid JSON: %s (at byte %d)", je.text, je.position);
		return srv_send_error(cn, c, 400, "invalid_json", err);
	}
	if (ollama) {
		json_t *conv = srv_from_ollama(root, err, sizeof err);
		json_decref(root);
		if (!conv)
			return srv_send_error(cn, c, 400, "invalid_request", err);
		root = conv;
	}
	struct srv_params p;
	int st = srv_parse_params(root, chat, &p, err, sizeof err);
	json_decref(root);
	if (st) {
		srv_params_clear(&p);
		return srv_send_error(cn, c, st, "invalid_request", err);
	}
	struct srv_model *m = srv_find_model(s, p.model);
	if (!m) {
		if (p.model)
			snprintf(err, sizeof err, "model '%.200s' does not exist (GET /v1/models lists them)", p.model);
		else
			snprintf(err, sizeof err, s->n_models ? "several models are served: name one in 'model'"
			                                      : "no model is loaded (start hearth serve with -m MODEL)");
		srv_params_clear(&p);
		return srv_send_error(cn, c, s->n_models ? 400 : 503, s->n_models ? "model_not_found" : "no_model", err);
	}
	cn->model_name = m->name;
	pthread_mutex_lock(&s->mu);
	enum model_state ms = m->state;
	pthread_mutex_unlock(&s->mu);
	if (ms != MS_READY) {
		snprintf(err, sizeof err, ms == MS_LOADING ? "model '%.100s' is still loading" : "model '%.100s' failed to load: %.300s",
		         m->name, m->error);
		srv_params_clear(&p);
		return srv_send_error(cn, c, 503, ms == MS_LOADING ? "model_loading" : "model_failed", err);
	}

	/* the prompt */
	hearth_token *toks = NULL;
	size_t n_tok = 0;
	bool opens = false;
	int rc = 0;
	if (chat) {
		int hs = srv_chat_prompt(m, p.messages, p.kwargs, &toks, &n_tok, &opens, err, sizeof err);
		if (hs) {
			srv_params_clear(&p);
			return srv_send_error(cn, c, hs, hs == 400 ? "template_error" : "internal", err);
		}
	} else if (p.prompt) {
		rc = hearth_tokenize_alloc(m->vocab, p.prompt, p.prompt_len, true, true, &toks, &n_tok);
	} else {
		toks = p.prompt_ids;
		n_tok = p.n_prompt_ids;
		p.prompt_ids = NULL;
	}
	if (rc) {
		srv_params_clear(&p);
		return srv_send_error(cn, c, 500, "tokenizer_error", hearth_errmsg());
	}
	cn->n_prompt = (int32_t)n_tok;

	struct gen *g = hx_calloc(1, sizeof *g);
	if (!g) {
		free(toks);
		srv_params_clear(&p);
		return srv_send_error(cn, c, 500, "internal", "out of memory");
	}
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	g->refs = 2; /* the connection and the engine */
	g->srv = s;
	g->m = m;
	g->chat = chat;
	g->stream = p.stream;
	g->include_usage = p.include_usage;
	g->created = time(NULL);
	if (s->cfg.request_timeout_s > 0)
		g->deadline = hx_time_s() + s->cfg.request_timeout_s;
	g->ollama = ollama;
	make_id(g->cid, sizeof g->cid, chat ? "chatcmpl-" : "cmpl-");

	hearth_gen_request req = hearth_gen_request_default();
	req.prompt = toks;
	req.n_prompt = n_tok;
	req.sampler = p.sp;
	req.stops = p.stops;
	req.n_stops = p.n_stops;
	req.max_tokens = p.max_tokens;
	req.reasoning = chat;
	req.start_in_reasoning = chat && opens;
	req.callback = gen_cb;
	req.user = g;
	rc = hearth_engine_submit(m->eng, &req, &g->id);
	free(toks);
	srv_params_clear(&p);
	if (rc) {
		g->refs = 1;
		gen_release(g);
		if (rc == HEARTH_ELIMIT)
			return srv_send_error(cn, c, 503, "busy", hearth_errmsg());
		if (rc == HEARTH_ECTXFULL)
			return srv_send_error(cn, c, 400, "context_length_exceeded", hearth_errmsg());
		if (rc == HEARTH_EINVAL)
			return srv_send_error(cn, c, 400, "invalid_request", hearth_errmsg());
		return srv_send_error(cn, c, 500, "internal", hearth_errmsg());
	}
	cn->gen = g;
	pthread_mutex_lock(&g->mu);
	g->refs++; /* cn->gen keeps one for the log line */
	pthread_mutex_unlock(&g->mu);

	if (g->stream) {
		struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_reader, g,
		                                                            stream_free);
		if (!r) {
			hearth_engine_cancel(m->eng, g->id);
			gen_release(g);
			return MHD_NO;
		}
		return srv_send_stream(cn, c, r, ollama ? "application/x-ndjson" : "text/event-stream");
	}

	wait_done(g, c);
	gen_release(g); /* the connection's reference: cn->gen's stays */
	if (g->finish == HEARTH_FINISH_ERROR)
		return srv_send_error(cn, c, 500, "generation_failed", g->msg[0] ? g->msg : "generation failed");
	if (g->finish == HEARTH_FINISH_CANCELED && g->timed_out)
		return srv_send_error(cn, c, 504, "timeout", "the request took longer than the server's --request-timeout");
	if (g->finish == HEARTH_FINISH_CANCELED)
		return srv_send_error(cn, c, 499, "cancelled", "the request was cancelled");
	if (g->overflow)
		return srv_send_error(cn, c, 500, "internal", "out of memory");
	if (ollama)
		return srv_send_json(cn, c, 200,
		                 ollama_obj(g, g->content.p ? g->content.p : "", g->content.len, g->reasoning.p, g->reasoning.len,
		                            true),
		                 NULL);
	json_t *choice;
	if (chat) {
		json_t *msg = json_pack("{s:s, s:s%}", "role", "assistant", "content", g->content.p ? g->content.p : "",
		                        g->content.len);
		if (g->reasoning.len)
			json_object_set_new(msg, "reasoning_content", json_stringn(g->reasoning.p, g->reasoning.len));
		choice = json_pack("{s:i, s:o, s:s}", "index", 0, "message", msg, "finish_reason", finish_str(g->finish));
	} else {
		choice = json_pack("{s:i, s:s%, s:s}", "index", 0, "text", g->content.p ? g->content.p : "", g->content.len,
		                   "finish_reason", finish_str(g->finish));
	}
	json_t *resp = json_pack("{s:s, s:s, s:I, s:s, s:[o], s:o, s:o}", "id", g->cid, "object",
	                         chat ? "chat.completion" : "text_completion", "created", (json_int_t)g->created,
	                         "model", m->name, "choices", choice, "usage", usage(&g->st), "timings",
	                         timings(&g->st));
	return srv_send_json(cn, c, 200, resp, NULL);
}

/* ---- info routes ---------------------------------------------------------------------- */

enum MHD_Result srv_send_stream(struct conn *cn, struct MHD_Connection *c, struct MHD_Response *r, const char *ctype)
{
	MHD_add_response_header(r, "Content-Type", ctype);
	MHD_add_response_header(r, "Cache-Control", "no-cache");
	MHD_add_response_header(r, "X-Accel-Buffering", "no");
	srv_add_cors(cn, r);
	enum MHD_Result ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	cn->status = 200;
	return ret;
}

void srv_deadline(struct timespec *ts, double secs)
{
	clock_gettime(CLOCK_REALTIME, ts);
	time_t whole = (time_t)secs;
	ts->tv_sec += whole;
	ts->tv_nsec += (long)((secs - (double)whole) * 1e9);
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

const char *srv_model_state_name(enum model_state s)
{
	return s == MS_READY ? "ready" : s == MS_LOADING ? "loading" : "error";
}

static enum MHD_Result handle_health(struct conn *cn, struct MHD_Connection *c)
{
	struct srv *s = cn->srv;
	json_t *models = json_array();
	int ready = 0, loading = 0;
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->n_models; i++) {
		struct srv_model *m = &s->models[i];
		json_t *o = json_pack("{s:s, s:s}", "name", m->name, "status", srv_model_state_name(m->state));
		if (m->state == MS_FAILED)
			json_object_set_new(o, "error", json_string(m->error));
		json_array_append_new(models, o);
		ready += m->state == MS_READY;
		loading += m->state == MS_LOADING;
	}
	pthread_mutex_unlock(&s->mu);
	const char *status, *msg;
	int code = 503;
	if (s->n_models == 0) {
		status = "no model";
		msg = "no model is configured: start hearth serve with -m MODEL";
	} else if (ready == s->n_models) {
		status = "ok";
		msg = "ready";
		code = 200;
	} else if (loading) {
		status = "loading";
		msg = "models are loading";
	} else if (ready) {
		status = "degraded";
		msg = "some models failed to load";
		code = 200;
	} else {
		status = "error";
		msg = "no model could be loaded";
	}
	return srv_send_json(cn, c, code, json_pack("{s:s, s:s, s:o}", "status", status, "message", msg, "models", models),
	                 NULL);
}

static enum MHD_Result handle_models(struct conn *cn, struct MHD_Connection *c)
{
	struct srv *s = cn->srv;
	json_t *data = json_array();
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->n_models; i++) {
		struct srv_model *m = &s->models[i];
		if (m->state != MS_READY)
			continue;
		json_array_append_new(data, json_pack("{s:s, s:s, s:I, s:s, s:{s:i}}", "id", m->name, "object", "model",
		                                      "created", (json_int_t)m->created, "owned_by", "hearth", "meta",
		                                      "n_ctx", hearth_engine_n_ctx(m->eng)));
	}
	pthread_mutex_unlock(&s->mu);
	return srv_send_json(cn, c, 200, json_pack("{s:s, s:o}", "object", "list", "data", data), NULL);
}

/* Ollama's model list. */
static enum MHD_Result handle_tags(struct conn *cn, struct MHD_Connection *c)
{
	struct srv *s = cn->srv;
	json_t *models = json_array();
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->n_models; i++) {
		struct srv_model *m = &s->models[i];
		if (m->state != MS_READY)
			continue;
		json_array_append_new(models, json_pack("{s:s, s:s, s:I, s:{s:s}}", "name", m->name, "model", m->name,
		                                        "size", (json_int_t)hearth_model_weight_bytes(m->model), "details",
		                                        "family", hearth_model_arch(m->model)));
	}
	pthread_mutex_unlock(&s->mu);
	return srv_send_json(cn, c, 200, json_pack("{s:o}", "models", models), NULL);
}

static long rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, rss = 0;
	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = 0;
	fclose(f);
	return rss * sysconf(_SC_PAGESIZE);
}

static enum MHD_Result handle_status(struct conn *cn, struct MHD_Connection *c)
{
	struct srv *s = cn->srv;
	json_t *models = json_array();
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->n_models; i++) {
		struct srv_model *m = &s->models[i];
		json_t *o = json_pack("{s:s, s:s, s:s}", "name", m->name, "state", srv_model_state_name(m->state), "source", m->arg);
		if (m->state == MS_FAILED)
			json_object_set_new(o, "error", json_string(m->error));
		if (m->state == MS_READY) {
			hearth_engine_stats es;
			hearth_engine_stats_get(m->eng, &es);
			json_object_set_new(o, "path", json_string(m->path));
			json_object_set_new(o, "arch", json_string(hearth_model_arch(m->model)));
			json_object_set_new(o, "weight_bytes", json_integer((json_int_t)hearth_model_weight_bytes(m->model)));
			json_object_set_new(o, "n_ctx", json_integer(es.n_ctx));
			json_object_set_new(o, "slots", json_pack("{s:i, s:i, s:i}", "total", es.n_slots, "busy", es.slots_busy,
			                                          "free", es.n_slots - es.slots_busy));
			json_object_set_new(o, "queue", json_pack("{s:i, s:i}", "length", es.queue_len, "max", es.max_queue));
			json_object_set_new(
			        o, "requests",
			        json_pack("{s:I, s:I, s:I, s:I, s:I}", "submitted", (json_int_t)es.n_submitted, "done",
			                  (json_int_t)es.n_done, "cancelled", (json_int_t)es.n_canceled, "errors",
			                  (json_int_t)es.n_errors, "rejected", (json_int_t)es.n_rejected));
			json_object_set_new(o, "tokens", json_pack("{s:I, s:I, s:I}", "prompt", (json_int_t)es.n_prompt_tokens,
			                                           "cached", (json_int_t)es.n_cached_tokens, "generated",
			                                           (json_int_t)es.n_gen_tokens));
			json_object_set_new(o, "recent_gen_tokens_per_second", json_real(m->recent_tps));
		}
		json_array_append_new(models, o);
	}
	double up = hx_time_s() - s->t_start;
	pthread_mutex_unlock(&s->mu);
	json_t *j = json_pack("{s:s, s:f, s:I, s:I, s:o}", "version", HEARTH_VERSION, "uptime_s", up, "started",
	                      (json_int_t)s->started, "rss_bytes", (json_int_t)rss_bytes(), "models", models);
	return srv_send_json(cn, c, 200, j, NULL);
}

static void prom_hist(hx_sbuf *b, const char *name, const char *help, const struct hist *h)
{
	char line[256];
	snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	hx_sbuf_str(b, line);
	uint64_t cum = 0;
	for (int i = 0; i < HIST_N; i++) {
		cum += h->counts[i];
		if (i < HIST_N - 1)
			snprintf(line, sizeof line, "%s_bucket{le=\"%g\"} %llu\n", name, h->bounds[i], (unsigned long long)cum);
		else
			snprintf(line, sizeof line, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
		hx_sbuf_str(b, line);
	}
	snprintf(line, sizeof line, "%s_sum %.6f\n%s_count %llu\n", name, h->sum, name, (unsigned long long)h->n);
	hx_sbuf_str(b, line);
}

static enum MHD_Result handle_metrics(struct conn *cn, struct MHD_Connection *c)
{
	struct srv *s = cn->srv;
	hx_sbuf b = {0};
	char line[512];
	pthread_mutex_lock(&s->mu);
	hx_sbuf_str(&b, "# HELP hearth_http_requests_total HTTP requests by status class.\n"
	            "# TYPE hearth_http_requests_total counter\n");
	for (int i = 1; i < 6; i++) {
		snprintf(line, sizeof line, "hearth_http_requests_total{code=\"%dxx\"} %llu\n", i,
		         (unsigned long long)s->req_by_status[i]);
		hx_sbuf_str(&b, line);
	}
	snprintf(line, sizeof line,
	         "# HELP hearth_prompt_tokens_total Prompt tokens of finished requests.\n"
	         "# TYPE hearth_prompt_tokens_total counter\nhearth_prompt_tokens_total %llu\n"
	         "# HELP hearth_cached_prompt_tokens_total Prompt tokens reused from the prompt cache.\n"
	         "# TYPE hearth_cached_prompt_tokens_total counter\nhearth_cached_prompt_tokens_total %llu\n"
	         "# HELP hearth_generated_tokens_total Generated tokens.\n"
	         "# TYPE hearth_generated_tokens_total counter\nhearth_generated_tokens_total %llu\n",
	         (unsigned long long)s->tok_prompt, (unsigned long long)s->tok_cached, (unsigned long long)s->tok_gen);
	hx_sbuf_str(&b, line);
	prom_hist(&b, "hearth_time_to_first_token_seconds", "Time from request to first generated token.", &s->ttft);
	prom_hist(&b, "hearth_time_per_output_token_seconds", "Mean time per generated token, per request.",
	          &s->tok_lat);
	hx_sbuf_str(&b, "# HELP hearth_slots Slots per model and state.\n# TYPE hearth_slots gauge\n"
	            "# HELP hearth_queue_length Requests waiting for a slot.\n# TYPE hearth_queue_length gauge\n"
	            "# HELP hearth_model_ready 1 when the model is loaded.\n# TYPE hearth_model_ready gauge\n");
	for (int i = 0; i < s->n_models; i++) {
		struct srv_model *m = &s->models[i];
		snprintf(line, sizeof line, "hearth_model_ready{model=\"%s\"} %d\n", m->name, m->state == MS_READY);
		hx_sbuf_str(&b, line);
		if (m->state != MS_READY)
			continue;
		hearth_engine_stats es;
		hearth_engine_stats_get(m->eng, &es);
		snprintf(line, sizeof line,
		         "hearth_slots{model=\"%s\",state=\"busy\"} %d\nhearth_slots{model=\"%s\",state=\"free\"} %d\n"
		         "hearth_queue_length{model=\"%s\"} %d\n",
		         m->name, es.slots_busy, m->name, es.n_slots - es.slots_busy, m->name, es.queue_len);
		hx_sbuf_str(&b, line);
	}
	pthread_mutex_unlock(&s->mu);
	enum MHD_Result ret = srv_send_text(cn, c, 200, "text/plain; version=0.0.4", b.p ? b.p : "", b.len, NULL);
	free(b.p);
	return ret;
}

/* ---- dispatch ------------------------------------------------------------------------ */

/* Host header check: a loopback name or the bind address, with any port. */
static bool host_ok(const struct srv *s, const char *host)
{
	if (!host)
		return true; /* HTTP/1.0 without Host; MHD rejects HTTP/1.1 without it */
	size_t n = strlen(host);
	if (host[0] == '[') {
		const char *e = strchr(host, ']');
		if (!e)
			return false;
		n = (size_t)(e - host) + 1;
	} else {
		const char *colon = strchr(host, ':');
		if (colon)
			n = (size_t)(colon - host);
	}
	static const char *const ok[] = {"localhost", "127.0.0.1", "[::1]"};
	for (size_t i = 0; i < HX_ARRAY_LEN(ok); i++)
		if (strlen(ok[i]) == n && strncasecmp(host, ok[i], n) == 0)
			return true;
	const char *bind = s->cfg.host;
	return strlen(bind) == n && strncasecmp(host, bind, n) == 0 && strcmp(bind, "0.0.0.0") != 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct srv *s = cls;
	struct conn *cn = *con_cls;
	if (!cn) {
		cn = calloc(1, sizeof *cn);
		if (!cn)
			return MHD_NO;
		cn->srv = s;
		cn->t0 = hx_time_s();
		snprintf(cn->method, sizeof cn->method, "%s", method);
		snprintf(cn->path, sizeof cn->path, "%s", url);
		*con_cls = cn;
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		if (cl) {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(cl, &end, 10);
			if (errno || end == cl || *end)
				return srv_send_error(cn, c, 400, "bad_request", "malformed Content-Length");
			if (v > s->cfg.max_body)
				return srv_send_error(cn, c, 413, "body_too_large", "the request body is too large");
		}
		return MHD_YES;
	}
	if (*upload_size) {
		/* A body may take at most timeout_s in total: trickled or endless
		 * (chunked) bodies are cut off by closing the connection. */
		if (hx_time_s() - cn->t0 > s->cfg.timeout_s)
			return MHD_NO;
		if (!cn->too_large && cn->body.len + *upload_size > s->cfg.max_body) {
			/* Over the cap: drop what we have and discard the rest; the 413
			 * goes out when the body ends (MHD cannot answer mid-upload). */
			cn->too_large = true;
			free(cn->body.p);
			cn->body = (hx_sbuf){0};
		}
		if (!cn->too_large && hx_sbuf_add(&cn->body, upload, *upload_size))
			return MHD_NO;
		*upload_size = 0;
		return MHD_YES;
	}
	if (cn->too_large)
		return srv_send_error(cn, c, 413, "body_too_large", "the request body is too large");

	const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
	if (!host && strcmp(version, MHD_HTTP_VERSION_1_0) != 0)
		return srv_send_error(cn, c, 400, "bad_request", "HTTP/1.1 requests need a Host header");
	if (!host_ok(s, host))
		return srv_send_error(cn, c, 403, "forbidden_host",
		                  "the Host header does not name this server (DNS rebinding protection)");
	const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
	cn->cors = origin && s->cfg.cors_origin && strcmp(origin, s->cfg.cors_origin) == 0;
	if (strcmp(method, "OPTIONS") == 0) {
		/* CORS preflight: answered for the configured origin only */
		if (!cn->cors)
			return srv_send_error(cn, c, 403, "cors_forbidden", "cross-origin requests from this origin are not allowed");
		struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		if (!r)
			return MHD_NO;
		srv_add_cors(cn, r);
		MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE, OPTIONS");
		MHD_add_response_header(r, "Access-Control-Allow-Headers", "Content-Type, Authorization, Last-Event-ID");
		MHD_add_response_header(r, "Access-Control-Max-Age", "600");
		enum MHD_Result ret = MHD_queue_response(c, 204, r);
		MHD_destroy_response(r);
		cn->status = 204;
		return ret;
	}
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	bool post = strcmp(method, "POST") == 0;
	const char *path = url;
	if (strcmp(path, "/health") == 0 || strcmp(path, "/v1/health") == 0) {
		if (!get)
			return srv_send_error(cn, c, 405, "method_not_allowed", "use GET");
		return handle_health(cn, c);
	}
	if (strcmp(path, "/v1/models") == 0 || strcmp(path, "/models") == 0) {
		if (!get)
			return srv_send_error(cn, c, 405, "method_not_allowed", "use GET");
		return handle_models(cn, c);
	}
	if (strcmp(path, "/api/status") == 0) {
		if (!get)
			return srv_send_error(cn, c, 405, "method_not_allowed", "use GET");
		return handle_status(cn, c);
	}
	if (strcmp(path, "/metrics") == 0) {
		if (!get)
			return srv_send_error(cn, c, 405, "method_not_allowed", "use GET");
		return handle_metrics(cn, c);
	}
	bool chat = strcmp(path, "/v1/chat/completions") == 0 || strcmp(path, "/chat/completions") == 0;
	bool compl = strcmp(path, "/v1/completions") == 0 || strcmp(path, "/completions") == 0;
	if (chat || compl) {
		if (!post)
			return srv_send_error(cn, c, 405, "method_not_allowed", "use POST");
		return handle_generate(cn, c, chat, false);
	}
	if (strcmp(path, "/api/chat") == 0) { /* Ollama-compatible */
		if (!post)
			return srv_send_error(cn, c, 405, "method_not_allowed", "use POST");
		return handle_generate(cn, c, true, true);
	}
	if (strcmp(path, "/api/tags") == 0) {
		if (!get)
			return srv_send_error(cn, c, 405, "method_not_allowed", "use GET");
		return handle_tags(cn, c);
	}
	int nr = native_route(cn, c, method, path);
	if (nr >= 0)
		return (enum MHD_Result)nr;
	if (get && strncmp(path, "/api/", 5) != 0 && strncmp(path, "/v1/", 4) != 0) {
		int st = 0, queued = MHD_NO;
		if (srv_web_respond(c, path, strcmp(method, "HEAD") == 0, &st, &queued)) {
			cn->status = st;
			return (enum MHD_Result)queued;
		}
	}
	return srv_send_error(cn, c, 404, "not_found", "no such route");
}

static void json_log_str(FILE *f, const char *k, const char *v)
{
	json_t *s = json_string(v ? v : "");
	char *d = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
	fprintf(f, ",\"%s\":%s", k, d ? d : "\"\"");
	free(d);
	json_decref(s);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct srv *s = cls;
	struct conn *cn = *con_cls;
	(void)c;
	if (!cn)
		return;
	*con_cls = NULL;
	int32_t n_prompt = cn->n_prompt, n_gen = 0, n_cached = 0;
	const char *finish = "";
	if (cn->gen) {
		struct gen *g = cn->gen;
		pthread_mutex_lock(&g->mu);
		if (!g->done) {
			/* The connection ended first (client gone): cancel and wait for
			 * the engine to let go, so the log line tells what happened. */
			pthread_mutex_unlock(&g->mu);
			hearth_engine_cancel(g->m->eng, g->id);
			pthread_mutex_lock(&g->mu);
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 5;
			while (!g->done)
				if (pthread_cond_timedwait(&g->cv, &g->mu, &ts) == ETIMEDOUT)
					break;
		}
		n_prompt = g->st.n_prompt;
		n_gen = g->st.n_gen;
		n_cached = g->st.n_cached;
		finish = g->done ? (g->finish == HEARTH_FINISH_CANCELED ? "cancelled" : hearth_finish_name(g->finish))
		                 : "running";
		pthread_mutex_unlock(&g->mu);
	}
	bool aborted = toe != MHD_REQUEST_TERMINATED_COMPLETED_OK;
	double ms = (hx_time_s() - cn->t0) * 1e3;
	int status = cn->status ? cn->status : 500;
	pthread_mutex_lock(&s->mu);
	s->req_total++;
	if (status >= 100 && status < 600)
		s->req_by_status[status / 100]++;
	pthread_mutex_unlock(&s->mu);
	if (!s->cfg.quiet) {
		char ts[32];
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (s->cfg.log_json) {
			fprintf(stderr, "{\"ts\":\"%s\"", ts);
			json_log_str(stderr, "method", cn->method);
			json_log_str(stderr, "path", cn->path);
			fprintf(stderr, ",\"status\":%d,\"ms\":%.1f", status, ms);
			if (cn->model_name)
				json_log_str(stderr, "model", cn->model_name);
			if (cn->gen)
				fprintf(stderr, ",\"prompt_tokens\":%d,\"cached_tokens\":%d,\"completion_tokens\":%d,\"finish\":\"%s\"",
				        n_prompt, n_cached, n_gen, finish);
			fprintf(stderr, ",\"client_aborted\":%s}\n", aborted ? "true" : "false");
		} else {
			fprintf(stderr, "%s %s %s %d %.1fms", ts, cn->method, cn->path, status, ms);
			if (cn->gen)
				fprintf(stderr, " model=%s prompt=%d cached=%d gen=%d finish=%s", cn->model_name, n_prompt,
				        n_cached, n_gen, finish);
			fprintf(stderr, "%s\n", aborted ? " (client aborted)" : "");
		}
	}
	if (cn->gen)
		gen_release(cn->gen);
	free(cn->body.p);
	free(cn);
}

/* ---- start-up -------------------------------------------------------------------------- */

void srv_config_default(struct srv_config *c)
{
	memset(c, 0, sizeof *c);
	c->host = "127.0.0.1";
	c->port = 8080;
	c->parallel = 4;
	c->kv_type = HEARTH_TYPE_F16;
	c->max_queue = 64;
	c->max_body = 4u << 20;
	c->timeout_s = 30;
	c->keepalive_s = 5;
}

static bool is_loopback(const struct sockaddr_storage *sa)
{
	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
		return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
	}
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)sa;
	return IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
}

static volatile sig_atomic_t g_stop;
static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

/* A model's name: the alias, or the file stem of the argument. */
static char *model_name(const struct srv_model_arg *a)
{
	if (a->alias)
		return hx_strdup(a->alias);
	const char *b = strrchr(a->arg, '/');
	b = b ? b + 1 : a->arg;
	size_t n = strlen(b);
	if (n > 5 && strcmp(b + n - 5, ".gguf") == 0)
		n -= 5;
	return hx_strndup(b, n);
}

/* Opens the chat history database and starts the writer thread. */
static int open_history(struct srv *s)
{
	char *path = NULL;
	int rc = 0;
	if (s->cfg.db_path) {
		path = hx_strdup(s->cfg.db_path);
	} else if (s->cfg.data_dir) {
		size_t n = strlen(s->cfg.data_dir) + 16;
		path = hx_malloc(n);
		if (path)
			snprintf(path, n, "%s/hearth.db", s->cfg.data_dir);
	} else {
		rc = hx_store_default_path(&path);
	}
	if (!rc && !path)
		rc = HEARTH_ENOMEM;
	if (!rc)
		rc = hx_store_open(path, &s->store);
	if (rc) {
		fprintf(stderr, "error: cannot open the chat history database %s: %s\n(choose another with --db FILE or "
		                "--data-dir DIR, or run without history: --no-history)\n",
		        path ? path : "", hearth_errmsg()[0] ? hearth_errmsg() : hearth_strerror(rc));
		free(path);
		return 1;
	}
	fprintf(stderr, "hearth serve: chat history in %s\n", path);
	free(path);
	if (reply_start_writer(s)) {
		fprintf(stderr, "error: cannot start the history writer thread\n");
		hx_store_close(s->store);
		s->store = NULL;
		return 1;
	}
	return 0;
}

int srv_main(const struct srv_config *cfg)
{
	struct srv *s = calloc(1, sizeof *s);
	if (!s)
		return 1;
	s->cfg = *cfg;
	pthread_mutex_init(&s->mu, NULL);
	pthread_rwlock_init(&s->eng_rw, NULL);
	pthread_mutex_init(&s->hub_mu, NULL);
	pthread_mutex_init(&s->wr_mu, NULL);
	pthread_cond_init(&s->wr_cv, NULL);
	s->ttft.bounds = k_ttft_b;
	s->tok_lat.bounds = k_tok_b;
	s->started = time(NULL);
	s->t_start = hx_time_s();

	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	socklen_t sl;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	const char *h = cfg->host;
	if (strcmp(h, "localhost") == 0)
		h = "127.0.0.1";
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC;
	if (inet_pton(AF_INET, h, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)cfg->port);
		sl = sizeof *a4;
	} else if (inet_pton(AF_INET6, h, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)cfg->port);
		sl = sizeof *a6;
		flags |= MHD_USE_IPv6;
	} else {
		fprintf(stderr, "error: --host '%s' is not a numeric IPv4 or IPv6 address\n", cfg->host);
		free(s);
		return 1;
	}
	(void)sl;
	if (!is_loopback(&ss)) {
		if (!cfg->insecure_public) {
			fprintf(stderr,
			        "error: refusing to listen on %s: it is reachable from other machines and hearth has no "
			        "authentication yet.  Bind to 127.0.0.1 (the default), or pass --insecure-public if you "
			        "really want an open server.\n",
			        cfg->host);
			free(s);
			return 1;
		}
		fprintf(stderr, "WARNING: listening on %s WITHOUT AUTHENTICATION (--insecure-public): anyone who can "
		                "reach this port can use the models.\n",
		        cfg->host);
	}

	for (int i = 0; i < cfg->n_models; i++) {
		struct srv_model *m = &s->models[i];
		m->arg = hx_strdup(cfg->models[i].arg);
		m->name = model_name(&cfg->models[i]);
		m->state = MS_LOADING;
		for (int k = 0; k < i; k++)
			if (m->name && strcmp(s->models[k].name, m->name) == 0) {
				fprintf(stderr, "error: two models are named '%s': give one an --alias\n", m->name);
				return 1;
			}
	}
	s->n_models = cfg->n_models;

	if (!cfg->no_history && open_history(s))
		return 1;

	s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	                        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_CONNECTION_TIMEOUT,
	                        (unsigned)cfg->timeout_s, MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
	                        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_END);
	if (!s->d) {
		fprintf(stderr, "error: cannot listen on %s port %d: %s\n", cfg->host, cfg->port, strerror(errno));
		return 1;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di ? di->port : (unsigned short)cfg->port;
	fprintf(stderr, "hearth serve: listening on http://%s%s%s:%u/ (%d model%s)\n", ss.ss_family == AF_INET6 ? "[" : "",
	        cfg->host, ss.ss_family == AF_INET6 ? "]" : "", s->port, s->n_models, s->n_models == 1 ? "" : "s");
	if (s->n_models == 0)
		fprintf(stderr, "hearth serve: no model given (-m MODEL): /health says so and generation returns 503\n");

	pthread_t loader;
	bool loader_started = pthread_create(&loader, NULL, loader_main, s) == 0;
	if (!loader_started)
		loader_main(s);

	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!g_stop)
		pause();
	fprintf(stderr, "hearth serve: shutting down\n");
	if (loader_started)
		pthread_join(loader, NULL);
	/* Stop accepting, refuse new generations, then free the engines: that
	 * cancels every generation, so streaming connections end and MHD can stop. */
	MHD_quiesce_daemon(s->d);
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->n_models; i++) {
		struct srv_model *m = &s->models[i];
		if (m->state == MS_READY) {
			m->state = MS_FAILED;
			snprintf(m->error, sizeof m->error, "the server is shutting down");
		}
	}
	pthread_mutex_unlock(&s->mu);
	/* native replies: cancelled first so they are saved as "stopped" */
	reply_cancel_all(s);
	pthread_rwlock_wrlock(&s->eng_rw);
	for (int i = 0; i < s->n_models; i++) {
		hearth_engine_free(s->models[i].eng);
		s->models[i].eng = NULL;
	}
	pthread_rwlock_unlock(&s->eng_rw);
	reply_shutdown(s); /* the writer saves what is left, then exits */
	hub_close_all(s, 2); /* event streams end */
	MHD_stop_daemon(s->d);
	hub_free_all(s);
	if (s->store)
		hx_store_close(s->store);
	for (int i = 0; i < s->n_models; i++) {
		struct srv_model *m = &s->models[i];
		hearth_chat_template_free(m->tmpl);
		hearth_vocab_free(m->vocab);
		hearth_model_free(m->model);
		free(m->bos);
		free(m->eos);
		free(m->name);
		free(m->arg);
		free(m->path);
	}
	pthread_mutex_destroy(&s->mu);
	pthread_rwlock_destroy(&s->eng_rw);
	pthread_mutex_destroy(&s->hub_mu);
	pthread_mutex_destroy(&s->wr_mu);
	pthread_cond_destroy(&s->wr_cv);
	free(s);
	return 0;
}
