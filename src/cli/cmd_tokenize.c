/*
 * cmd_tokenize.c - `hearth tokenize` and `hearth detokenize`: the model's own
 * tokenizer from the shell.
 *
 *   hearth tokenize -m FILE [--parse-special] [--add-special] [--pieces] (TEXT | -f FILE)
 *     prints the ids as a JSON array, or with --pieces [[id,"piece"],...].
 *   hearth detokenize -m FILE [--special] [--keep-space] IDS...
 *     prints the text the ids stand for (no newline added).
 *
 * Only the GGUF metadata is read (hearth_gguf_open); no weights are touched.
 */
#include "cli/cli.h"
#include "util/util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static void usage_tok(FILE *f)
{
	fprintf(f, "usage: hearth tokenize -m FILE [--parse-special] [--add-special] [--pieces] (TEXT | -f FILE)\n\n"
	           "Tokenizes TEXT (or the contents of FILE) with the model's vocabulary and prints\n"
	           "the token ids as a JSON array.\n\n"
	           "  -m, --model FILE   GGUF model or vocabulary file\n"
	           "  -f, --file FILE    read the text from FILE (raw bytes, nothing stripped)\n"
	           "  --parse-special    match control tokens such as <|im_start|> in the text\n"
	           "  --add-special      add BOS/EOS as the vocabulary asks\n"
	           "  --pieces           print [[id,\"piece\"],...]; bytes that are not valid UTF-8\n"
	           "                     on their own are shown as \\xNN\n"
	           "  -h, --help         this help\n");
}

static void usage_detok(FILE *f)
{
	fprintf(f, "usage: hearth detokenize -m FILE [--special] [--keep-space] IDS...\n\n"
	           "Prints the text that the token ids stand for (no newline is added).  Like\n"
	           "llama.cpp's detokenizer, the leading space that SPM vocabularies put before\n"
	           "the first word is dropped from the first token.\n\n"
	           "  -m, --model FILE   GGUF model or vocabulary file\n"
	           "  --special          render control tokens (<s>, <|im_end|>, ...) as text\n"
	           "  --keep-space       keep that leading space\n"
	           "  -h, --help         this help\n");
}

static int open_vocab(const char *path, hearth_gguf **g, hearth_vocab **v)
{
	int rc = hearth_gguf_open(path, g);
	if (rc)
		return cli_fail(path, rc);
	rc = hearth_vocab_load(*g, v);
	if (rc) {
		cli_fail(path, rc);
		hearth_gguf_free(*g);
		return 1;
	}
	return 0;
}

/* A JSON string for a piece: valid UTF-8 as is, other bytes as the text \xNN. */
static json_t *piece_json(hearth_str p)
{
	if (p.len == 0)
		return json_string("");
	json_t *j = json_stringn(p.ptr, p.len);
	if (j)
		return j;
	char *buf = malloc(p.len * 4 + 1);
	if (!buf)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < p.len; i++) {
		unsigned char c = (unsigned char)p.ptr[i];
		json_t *one = c < 0x80 ? json_stringn((const char *)&c, 1) : NULL;
		if (one) {
			buf[k++] = (char)c;
			json_decref(one);
		} else {
			k += (size_t)snprintf(buf + k, 5, "\\x%02X", c);
		}
	}
	/* multi-byte valid sequences inside an invalid piece are also shown as \xNN */
	j = json_stringn(buf, k);
	free(buf);
	return j;
}

int cmd_tokenize(int argc, char **argv)
{
	const char *model = NULL, *file = NULL, *text = NULL;
	bool parse_special = false, add_special = false, pieces = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (cli_is(a, "-h", "--help")) {
			usage_tok(stdout);
			return 0;
		} else if (cli_is(a, "-m", "--model") && i + 1 < argc) {
			model = argv[++i];
		} else if (cli_is(a, "-f", "--file") && i + 1 < argc) {
			file = argv[++i];
		} else if (cli_is(a, "--parse-special", NULL)) {
			parse_special = true;
		} else if (cli_is(a, "--add-special", NULL)) {
			add_special = true;
		} else if (cli_is(a, "--pieces", NULL)) {
			pieces = true;
		} else if (a[0] == '-' && a[1] && !text) {
			fprintf(stderr, "error: unknown option '%s' (or missing value)\n\n", a);
			usage_tok(stderr);
			return 2;
		} else if (!text) {
			text = a;
		} else {
			fprintf(stderr, "error: more than one TEXT argument\n\n");
			usage_tok(stderr);
			return 2;
		}
	}
	if (!model || (!text == !file)) {
		fprintf(stderr, "error: need -m FILE and exactly one of TEXT or -f FILE\n\n");
		usage_tok(stderr);
		return 2;
	}
	char *buf = NULL;
	size_t len;
	if (file) {
		int rc = hx_read_file(file, &buf, &len);
		if (rc)
			return cli_fail(file, rc);
		text = buf;
	} else {
		len = strlen(text);
	}
	hearth_gguf *g;
	hearth_vocab *v;
	if (open_vocab(model, &g, &v)) {
		free(buf);
		return 1;
	}
	int status = 1;
	size_t n = 0;
	int32_t *ids = NULL;
	int rc = hearth_tokenize_alloc(v, text, len, add_special, parse_special, &ids, &n);
	if (rc) {
		cli_fail("", rc);
		goto out;
	}
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n; i++) {
		if (pieces) {
			json_t *pair = json_array();
			json_array_append_new(pair, json_integer(ids[i]));
			json_array_append_new(pair, piece_json(hearth_token_piece(v, ids[i], true)));
			json_array_append_new(arr, pair);
		} else {
			json_array_append_new(arr, json_integer(ids[i]));
		}
	}
	char *s = arr ? json_dumps(arr, JSON_COMPACT | JSON_ENSURE_ASCII * 0) : NULL;
	json_decref(arr);
	if (!s) {
		fprintf(stderr, "error: out of memory\n");
		goto out;
	}
	printf("%s\n", s);
	free(s);
	status = 0;
out:
	free(ids);
	free(buf);
	hearth_vocab_free(v);
	hearth_gguf_free(g);
	return status;
}

int cmd_detokenize(int argc, char **argv)
{
	const char *model = NULL;
	unsigned flags = HEARTH_DETOK_STRIP_SPACE;
	int first_id = -1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (cli_is(a, "-h", "--help")) {
			usage_detok(stdout);
			return 0;
		} else if (cli_is(a, "-m", "--model") && i + 1 < argc) {
			model = argv[++i];
		} else if (cli_is(a, "--special", NULL)) {
			flags |= HEARTH_DETOK_SPECIAL;
		} else if (cli_is(a, "--keep-space", NULL)) {
			flags &= ~(unsigned)HEARTH_DETOK_STRIP_SPACE;
		} else if (a[0] == '-' && !(a[1] >= '0' && a[1] <= '9')) {
			fprintf(stderr, "error: unknown option '%s' (or missing value)\n\n", a);
			usage_detok(stderr);
			return 2;
		} else {
			first_id = i;
			break;
		}
	}
	if (!model) {
		fprintf(stderr, "error: need -m FILE\n\n");
		usage_detok(stderr);
		return 2;
	}
	int n = first_id < 0 ? 0 : argc - first_id;
	int32_t *ids = malloc(((size_t)n + 1) * sizeof *ids);
	if (!ids)
		return 1;
	for (int i = 0; i < n; i++) {
		long long x;
		/* ids may also be given as one comma/space separated argument list: accept "1," */
		char tmp[32];
		snprintf(tmp, sizeof tmp, "%s", argv[first_id + i]);
		size_t tl = strlen(tmp);
		while (tl && (tmp[tl - 1] == ',' || tmp[tl - 1] == ']'))
			tmp[--tl] = 0;
		const char *p = tmp[0] == '[' ? tmp + 1 : tmp;
		if (!cli_int("token id", p, 0, INT32_MAX, &x)) {
			free(ids);
			return 2;
		}
		ids[i] = (int32_t)x;
	}
	hearth_gguf *g;
	hearth_vocab *v;
	if (open_vocab(model, &g, &v)) {
		free(ids);
		return 1;
	}
	char *out = NULL;
	size_t ol = 0;
	int rc = hearth_detokenize(v, ids, (size_t)n, flags, &out, &ol);
	int status = 0;
	if (rc)
		status = cli_fail("", rc);
	else
		fwrite(out, 1, ol, stdout);
	free(out);
	free(ids);
	hearth_vocab_free(v);
	hearth_gguf_free(g);
	return status;
}
