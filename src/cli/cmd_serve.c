/*
 * cmd_serve.c - `hearth serve`: option parsing for the HTTP server (src/server).
 */
#include "cli/cli.h"
#include "server/server.h"

#include <stdlib.h>
#include <string.h>

static void serve_usage(FILE *f)
{
	fprintf(f,
	        "usage: hearth serve [-m MODEL [--alias NAME]]... [options]\n\n"
	        "Serves the models, a web UI and an HTTP API:\n"
	        "  GET /              the web UI (chats with persistent history)\n"
	        "  /api/chats...      the native chat API (docs/native-api.md)\n"
	        "  GET /health, GET /v1/models, POST /v1/chat/completions, POST /v1/completions (OpenAI),\n"
	        "  POST /api/chat, GET /api/tags (Ollama), GET /api/status, GET /metrics (Prometheus).\n\n"
	        "options:\n"
	        "  -m, --model MODEL     a GGUF file or model name; repeat for several models\n"
	        "  --alias NAME          the name clients use for the preceding -m (default: file stem)\n"
	        "  --models-dir DIR      where model names are looked up\n"
	        "  --host ADDR           numeric address to bind (default 127.0.0.1)\n"
	        "  --port N              port (default 8080; 0: any free port)\n"
	        "  --parallel N          sequences generated at once per model (default 4)\n"
	        "  -c, --ctx N           context length per sequence (default: the model's, at most 4096)\n"
	        "  -t, --threads N       threads per model (default: all cores)\n"
	        "  --kv-type f16|f32     KV cache element type (default f16)\n"
	        "  --queue N             requests waiting per model before 503 (default 64)\n"
	        "  --max-body BYTES      largest request body (default 4194304)\n"
	        "  --timeout S           drop idle connections after S seconds (default 30)\n"
	        "  --keepalive S         SSE keep-alive comment interval (default 5)\n"
	        "  --request-timeout S   cancel a generation running longer than S seconds (default: none)\n"
	        "  --log-format text|json  one line per request on stderr (default text)\n"
	        "  --quiet               no per-request log lines\n"
	        "  --cors-origin ORIGIN  let pages from ORIGIN call the API (default: no cross-origin access)\n"
	        "  --insecure-public     allow a non-loopback --host without authentication\n"
	        "  --data-dir DIR        where the chat history lives (default $XDG_DATA_HOME/hearth)\n"
	        "  --db FILE             the chat history database (default DIR/hearth.db)\n"
	        "  --no-history          keep no history: the native chat API answers 503\n"
	        "  -h, --help            this help\n");
}

int cmd_serve(int argc, char **argv)
{
	struct srv_config cfg;
	srv_config_default(&cfg);
	/* -c, -t and --kv-type as every command has them (-m differs: repeatable) */
	struct cli_model_opts mo = cli_model_opts_default(CLI_MO_CTX | CLI_MO_THREADS | CLI_MO_KV);
	mo.kv_type = cfg.kv_type;
	long long v;
	double d;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		int r = cli_model_opt(&mo, a, val);
		if (r) {
			if (r < 0)
				return 2;
			i++;
		} else if (cli_is(a, "-h", "--help")) {
			serve_usage(stdout);
			return 0;
		} else if (cli_is(a, "-m", "--model")) {
			if (!val)
				return fprintf(stderr, "error: %s needs a value\n", a), 2;
			if (cfg.n_models == SRV_MAX_MODELS)
				return fprintf(stderr, "error: at most %d models\n", SRV_MAX_MODELS), 2;
			cfg.models[cfg.n_models].arg = val;
			cfg.models[cfg.n_models++].alias = NULL;
			i++;
		} else if (cli_is(a, "--alias", NULL)) {
			if (!val || !cfg.n_models)
				return fprintf(stderr, "error: --alias NAME follows a -m MODEL\n"), 2;
			cfg.models[cfg.n_models - 1].alias = val;
			i++;
		} else if (cli_is(a, "--models-dir", NULL)) {
			if (!val)
				return fprintf(stderr, "error: %s needs a value\n", a), 2;
			cfg.models_dir = val;
			i++;
		} else if (cli_is(a, "--data-dir", NULL)) {
			if (!val || !val[0])
				return fprintf(stderr, "error: %s needs a value\n", a), 2;
			cfg.data_dir = val;
			i++;
		} else if (cli_is(a, "--db", NULL)) {
			if (!val || !val[0])
				return fprintf(stderr, "error: %s needs a value\n", a), 2;
			cfg.db_path = val;
			i++;
		} else if (cli_is(a, "--no-history", NULL)) {
			cfg.no_history = true;
		} else if (cli_is(a, "--host", NULL)) {
			if (!val)
				return fprintf(stderr, "error: %s needs a value\n", a), 2;
			cfg.host = val;
			i++;
		} else if (cli_is(a, "--port", NULL)) {
			if (!cli_int(a, val, 0, 65535, &v))
				return 2;
			cfg.port = (int)v;
			i++;
		} else if (cli_is(a, "--parallel", "-np")) {
			if (!cli_int(a, val, 1, 256, &v))
				return 2;
			cfg.parallel = (int)v;
			i++;
		} else if (cli_is(a, "--queue", NULL)) {
			if (!cli_int(a, val, 1, 65536, &v))
				return 2;
			cfg.max_queue = (int)v;
			i++;
		} else if (cli_is(a, "--max-body", NULL)) {
			if (!cli_int(a, val, 1024, 1 << 30, &v))
				return 2;
			cfg.max_body = (size_t)v;
			i++;
		} else if (cli_is(a, "--timeout", NULL)) {
			if (!cli_int(a, val, 1, 86400, &v))
				return 2;
			cfg.timeout_s = (int)v;
			i++;
		} else if (cli_is(a, "--keepalive", NULL)) {
			if (!cli_float(a, val, 0.05, 3600, &d))
				return 2;
			cfg.keepalive_s = d;
			i++;
		} else if (cli_is(a, "--request-timeout", NULL)) {
			if (!cli_float(a, val, 0, 1e7, &d))
				return 2;
			cfg.request_timeout_s = d;
			i++;
		} else if (cli_is(a, "--log-format", NULL)) {
			if (val && strcmp(val, "json") == 0)
				cfg.log_json = true;
			else if (val && strcmp(val, "text") == 0)
				cfg.log_json = false;
			else
				return fprintf(stderr, "error: --log-format expects text or json\n"), 2;
			i++;
		} else if (cli_is(a, "--cors-origin", NULL)) {
			if (!val || strchr(val, '*') || strncmp(val, "http", 4) != 0)
				return fprintf(stderr, "error: --cors-origin expects one origin such as http://localhost:3000 "
				                       "(no wildcards)\n"), 2;
			cfg.cors_origin = val;
			i++;
		} else if (cli_is(a, "--quiet", "-q")) {
			cfg.quiet = true;
		} else if (cli_is(a, "--insecure-public", NULL)) {
			cfg.insecure_public = true;
		} else {
			fprintf(stderr, "error: unknown option '%s'\n\n", a);
			serve_usage(stderr);
			return 2;
		}
	}
	cfg.n_ctx = (int32_t)mo.n_ctx;
	cfg.n_threads = (int)mo.n_threads;
	cfg.kv_type = mo.kv_type;
	return srv_main(&cfg);
}
