/*
 * cli.h - the `hearth` program's subcommands and the helpers they share.
 * Each subcommand lives in src/cli/cmd_<name>.c and is listed in main.c.
 */
#ifndef HEARTH_CLI_H
#define HEARTH_CLI_H

#include "hearth.h"

#include <stdbool.h>
#include <stdio.h>

typedef int (*cli_cmd_fn)(int argc, char **argv);

/* Subcommands: argv[0] is the subcommand name.  They return the process exit
 * status (0 ok, 1 error, 2 usage). */
int cmd_chat(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_detokenize(int argc, char **argv);
int cmd_logits(int argc, char **argv);
int cmd_perplexity(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_template(int argc, char **argv);
int cmd_history(int argc, char **argv);

/* Prints "error: <what>: <hearth_errmsg()>" (or just the message) to stderr and
 * returns 1. */
int cli_fail(const char *what, int err);

/* True if argv[i] equals either name; helpers for simple option parsing. */
bool cli_is(const char *arg, const char *a, const char *b);
/* Takes a string option value, or prints "error: OPT needs a value" (returns false). */
bool cli_str(const char *opt, const char *val, const char **out);
/* Parses an integer/float option value or prints a usage error (returns false). */
bool cli_int(const char *opt, const char *val, long long lo, long long hi, long long *out);
bool cli_float(const char *opt, const char *val, double lo, double hi, double *out);

/* Parses a --kv-type value (f16 or f32) into a HEARTH_TYPE_*, or prints a usage
 * error and returns false. */
bool cli_kv_type(const char *opt, const char *val, int *out);

/* The options every command that loads a model shares: -m/--model, -c/--ctx,
 * -t/--threads, -b/--batch and --kv-type.  A command fills the defaults (and
 * which options it takes in `accept`), then offers each argument to
 * cli_model_opt before its own options. */
enum {
	CLI_MO_MODEL = 1 << 0,   /* -m, --model VALUE */
	CLI_MO_CTX = 1 << 1,     /* -c, --ctx N in [ctx_min, ctx_max] */
	CLI_MO_THREADS = 1 << 2, /* -t, --threads N, 0..1024 (0: all cores) */
	CLI_MO_BATCH = 1 << 3,   /* -b, --batch N, 1..65536 */
	CLI_MO_KV = 1 << 4,      /* --kv-type f16|f32 */
};
struct cli_model_opts {
	unsigned accept; /* CLI_MO_* */
	const char *model;
	long long n_ctx, ctx_min, ctx_max;
	long long n_threads;
	long long n_batch;
	int kv_type; /* HEARTH_TYPE_F16 or HEARTH_TYPE_F32 */
};

/* Defaults: no model, n_ctx 0 (ctx range 0..2^24), all cores, n_batch 512, F16 KV. */
struct cli_model_opts cli_model_opts_default(unsigned accept);

/* If `arg` is one of the options in o->accept, stores `val` (the next argument,
 * or the text after '=', NULL when there is none) and returns 1: the caller
 * skips the value.  Returns 0 for any other argument, and -1 after printing a
 * usage error (a missing or out-of-range value). */
int cli_model_opt(struct cli_model_opts *o, const char *arg, const char *val);

/* Loads o->model with o->n_threads threads.  Returns 0, or prints the error
 * (cli_fail) and returns its HEARTH_E* code. */
int cli_model_load(const struct cli_model_opts *o, hearth_model **out);

/* Creates a context of n_ctx positions with o's batch size and KV type, and
 * initialises *b for n_tokens tokens.  Returns 0, or prints the error and
 * returns its code (the caller frees *ctx and *b either way). */
int cli_ctx_open(const struct cli_model_opts *o, hearth_model *model, int32_t n_ctx, int32_t n_tokens, hearth_ctx **ctx,
                 hearth_batch *b);


/* Reads a whole file, or standard input when path is "-", into a NUL-terminated
 * malloc'd buffer of at most `max` bytes (HEARTH_ELIMIT beyond, with a message
 * naming the input).  Returns 0 or a HEARTH_E* code with a message. */
int cli_read_input(const char *path, size_t max, char **out, size_t *len);

/* The CLOCK_REALTIME time `ms` milliseconds from now (for pthread_cond_timedwait). */
struct timespec;
void cli_deadline(struct timespec *ts, long ms);

/* Whether stderr/stdout is a terminal that wants colour (honours NO_COLOR). */
bool cli_color(FILE *f);

#endif
