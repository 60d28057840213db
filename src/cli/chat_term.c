/*
 * chat_term.c - the terminal side of `hearth chat`: libedit line editing with a
 * persisted history when stdin is a terminal, plain line reading otherwise;
 * multi-line input (trailing '\' and """ blocks); the SIGINT flag that stops a
 * reply or, at the prompt, clears the line; colours; the load spinner.
 *
 * Ctrl-C: the handler only counts.  It is installed without SA_RESTART, so a
 * read blocked in libedit returns with EINTR (libedit then gives up the line and
 * restores the terminal) and the main loop decides what the interrupt means.
 */
#include "cli/chat.h"
#include "cli/cli.h"
#include "util/util.h"

#include <errno.h>
#include <histedit.h>
#include <langinfo.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

volatile sig_atomic_t chat_sigint;

static void on_sigint(int sig)
{
	(void)sig;
	chat_sigint++;
}

void chat_term_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: blocked reads return EINTR */
	sigaction(SIGINT, &sa, NULL);
}

void chat_colors_init(struct chat_colors *c, bool on)
{
	c->dim = on ? "\033[2m" : "";
	c->bold = on ? "\033[1m" : "";
	c->red = on ? "\033[31m" : "";
	c->green = on ? "\033[32m" : "";
	c->cyan = on ? "\033[36m" : "";
	c->reset = on ? "\033[0m" : "";
}

struct chat_term {
	bool interactive;
	EditLine *el;
	History *hist;
	char *history_path;
	const char *prompt; /* current prompt, read by prompt_fn */
	char *plain;        /* getline buffer */
	size_t plain_cap;
};

static char *prompt_fn(EditLine *el)
{
	struct chat_term *t = NULL;
	el_get(el, EL_CLIENTDATA, &t);
	return (char *)(t && t->prompt ? t->prompt : "> ");
}

int chat_term_open(bool interactive, const char *history_path, struct chat_term **out)
{
	struct chat_term *t = hx_calloc(1, sizeof *t);
	if (!t)
		return HEARTH_ENOMEM;
	t->interactive = interactive;
	if (interactive) {
		t->el = el_init("hearth", stdin, stdout, stderr);
		t->hist = history_init();
		if (!t->el || !t->hist) {
			chat_term_close(t);
			return hx_err(HEARTH_ENOMEM, "cannot initialise line editing");
		}
		HistEvent ev;
		history(t->hist, &ev, H_SETSIZE, 1000);
		history(t->hist, &ev, H_SETUNIQUE, 1);
		el_set(t->el, EL_CLIENTDATA, t);
		el_set(t->el, EL_PROMPT, prompt_fn);
		el_set(t->el, EL_EDITOR, "emacs");
		el_set(t->el, EL_HIST, history, t->hist);
		el_source(t->el, NULL); /* ~/.editrc, as every libedit program */
		if (history_path) {
			t->history_path = hx_strdup(history_path);
			if (!t->history_path) {
				chat_term_close(t);
				return HEARTH_ENOMEM;
			}
			history(t->hist, &ev, H_LOAD, history_path); /* absent on first use */
		}
	}
	*out = t;
	return 0;
}

void chat_term_close(struct chat_term *t)
{
	if (!t)
		return;
	if (t->el)
		el_end(t->el);
	if (t->hist)
		history_end(t->hist);
	free(t->history_path);
	free(t->plain);
	free(t);
}

/* One physical line without its line end, into a malloc'd *out. */
static int read_physical(struct chat_term *t, const char *prompt, char **out)
{
	const char *line;
	size_t len;
	sig_atomic_t before = chat_sigint;
	if (t->interactive) {
		int n = 0;
		t->prompt = prompt;
		el_resize(t->el); /* the terminal may have changed size during a reply */
		errno = 0;
		line = el_gets(t->el, &n);
		if (chat_sigint != before)
			return CHAT_READ_INTERRUPT;
		if (!line || n <= 0)
			return CHAT_READ_EOF;
		len = (size_t)n;
	} else {
		fflush(stdout);
		errno = 0;
		ssize_t n = getline(&t->plain, &t->plain_cap, stdin);
		if (n < 0) {
			bool intr = chat_sigint != before;
			clearerr(stdin);
			return intr ? CHAT_READ_INTERRUPT : CHAT_READ_EOF;
		}
		line = t->plain;
		len = (size_t)n;
	}
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	char *s = hx_strndup(line, len);
	if (!s)
		return CHAT_READ_EOF;
	if (t->interactive && len) {
		HistEvent ev;
		history(t->hist, &ev, H_ENTER, s);
		if (t->history_path) {
			history(t->hist, &ev, H_SAVE, t->history_path);
			chmod(t->history_path, 0600); /* conversations are private */
		}
	}
	*out = s;
	return CHAT_READ_LINE;
}

/* Length without trailing blanks. */
static size_t rtrim_len(const char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return n;
}

static bool ends_with_quotes(const char *s, size_t n) { return n >= 3 && !memcmp(s + n - 3, "\"\"\"", 3); }

int chat_term_read(struct chat_term *t, const char *prompt, char **out)
{
	char *line;
	int r = read_physical(t, prompt, &line);
	if (r != CHAT_READ_LINE)
		return r;
	hx_sbuf b = {0};
	const char *lead = line + strspn(line, " \t");
	if (!strncmp(lead, "\"\"\"", 3)) {
		/* a block: """ [text] ... [text] """ */
		const char *rest = lead + 3;
		size_t rn = rtrim_len(rest);
		if (rn >= 3 && ends_with_quotes(rest, rn)) {
			hx_sbuf_add(&b, rest, rn - 3); /* """one line""" */
			free(line);
			goto done;
		}
		if (rn)
			hx_sbuf_add(&b, rest, rn);
		bool first = rn == 0;
		free(line);
		for (;;) {
			r = read_physical(t, "... ", &line);
			if (r == CHAT_READ_INTERRUPT) {
				free(b.p);
				return r;
			}
			if (r == CHAT_READ_EOF)
				break; /* an unterminated block ends with the input */
			size_t n = rtrim_len(line);
			bool last = ends_with_quotes(line, n);
			if (last)
				n -= 3;
			if (!last || n) {
				if (!first)
					hx_sbuf_add(&b, "\n", 1);
				hx_sbuf_add(&b, line, n);
				first = false;
			}
			free(line);
			if (last)
				break;
		}
		goto done;
	}
	for (;;) {
		size_t n = strlen(line);
		bool cont = n && line[n - 1] == '\\';
		hx_sbuf_add(&b, line, cont ? n - 1 : n);
		free(line);
		if (!cont)
			break;
		hx_sbuf_add(&b, "\n", 1);
		r = read_physical(t, "... ", &line);
		if (r == CHAT_READ_INTERRUPT) {
			free(b.p);
			return r;
		}
		if (r == CHAT_READ_EOF)
			break;
	}
done:
	if (b.oom) {
		free(b.p);
		return CHAT_READ_EOF;
	}
	if (!b.p)
		hx_sbuf_add(&b, "", 0);
	if (b.oom || !b.p)
		return CHAT_READ_EOF;
	*out = b.p;
	return CHAT_READ_LINE;
}

/* ---- spinner ---- */

struct chat_spinner {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	int delay_ms;
	char what[200];
};

static void *spin(void *arg)
{
	struct chat_spinner *s = arg;
	static const char *utf8[] = {"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"};
	static const char *ascii[] = {"|", "/", "-", "\\"};
	const char *cs = nl_langinfo(CODESET);
	bool u = cs && !strcmp(cs, "UTF-8");
	const char **fr = u ? utf8 : ascii;
	int nf = u ? 10 : 4, i = 0;
	double t0 = hx_time_s();
	bool drawn = false;
	pthread_mutex_lock(&s->mu);
	if (s->delay_ms > 0) {
		struct timespec ts;
		cli_deadline(&ts, s->delay_ms);
		while (!s->stop && pthread_cond_timedwait(&s->cv, &s->mu, &ts) == 0)
			;
	}
	while (!s->stop) {
		drawn = true;
		double el = hx_time_s() - t0;
		fprintf(stderr, "\r%s %s", fr[i++ % nf], s->what);
		if (el >= 1.0)
			fprintf(stderr, " (%.0fs)", el);
		fflush(stderr);
		struct timespec ts;
		cli_deadline(&ts, 100);
		pthread_cond_timedwait(&s->cv, &s->mu, &ts);
	}
	pthread_mutex_unlock(&s->mu);
	if (drawn) {
		fprintf(stderr, "\r\033[K");
		fflush(stderr);
	}
	return NULL;
}

struct chat_spinner *chat_spinner_start(const char *what) { return chat_spinner_start_after(what, 0); }

struct chat_spinner *chat_spinner_start_after(const char *what, int delay_ms)
{
	if (!isatty(STDERR_FILENO))
		return NULL;
	struct chat_spinner *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	snprintf(s->what, sizeof s->what, "%s", what);
	s->delay_ms = delay_ms;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	if (pthread_create(&s->th, NULL, spin, s) != 0) {
		pthread_mutex_destroy(&s->mu);
		pthread_cond_destroy(&s->cv);
		free(s);
		return NULL;
	}
	return s;
}

void chat_spinner_stop(struct chat_spinner *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->th, NULL);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}
