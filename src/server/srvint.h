/*
 * srvint.h - internals shared by the server's files: the parsed request.
 */
#ifndef HEARTH_SRVINT_H
#define HEARTH_SRVINT_H

#include "server/server.h"

#include <jansson.h>

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

#endif
