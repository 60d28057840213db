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

/* Prints "error: <what>: <hearth_errmsg()>" (or just the message) to stderr and
 * returns 1. */
int cli_fail(const char *what, int err);

/* True if argv[i] equals either name; helpers for simple option parsing. */
bool cli_is(const char *arg, const char *a, const char *b);
/* Parses an integer/float option value or prints a usage error (returns false). */
bool cli_int(const char *opt, const char *val, long long lo, long long hi, long long *out);
bool cli_float(const char *opt, const char *val, double lo, double hi, double *out);

/* Parses a --kv-type value (f16 or f32) into a HEARTH_TYPE_*, or prints a usage
 * error and returns false. */
bool cli_kv_type(const char *opt, const char *val, int *out);

/* Whether stderr/stdout is a terminal that wants colour (honours NO_COLOR). */
bool cli_color(FILE *f);

#endif
