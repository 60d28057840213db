/*
 * server.h - `hearth serve` (src/server): an HTTP server on libmicrohttpd in
 * front of one generation engine per loaded model: OpenAI- and
 * Ollama-compatible routes, the native chat API with persistent history
 * (docs/native-api.md) and the embedded web UI.
 */
#ifndef HEARTH_SERVER_H
#define HEARTH_SERVER_H

#include "hearth.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SRV_MAX_MODELS 16

struct srv_model_arg {
	const char *arg;   /* a path or a model name (hearth_model_resolve) */
	const char *alias; /* NULL: the file stem */
};

struct srv_config {
	struct srv_model_arg models[SRV_MAX_MODELS];
	int n_models;
	const char *models_dir;   /* NULL: the default models directory */
	const char *host;         /* default "127.0.0.1" */
	int port;                 /* 0: any free port (printed at start) */
	int parallel;             /* slots per model (default 4) */
	int32_t n_ctx;            /* per slot; 0: the model's, capped at 4096 */
	int n_threads;            /* 0: all cores */
	int kv_type;              /* HEARTH_TYPE_F16 / F32 */
	int max_queue;            /* per model; default 64 */
	size_t max_body;          /* bytes (default 4 MiB) */
	int timeout_s;            /* idle connection timeout (default 30) */
	double keepalive_s;       /* SSE keep-alive comment interval (default 5) */
	double request_timeout_s; /* a generation running longer is cancelled; 0: no limit */
	const char *cors_origin;  /* the one foreign origin allowed (CORS); NULL: none */
	bool insecure_public;     /* allow a non-loopback bind without auth */
	bool log_json;            /* one JSON line per request instead of text */
	bool quiet;               /* no per-request log lines */
	const char *db_path;      /* chat history database; NULL: <data_dir>/hearth.db */
	const char *data_dir;     /* NULL: the default data directory (hx_store_default_path) */
	bool no_history;          /* no database: the native chat API answers 503 */
};

void srv_config_default(struct srv_config *c);

/* Runs the server until SIGINT/SIGTERM.  Returns the process exit status (0
 * after a clean shutdown, 1 when it cannot start: the reason is printed). */
int srv_main(const struct srv_config *cfg);

/* Validates an OpenAI-style request body (chat when `chat`, else completions)
 * without a model: JSON syntax, field types and ranges.  Returns 0, or an HTTP
 * status (400) with a message in err.  Used by the server and the fuzz harness. */
int srv_check_body(const char *body, size_t len, bool chat, char *err, size_t errlen);

#endif
