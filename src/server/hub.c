/*
 * hub.c - one event hub per chat for the native API's SSE stream
 * (GET /api/chats/{id}/events, docs/native-api.md "Events").
 *
 * A hub holds an in-memory log of formatted SSE frames ("id: R.S\nevent:
 * E\ndata: {...}\n\n"): the previous reply's frames and the current one's (the
 * log is trimmed when a reply starts), plus `chat` events, which take the next
 * seq of the latest reply so every id is unique.  Writers (the engine callback,
 * the writer thread, request handlers) append under the hub's mutex and
 * broadcast its condition variable; each subscriber is an MHD content reader on
 * its connection's thread that keeps an absolute position in the log, so all of
 * them send the same bytes, a late one replays the current reply from its
 * `start`, and Last-Event-ID resumes right after the frame it names.  A
 * subscriber never holds anything up: one that falls behind the trimmed part of
 * the log gets a `resync` event and continues with the current reply.
 * Subscribers leaving never cancel a generation.  Idle hubs (no subscriber, no
 * reply) are freed 5 minutes after their last event.
 */
#include "server/srvint.h"
#include "util/util.h"

#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <time.h>

#define HUB_IDLE_S 300.0
#define SUBS_MAX 256 /* event streams open at once (each holds a connection and its thread) */

struct frame {
	int64_t reply;
	uint32_t seq;
	char *text;
	size_t len;
};

struct hub {
	struct hub *next;
	struct srv *srv;
	int64_t chat_id;
	int refs; /* under srv.hub_mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct frame *fr;
	size_t n_fr, cap_fr;
	uint64_t base;      /* absolute index of fr[0] */
	uint64_t cur_start; /* absolute index of the latest reply's start frame */
	bool has_reply;     /* a reply has started in this hub's life */
	bool live;          /* ... and is still being generated */
	int64_t reply_id;   /* the latest reply's id (0: none yet) */
	uint32_t seq;       /* the next seq */
	struct reply *reply;
	bool deleted, closed;
	double last_active;
	struct { /* state before hub_begin_reply_locked, for hub_abort_reply_locked */
		size_t n_fr;
		uint64_t cur_start;
		bool has_reply;
		int64_t reply_id;
		uint32_t seq;
	} save;
};

static void hub_free(struct hub *h)
{
	for (size_t i = 0; i < h->n_fr; i++)
		free(h->fr[i].text);
	free(h->fr);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

struct hub *hub_get(struct srv *s, int64_t chat_id, bool create)
{
	pthread_mutex_lock(&s->hub_mu);
	struct hub *h = s->hubs;
	while (h && h->chat_id != chat_id)
		h = h->next;
	if (!h && create && !s->stopping) {
		h = hx_calloc(1, sizeof *h);
		if (h) {
			h->srv = s;
			h->chat_id = chat_id;
			pthread_mutex_init(&h->mu, NULL);
			pthread_cond_init(&h->cv, NULL);
			h->last_active = hx_time_s();
			h->next = s->hubs;
			s->hubs = h;
		}
	}
	if (h)
		h->refs++;
	pthread_mutex_unlock(&s->hub_mu);
	return h;
}

void hub_ref(struct srv *s, struct hub *h)
{
	pthread_mutex_lock(&s->hub_mu);
	h->refs++;
	pthread_mutex_unlock(&s->hub_mu);
}

void hub_put(struct srv *s, struct hub *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&s->hub_mu);
	h->refs--;
	pthread_mutex_unlock(&s->hub_mu);
}

void hub_lock(struct hub *h) { pthread_mutex_lock(&h->mu); }
void hub_unlock(struct hub *h) { pthread_mutex_unlock(&h->mu); }
struct reply *hub_reply_locked(struct hub *h) { return h->reply; }
bool hub_deleted_locked(struct hub *h) { return h->deleted; }
void hub_broadcast_locked(struct hub *h) { pthread_cond_broadcast(&h->cv); }

void hub_set_reply_locked(struct hub *h, struct reply *r)
{
	h->reply = r;
	if (!r)
		h->live = false;
	h->last_active = hx_time_s();
	pthread_cond_broadcast(&h->cv);
}

void hub_set_deleted_locked(struct hub *h)
{
	h->deleted = true;
	h->closed = true;
	pthread_cond_broadcast(&h->cv);
}

void hub_wait_locked(struct hub *h, double secs)
{
	struct timespec ts;
	srv_deadline(&ts, secs);
	pthread_cond_timedwait(&h->cv, &h->mu, &ts);
}

/* Appends one frame with id reply.seq. */
static int push_frame(struct hub *h, const char *event, json_t *data)
{
	char *d = data ? json_dumps(data, JSON_COMPACT) : NULL;
	json_decref(data);
	if (!d)
		return HEARTH_ENOMEM;
	if (h->n_fr == h->cap_fr) {
		size_t cap = h->cap_fr ? h->cap_fr * 2 : 64;
		struct frame *nf = hx_realloc(h->fr, cap * sizeof *nf);
		if (!nf) {
			free(d);
			return HEARTH_ENOMEM;
		}
		h->fr = nf;
		h->cap_fr = cap;
	}
	hx_sbuf b = {0};
	char idl[64];
	snprintf(idl, sizeof idl, "id: %" PRId64 ".%" PRIu32 "\nevent: ", h->reply_id, h->seq);
	if (hx_sbuf_str(&b, idl) || hx_sbuf_str(&b, event) || hx_sbuf_str(&b, "\ndata: ") || hx_sbuf_str(&b, d) || hx_sbuf_str(&b, "\n\n")) {
		free(b.p);
		free(d);
		return HEARTH_ENOMEM;
	}
	free(d);
	h->fr[h->n_fr++] = (struct frame){.reply = h->reply_id, .seq = h->seq, .text = b.p, .len = b.len};
	h->seq++;
	h->last_active = hx_time_s();
	pthread_cond_broadcast(&h->cv);
	return 0;
}

int hub_emit_locked(struct hub *h, const char *event, json_t *data) { return push_frame(h, event, data); }

int hub_begin_reply_locked(struct hub *h, int64_t reply_id, json_t *start_data)
{
	/* keep the previous reply (for slow readers and resuming), drop older ones */
	if (h->has_reply && h->cur_start > h->base) {
		size_t drop = (size_t)(h->cur_start - h->base);
		for (size_t i = 0; i < drop; i++)
			free(h->fr[i].text);
		memmove(h->fr, h->fr + drop, (h->n_fr - drop) * sizeof *h->fr);
		h->n_fr -= drop;
		h->base += drop;
	}
	h->save.n_fr = h->n_fr;
	h->save.cur_start = h->cur_start;
	h->save.has_reply = h->has_reply;
	h->save.reply_id = h->reply_id;
	h->save.seq = h->seq;
	h->reply_id = reply_id;
	h->seq = 0;
	h->cur_start = h->base + h->n_fr;
	h->has_reply = true;
	h->live = true;
	int rc = push_frame(h, "start", start_data);
	if (rc)
		hub_abort_reply_locked(h);
	return rc;
}

void hub_abort_reply_locked(struct hub *h)
{
	while (h->n_fr > h->save.n_fr)
		free(h->fr[--h->n_fr].text);
	h->cur_start = h->save.cur_start;
	h->has_reply = h->save.has_reply;
	h->reply_id = h->save.reply_id;
	h->seq = h->save.seq;
	h->live = false;
}

bool hub_generating(struct srv *s, int64_t chat_id)
{
	struct hub *h = hub_get(s, chat_id, false);
	if (!h)
		return false;
	pthread_mutex_lock(&h->mu);
	bool g = h->reply != NULL;
	pthread_mutex_unlock(&h->mu);
	hub_put(s, h);
	return g;
}

size_t hub_collect(struct srv *s, struct hub ***out)
{
	*out = NULL;
	size_t n = 0, cap = 0;
	pthread_mutex_lock(&s->hub_mu);
	for (struct hub *h = s->hubs; h; h = h->next) {
		pthread_mutex_lock(&h->mu);
		bool has = h->reply != NULL;
		pthread_mutex_unlock(&h->mu);
		if (!has)
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct hub **nv = realloc(*out, nc * sizeof *nv);
			if (!nv)
				break;
			*out = nv;
			cap = nc;
		}
		h->refs++;
		(*out)[n++] = h;
	}
	pthread_mutex_unlock(&s->hub_mu);
	return n;
}

void hub_gc(struct srv *s)
{
	double now = hx_time_s();
	pthread_mutex_lock(&s->hub_mu);
	struct hub **pp = &s->hubs;
	while (*pp) {
		struct hub *h = *pp;
		bool idle = false;
		if (h->refs == 0) {
			pthread_mutex_lock(&h->mu);
			idle = !h->reply && (h->closed || now - h->last_active > HUB_IDLE_S);
			pthread_mutex_unlock(&h->mu);
		}
		if (idle) {
			*pp = h->next;
			hub_free(h);
		} else {
			pp = &h->next;
		}
	}
	pthread_mutex_unlock(&s->hub_mu);
}

void hub_close_all(struct srv *s, double secs)
{
	pthread_mutex_lock(&s->hub_mu);
	for (struct hub *h = s->hubs; h; h = h->next) {
		pthread_mutex_lock(&h->mu);
		h->closed = true;
		pthread_cond_broadcast(&h->cv);
		pthread_mutex_unlock(&h->mu);
	}
	pthread_mutex_unlock(&s->hub_mu);
	/* MHD_stop_daemon closes the sockets: let the streams send their last
	 * events (the `done` of the replies stopped by the shutdown) first */
	double t0 = hx_time_s();
	for (;;) {
		pthread_mutex_lock(&s->hub_mu);
		int n = s->n_subs;
		pthread_mutex_unlock(&s->hub_mu);
		if (n == 0 || hx_time_s() - t0 > secs)
			break;
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL);
	}
}

void hub_free_all(struct srv *s)
{
	pthread_mutex_lock(&s->hub_mu);
	while (s->hubs) {
		struct hub *h = s->hubs;
		s->hubs = h->next;
		hub_free(h);
	}
	pthread_mutex_unlock(&s->hub_mu);
}

/* ---- subscribers ------------------------------------------------------------------ */

struct sub {
	struct srv *srv;
	struct hub *h;
	uint64_t pos;   /* absolute index of the next frame to send */
	size_t off;     /* bytes of that frame already sent */
	hx_sbuf pre;    /* subscriber-only bytes to send first (resync, the rest of a frame) */
	size_t pre_off;
};

/* "R.S" with R and S decimal, nothing else. */
static bool parse_event_id(const char *s, int64_t *reply, uint32_t *seq)
{
	if (!s)
		return false;
	int64_t r = 0;
	uint64_t q = 0;
	const char *p = s;
	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (r > (INT64_MAX - 9) / 10)
			return false;
		r = r * 10 + (*p - '0');
	}
	if (*p++ != '.' || *p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		q = q * 10 + (uint64_t)(*p - '0');
		if (q > UINT32_MAX)
			return false;
	}
	if (*p)
		return false;
	*reply = r;
	*seq = (uint32_t)q;
	return true;
}

/* Queues a resync event for this subscriber and moves it to the start of the
 * reply being generated (it replays it), or to the end of the log. */
static void sub_resync_locked(struct sub *u, const char *reason)
{
	struct hub *h = u->h;
	bool replay = h->live && h->has_reply && h->cur_start >= h->base;
	u->pos = replay ? h->cur_start : h->base + h->n_fr;
	u->off = 0;
	json_t *j = json_pack("{s:s}", "reason", reason);
	char *d = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	char idl[64] = "";
	if (!replay && h->n_fr > 0)
		snprintf(idl, sizeof idl, "id: %" PRId64 ".%" PRIu32 "\n", h->fr[h->n_fr - 1].reply,
		         h->fr[h->n_fr - 1].seq);
	hx_sbuf_free(&u->pre); /* all sent: the reader only resyncs then */
	u->pre_off = 0;
	if (hx_sbuf_str(&u->pre, idl) || hx_sbuf_str(&u->pre, "event: resync\ndata: ") ||
	    hx_sbuf_str(&u->pre, d ? d : "{}") || hx_sbuf_str(&u->pre, "\n\n"))
		hx_sbuf_free(&u->pre);
	free(d);
}

static ssize_t sub_reader(void *cls, uint64_t pos, char *out, size_t max)
{
	struct sub *u = cls;
	struct hub *h = u->h;
	(void)pos;
	pthread_mutex_lock(&h->mu);
	struct timespec deadline;
	srv_deadline(&deadline, u->srv->cfg.keepalive_s);
	ssize_t n;
	for (;;) {
		if (u->pre_off < u->pre.len) {
			size_t k = HX_MIN(max, u->pre.len - u->pre_off);
			memcpy(out, u->pre.p + u->pre_off, k);
			u->pre_off += k;
			n = (ssize_t)k;
			break;
		}
		if (u->pos < h->base) /* fell behind what the log keeps */
			sub_resync_locked(u, "too far behind: events were dropped");
		if (u->pos < h->base + h->n_fr) {
			const struct frame *f = &h->fr[u->pos - h->base];
			size_t k = HX_MIN(max, f->len - u->off);
			memcpy(out, f->text + u->off, k);
			u->off += k;
			if (u->off < f->len && u->off == k) {
				/* A frame that does not fit: its rest goes to this
				 * subscriber's own buffer, so trimming the log before it
				 * is sent can never cut the frame in the middle (the
				 * resync that follows would corrupt it). */
				hx_sbuf_free(&u->pre);
				u->pre_off = 0;
				if (hx_sbuf_add(&u->pre, f->text + k, f->len - k) == 0)
					u->off = f->len;
				else
					hx_sbuf_free(&u->pre);
			}
			if (u->off == f->len) {
				u->pos++;
				u->off = 0;
			}
			n = (ssize_t)k;
			break;
		}
		if (h->closed) {
			n = MHD_CONTENT_READER_END_OF_STREAM;
			break;
		}
		if (pthread_cond_timedwait(&h->cv, &h->mu, &deadline) == ETIMEDOUT) {
			static const char ka[] = ": keep-alive\n\n";
			size_t k = HX_MIN(max, sizeof ka - 1);
			memcpy(out, ka, k);
			n = (ssize_t)k;
			break;
		}
	}
	pthread_mutex_unlock(&h->mu);
	return n;
}

static void sub_free(void *cls)
{
	struct sub *u = cls;
	pthread_mutex_lock(&u->srv->hub_mu);
	u->srv->n_subs--;
	pthread_mutex_unlock(&u->srv->hub_mu);
	hub_put(u->srv, u->h);
	free(u->pre.p);
	free(u);
}

int hub_subscribe(struct conn *cn, struct MHD_Connection *c, int64_t chat_id)
{
	struct srv *s = cn->srv;
	const char *last = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Last-Event-ID");
	if (!last)
		last = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "last_event_id");
	if (last && strlen(last) > 64)
		return srv_send_error(cn, c, 400, "invalid_request", "Last-Event-ID is too long");
	pthread_mutex_lock(&s->hub_mu);
	bool full = s->n_subs >= SUBS_MAX;
	if (!full)
		s->n_subs++; /* sub_free gives it back */
	pthread_mutex_unlock(&s->hub_mu);
	if (full)
		return srv_send_error(cn, c, 503, "too_many_streams",
		                      "too many event streams are open (at most 256): close some tabs");
	struct sub *u = hx_calloc(1, sizeof *u);
	struct hub *h = u ? hub_get(s, chat_id, true) : NULL;
	if (!h) {
		free(u);
		pthread_mutex_lock(&s->hub_mu);
		s->n_subs--;
		pthread_mutex_unlock(&s->hub_mu);
		return srv_send_error(cn, c, 503, "unavailable", "the server is shutting down (or out of memory)");
	}
	u->srv = s;
	u->h = h;
	pthread_mutex_lock(&h->mu);
	if (last && last[0]) {
		int64_t r;
		uint32_t q;
		bool found = false;
		if (parse_event_id(last, &r, &q))
			for (size_t i = h->n_fr; i-- > 0;)
				if (h->fr[i].reply == r && h->fr[i].seq == q) {
					u->pos = h->base + i + 1;
					found = true;
					break;
				}
		if (!found)
			sub_resync_locked(u, "unknown or expired Last-Event-ID: reload the messages");
	} else {
		u->pos = h->live && h->has_reply && h->cur_start >= h->base ? h->cur_start : h->base + h->n_fr;
	}
	pthread_mutex_unlock(&h->mu);

	struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, sub_reader, u, sub_free);
	if (!r) {
		sub_free(u);
		return MHD_NO;
	}
	return srv_send_stream(cn, c, r, "text/event-stream");
}
