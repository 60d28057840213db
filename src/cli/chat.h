/*
 * chat.h - the pieces of `hearth chat` (src/cli/cmd_chat.c): the conversation
 * and its JSON form (chat_conv.c), the settings table behind the flags, !set and
 * !show (chat_conv.c), the terminal layer (chat_term.c): libedit line editing
 * with persisted history or plain line reading, multi-line input, Ctrl-C, colours
 * and the load spinner; and --save, the conversation recorded in the history
 * database (chat_save.c).
 */
#ifndef HEARTH_CLI_CHAT_H
#define HEARTH_CLI_CHAT_H

#include "hearth.h"
#include "store/store.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* ---- settings ---- */

struct chat_settings {
	hearth_sampler_params sp; /* temperature, top_k, top_p, min_p, repeat_penalty, seed */
	int32_t max_tokens;       /* 0: until the model stops or the context is full */
	bool think;               /* ask the template for thinking (enable_thinking) */
	bool hide_think;          /* do not print reasoning */
};

void chat_settings_default(struct chat_settings *s);

/* Sets parameter `name` (temperature, top_k, top_p, min_p, repeat_penalty, seed,
 * max_tokens, think, hide_think; '-' may stand for '_', and the flag spellings
 * temp, n, top-k... are accepted) from text.  Returns 0, or -1 with a one-line
 * reason in err (the settings are unchanged). */
int chat_settings_set(struct chat_settings *s, const char *name, const char *value, char *err, size_t errlen);

/* The bit of parameter `name` (spelled as for chat_settings_set), 0 when unknown;
 * chat_settings_copy copies the parameters whose bits are in `mask` from src. */
unsigned chat_settings_bit(const char *name);
void chat_settings_copy(struct chat_settings *dst, const struct chat_settings *src, unsigned mask);

/* Writes the generation parameters, one "name value" per line with `indent`. */
void chat_settings_print(const struct chat_settings *s, FILE *f, const char *indent);

/* The parameter names !set accepts, space separated (for help and hints). */
const char *chat_settings_names(void);

/* The generation settings as a stored chat's params, a JSON object in the
 * server's names (temperature, top_k, top_p, min_p, repeat_penalty, thinking;
 * seed unless random, max_tokens unless 0).  Malloc'd, NULL when out of memory. */
char *chat_settings_params(const struct chat_settings *s);

/* Applies a stored chat's params (the names above; others are ignored) to *s,
 * all or nothing.  NULL or "" is "{}".  Returns 0, or -1 with a reason in err. */
int chat_settings_from_params(struct chat_settings *s, const char *params, char *err, size_t errlen);

/* ---- conversation ---- */

struct chat_msg {
	char *role;      /* "user" or "assistant" */
	char *content;
	char *reasoning; /* assistant only; may be NULL */
	int64_t id;      /* the message's id in the history database (--save), 0: not stored */
};

struct chat_conv {
	char *system; /* NULL: none */
	struct chat_msg *msgs;
	size_t n, cap;
};

/* Appends a message (copies the strings; reasoning may be NULL).  Returns 0 or
 * HEARTH_ENOMEM. */
int chat_conv_add(struct chat_conv *c, const char *role, const char *content, size_t len, const char *reasoning,
                  size_t rlen);
/* Removes the last message. */
void chat_conv_pop(struct chat_conv *c);
/* Removes the first `n` messages (drop-oldest). */
void chat_conv_drop_front(struct chat_conv *c, size_t n);
/* Removes every message, keeping the system prompt. */
void chat_conv_clear(struct chat_conv *c);
/* Replaces the system prompt (NULL or "": none).  Returns 0 or HEARTH_ENOMEM. */
int chat_conv_set_system(struct chat_conv *c, const char *text);
void chat_conv_free(struct chat_conv *c);

/* Limits on a loaded conversation file. */
#define CHAT_FILE_MAX (64u << 20)
#define CHAT_MAX_MESSAGES 100000

/* Writes {"format":"hearth-chat","version":1,"model":...,"system":...,
 * "settings":{...},"messages":[{"role","content"[,"reasoning"]},...]} to `path`
 * (through a temporary file renamed into place).  Returns 0 or -1 with err. */
int chat_conv_save(const struct chat_conv *c, const struct chat_settings *s, const char *model, const char *path,
                   char *err, size_t errlen);

/* Reads a file written by chat_conv_save (settings and system optional), checking
 * every field; on success replaces *c (and the settings present in the file).
 * Returns 0, or -1 with err and nothing changed. */
int chat_conv_load(struct chat_conv *c, struct chat_settings *s, const char *path, char *err, size_t errlen);

/* ---- history database (chat --save) ---- */

struct chat_hist {
	hx_store *store;
	char *path;
	int64_t chat_id; /* 0 until the first message creates the chat (or --chat-id) */
	int64_t last_id; /* the newest message id of the chat (0: none) */
	char *title;     /* --title for the new chat (NULL: made from the first message) */
	char *model;     /* stored with the chat and its replies (the caller sets it) */
};

/* Opens the database at `path` (NULL: hx_store_default_path) and, when chat_id
 * > 0, checks that the chat exists ("no chat N in PATH — list them with ...")
 * and gives it `title` when not NULL.
 * All chat_hist_* functions return 0 or a HEARTH_E* code with hearth_errmsg(). */
int chat_hist_open(struct chat_hist *h, const char *path, int64_t chat_id, const char *title);
void chat_hist_close(struct chat_hist *h);

/* Replaces *conv and the settings in the chat's params with the stored chat
 * h->chat_id as the server would prompt with it: system prompt, messages from
 * context_from on without slash commands, the server's replies and empty ones
 * (*n_skipped counts those), consecutive messages of one role joined.  *model
 * gets the chat's model name (malloc'd, NULL when it has none). */
int chat_hist_load(struct chat_hist *h, struct chat_conv *conv, struct chat_settings *set, char **model,
                   size_t *n_skipped);

/* Stores a user message (creating the chat on the first one, with the system
 * prompt and settings of the moment); *id gets its id. */
int chat_hist_user(struct chat_hist *h, const struct chat_conv *conv, const struct chat_settings *set,
                   const char *text, int64_t *id);

/* Stores a finished reply: status HX_MSG_COMPLETE, HX_MSG_STOPPED or
 * HX_MSG_ERROR (with error), stats may be NULL; *id gets its id (0 when no
 * chat exists yet). */
int chat_hist_reply(struct chat_hist *h, const char *content, const char *reasoning, int status, const char *error,
                    const hearth_gen_stats *stats, int64_t *id);

/* !reset: later prompts start after the last stored message (context_from). */
int chat_hist_reset(struct chat_hist *h);

/* Deletes a stored message (!retry replaces the reply it generates again). */
int chat_hist_delete(struct chat_hist *h, int64_t id);

/* Writes the system prompt and settings to the chat (after !set, !load). */
int chat_hist_settings(struct chat_hist *h, const struct chat_conv *conv, const struct chat_settings *set);

/* ---- terminal ---- */

/* SIGINT count, raised by the handler chat_term_signals() installs. */
extern volatile sig_atomic_t chat_sigint;

/* Installs the SIGINT handler (no SA_RESTART, so a blocked read returns). */
void chat_term_signals(void);

/* Colour escapes: all "" when colour is off. */
struct chat_colors {
	const char *dim, *bold, *red, *green, *cyan, *reset;
};
void chat_colors_init(struct chat_colors *c, bool on);

struct chat_term;

/* Opens the input side: interactive (libedit on a terminal, history loaded from
 * and saved to history_path when it is not NULL) or plain line reading from
 * stdin.  Returns 0 or HEARTH_ENOMEM. */
int chat_term_open(bool interactive, const char *history_path, struct chat_term **out);
void chat_term_close(struct chat_term *t);

enum chat_read {
	CHAT_READ_EOF = 0,       /* Ctrl-D or end of input */
	CHAT_READ_LINE = 1,      /* *out holds a message or command (malloc'd, no trailing newline) */
	CHAT_READ_INTERRUPT = 2, /* Ctrl-C at the prompt (what was typed is dropped) */
};

/* Reads one input: a line; lines joined while they end in '\' (the backslash
 * replaced by a newline); or the lines between a line `"""` and the next line
 * ending in `"""` (text may follow the opening quotes and precede the closing
 * ones).  Interactive: the prompt is `prompt`, continuation lines show "... ". */
int chat_term_read(struct chat_term *t, const char *prompt, char **out);

/* A spinner on stderr (only when stderr is a terminal): start shows `what`
 * with a turning wheel on its own thread; stop erases it. */
struct chat_spinner;
struct chat_spinner *chat_spinner_start(const char *what);
/* The same, drawn only once `delay_ms` have passed (nothing when stopped sooner). */
struct chat_spinner *chat_spinner_start_after(const char *what, int delay_ms);
void chat_spinner_stop(struct chat_spinner *s);

#endif
