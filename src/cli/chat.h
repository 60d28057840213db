/*
 * chat.h - the pieces of `hearth chat` (src/cli/cmd_chat.c): the conversation
 * and its JSON form (chat_conv.c), the settings table behind the flags, !set and
 * !show (chat_conv.c), and the terminal layer (chat_term.c): libedit line editing
 * with persisted history or plain line reading, multi-line input, Ctrl-C, colours
 * and the load spinner.
 */
#ifndef HEARTH_CLI_CHAT_H
#define HEARTH_CLI_CHAT_H

#include "hearth.h"

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

/* Writes the generation parameters, one "name value" per line with `indent`. */
void chat_settings_print(const struct chat_settings *s, FILE *f, const char *indent);

/* The parameter names !set accepts, space separated (for help and hints). */
const char *chat_settings_names(void);

/* ---- conversation ---- */

struct chat_msg {
	char *role;      /* "user" or "assistant" */
	char *content;
	char *reasoning; /* assistant only; may be NULL */
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
