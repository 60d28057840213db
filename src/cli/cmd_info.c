/*
 * cmd_info.c - `hearth info FILE [--json] [--kv] [--no-tensors]`: what a GGUF file holds.
 *
 * Validates the container, prints the architecture and its hyper-parameters, a
 * tokenizer summary, whether a chat template is present, the tensor table and
 * totals with bits per weight, and then (for a file with tensors) runs the
 * model-level checks that loading runs.  Any defect, or a model hearth cannot
 * load: `error: FILE: ...` on stderr and exit 1.
 */
#include "cli/cli.h"
#include "util/util.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: hearth info FILE.gguf [--json] [--kv] [--no-tensors]\n\n"
	           "Validates a GGUF file and shows its architecture, hyper-parameters, tokenizer,\n"
	           "chat template, tensors (name, type, shape, bytes) and totals (bits per weight).\n\n"
	           "  --json        one JSON object on stdout instead of text\n"
	           "  --kv          list every metadata key/value (long arrays abbreviated)\n"
	           "  --no-tensors  leave out the tensor table\n"
	           "  -h, --help    this help\n\n"
	           "A file with tensors is also checked as a model, exactly as loading it would be.\n"
	           "Exit status: 0 valid, 1 invalid, unreadable or not loadable (the reason is\n"
	           "printed on stderr), 2 usage.\n");
}

/* Prints a string value with control characters escaped, at most `max` bytes. */
static void put_str(FILE *f, hearth_str s, size_t max)
{
	size_t n = s.len < max ? (size_t)s.len : max;
	fputc('"', f);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		if (c == '\n')
			fputs("\\n", f);
		else if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 32 || c == 127)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
	if (n < s.len)
		fprintf(f, "... (%" PRIu64 " bytes)", s.len);
}

static void put_value(FILE *f, const hearth_gguf_value *v, int depth)
{
	switch (v->type) {
	case HEARTH_GGUF_U8:
	case HEARTH_GGUF_U16:
	case HEARTH_GGUF_U32:
	case HEARTH_GGUF_U64: fprintf(f, "%" PRIu64, v->v.u64); break;
	case HEARTH_GGUF_I8:
	case HEARTH_GGUF_I16:
	case HEARTH_GGUF_I32:
	case HEARTH_GGUF_I64: fprintf(f, "%" PRId64, v->v.i64); break;
	case HEARTH_GGUF_F32:
	case HEARTH_GGUF_F64: fprintf(f, "%g", v->v.f64); break;
	case HEARTH_GGUF_BOOL: fputs(v->v.u64 ? "true" : "false", f); break;
	case HEARTH_GGUF_STRING: put_str(f, v->v.str, 80); break;
	case HEARTH_GGUF_ARRAY: {
		uint64_t n = v->v.arr.n, show = n < 6 ? n : 6;
		fprintf(f, "[%s x %" PRIu64 "]", hearth_gguf_type_name(v->v.arr.type), n);
		if (depth > 1 || n == 0)
			break;
		fputs(" ", f);
		for (uint64_t i = 0; i < show; i++) {
			if (i)
				fputs(", ", f);
			if (v->v.arr.items) {
				put_value(f, &v->v.arr.items[i], depth + 1);
			} else {
				hearth_gguf_value e;
				e.type = v->v.arr.type;
				if (e.type == HEARTH_GGUF_F32 || e.type == HEARTH_GGUF_F64)
					fprintf(f, "%g", hearth_gguf_arr_f64(v, i));
				else if (e.type == HEARTH_GGUF_BOOL)
					fputs(hearth_gguf_arr_u64(v, i) ? "true" : "false", f);
				else if (e.type == HEARTH_GGUF_U64)
					fprintf(f, "%" PRIu64, hearth_gguf_arr_u64(v, i));
				else
					fprintf(f, "%" PRId64, hearth_gguf_arr_i64(v, i));
			}
		}
		if (show < n)
			fputs(", ...", f);
		break;
	}
	default: fputs("?", f);
	}
}

/* A JSON number for a float32 value, with the shortest decimal that round-trips
 * (so 1e-5f prints as 1e-05, not 9.9999997473787516e-06). */
static json_t *json_f32(double x)
{
	if (!isfinite(x))
		return json_null();
	char buf[32];
	for (int prec = 6; prec <= 9; prec++) {
		snprintf(buf, sizeof buf, "%.*g", prec, x);
		if ((float)strtod(buf, NULL) == (float)x)
			break;
	}
	return json_real(strtod(buf, NULL));
}

static json_t *json_value(const hearth_gguf_value *v, int depth)
{
	switch (v->type) {
	case HEARTH_GGUF_U8:
	case HEARTH_GGUF_U16:
	case HEARTH_GGUF_U32:
	case HEARTH_GGUF_U64: return json_integer((json_int_t)v->v.u64);
	case HEARTH_GGUF_I8:
	case HEARTH_GGUF_I16:
	case HEARTH_GGUF_I32:
	case HEARTH_GGUF_I64: return json_integer(v->v.i64);
	case HEARTH_GGUF_F32: return json_f32(v->v.f64);
	case HEARTH_GGUF_F64: return isfinite(v->v.f64) ? json_real(v->v.f64) : json_null();
	case HEARTH_GGUF_BOOL: return json_boolean(v->v.u64);
	case HEARTH_GGUF_STRING: return json_stringn_nocheck(v->v.str.ptr, (size_t)v->v.str.len);
	case HEARTH_GGUF_ARRAY: {
		/* long arrays (vocabularies, merges) are summarised, short ones listed */
		uint64_t n = v->v.arr.n;
		if (n > 64 || depth > 2)
			return json_pack("{s:s,s:s,s:I}", "type", "array", "element_type",
			                 hearth_gguf_type_name(v->v.arr.type), "length", (json_int_t)n);
		json_t *a = json_array();
		for (uint64_t i = 0; i < n; i++) {
			if (v->v.arr.items) {
				json_array_append_new(a, json_value(&v->v.arr.items[i], depth + 1));
			} else if (v->v.arr.type == HEARTH_GGUF_F32) {
				json_array_append_new(a, json_f32(hearth_gguf_arr_f64(v, i)));
			} else if (v->v.arr.type == HEARTH_GGUF_F64) {
				json_array_append_new(a, json_real(hearth_gguf_arr_f64(v, i)));
			} else if (v->v.arr.type == HEARTH_GGUF_BOOL) {
				json_array_append_new(a, json_boolean(hearth_gguf_arr_u64(v, i)));
			} else {
				json_array_append_new(a, json_integer(hearth_gguf_arr_i64(v, i)));
			}
		}
		return a;
	}
	default: return json_null();
	}
}

/* The text of token `id` from tokenizer.ggml.tokens, or NULL. */
static const hearth_str *token_text(const hearth_gguf *g, int64_t id)
{
	const hearth_gguf_value *toks = hearth_gguf_get(g, "tokenizer.ggml.tokens");
	if (!toks || toks->type != HEARTH_GGUF_ARRAY || toks->v.arr.type != HEARTH_GGUF_STRING || id < 0 ||
	    (uint64_t)id >= toks->v.arr.n)
		return NULL;
	return &toks->v.arr.items[id].v.str;
}

static const char *k_special[] = {"bos", "eos", "eot", "unknown", "padding", "seperator", "mask"};

struct totals {
	int64_t n_params;
	uint64_t n_bytes;
};

static struct totals compute_totals(const hearth_gguf *g)
{
	struct totals t = {0, 0};
	for (int64_t i = 0; i < hearth_gguf_n_tensors(g); i++) {
		const hearth_gguf_tensor *x = hearth_gguf_tensor_at(g, i);
		t.n_params += x->n_elements;
		t.n_bytes += x->n_bytes;
	}
	return t;
}

static void print_text(const hearth_gguf *g, bool all_kv, bool tensors)
{
	hearth_str arch = {"", 0}, name = {"", 0};
	hearth_gguf_get_str(g, "general.architecture", &arch);
	hearth_gguf_get_str(g, "general.name", &name);
	printf("file:          %s\n", hearth_gguf_path(g));
	printf("format:        GGUF v%u, %.2f MiB, alignment %u, %" PRId64 " keys, %" PRId64 " tensors\n",
	       hearth_gguf_version(g), (double)hearth_gguf_file_size(g) / (1024.0 * 1024.0), hearth_gguf_alignment(g),
	       hearth_gguf_n_kv(g), hearth_gguf_n_tensors(g));
	printf("architecture:  %.*s\n", (int)arch.len, arch.ptr);
	if (name.len)
		printf("name:          %.*s\n", (int)HX_MIN(name.len, 200), name.ptr);

	/* hyper-parameters: every scalar key of the architecture's namespace */
	if (arch.len) {
		char prefix[256];
		snprintf(prefix, sizeof prefix, "%.*s.", (int)HX_MIN(arch.len, 200), arch.ptr);
		size_t pl = strlen(prefix);
		printf("hyper-parameters:\n");
		for (int64_t i = 0; i < hearth_gguf_n_kv(g); i++) {
			const char *k = hearth_gguf_kv_key(g, i);
			if (strncmp(k, prefix, pl) != 0)
				continue;
			printf("  %-34s ", k + pl);
			put_value(stdout, hearth_gguf_kv_value(g, i), 1);
			putchar('\n');
		}
	}

	hearth_str tm = {"", 0}, pre = {"", 0};
	if (hearth_gguf_get_str(g, "tokenizer.ggml.model", &tm) == 0) {
		const hearth_gguf_value *toks = hearth_gguf_get(g, "tokenizer.ggml.tokens");
		const hearth_gguf_value *merges = hearth_gguf_get(g, "tokenizer.ggml.merges");
		hearth_gguf_get_str(g, "tokenizer.ggml.pre", &pre);
		printf("tokenizer:     %.*s", (int)HX_MIN(tm.len, 64), tm.ptr);
		if (pre.len)
			printf(" (pre-tokenizer %.*s)", (int)HX_MIN(pre.len, 64), pre.ptr);
		if (toks && toks->type == HEARTH_GGUF_ARRAY)
			printf(", %" PRIu64 " tokens", toks->v.arr.n);
		if (merges && merges->type == HEARTH_GGUF_ARRAY)
			printf(", %" PRIu64 " merges", merges->v.arr.n);
		putchar('\n');
		for (size_t s = 0; s < HX_ARRAY_LEN(k_special); s++) {
			char key[96];
			int64_t id;
			snprintf(key, sizeof key, "tokenizer.ggml.%s_token_id", k_special[s]);
			if (hearth_gguf_get_i64(g, key, &id) != 0)
				continue;
			const hearth_str *t = token_text(g, id);
			printf("  %-8s %" PRId64 " ", strcmp(k_special[s], "seperator") == 0 ? "separator" : k_special[s], id);
			if (t)
				put_str(stdout, *t, 40);
			else
				printf("(out of range)");
			putchar('\n');
		}
		bool b;
		if (hearth_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &b) == 0)
			printf("  add_bos  %s\n", b ? "yes" : "no");
		if (hearth_gguf_get_bool(g, "tokenizer.ggml.add_eos_token", &b) == 0)
			printf("  add_eos  %s\n", b ? "yes" : "no");
	}
	hearth_str tmpl;
	if (hearth_gguf_get_str(g, "tokenizer.chat_template", &tmpl) == 0)
		printf("chat template: yes (%" PRIu64 " bytes)\n", tmpl.len);
	else
		printf("chat template: no (a built-in template is chosen from the vocabulary)\n");

	if (all_kv) {
		printf("metadata:\n");
		for (int64_t i = 0; i < hearth_gguf_n_kv(g); i++) {
			printf("  %-40s ", hearth_gguf_kv_key(g, i));
			put_value(stdout, hearth_gguf_kv_value(g, i), 1);
			putchar('\n');
		}
	}

	if (tensors && hearth_gguf_n_tensors(g) > 0) {
		printf("tensors:\n  %-40s %-8s %-26s %12s\n", "name", "type", "shape", "bytes");
		for (int64_t i = 0; i < hearth_gguf_n_tensors(g); i++) {
			const hearth_gguf_tensor *t = hearth_gguf_tensor_at(g, i);
			char shape[64] = "", *p = shape;
			for (uint32_t d = 0; d < t->n_dims; d++)
				p += snprintf(p, sizeof shape - (size_t)(p - shape), "%s%" PRId64, d ? " x " : "", t->ne[d]);
			printf("  %-40s %-8s %-26s %12" PRIu64 "\n", t->name, hearth_type_name(t->type), shape, t->n_bytes);
		}
	}
	struct totals tot = compute_totals(g);
	printf("totals:        %" PRId64 " parameters (%.1f M), %" PRIu64 " bytes of tensor data, %.2f bits per weight\n",
	       tot.n_params, (double)tot.n_params / 1e6, tot.n_bytes,
	       tot.n_params ? (double)tot.n_bytes * 8.0 / (double)tot.n_params : 0.0);
}

static void print_json(const hearth_gguf *g, bool tensors)
{
	json_t *o = json_object(), *kv = json_object(), *ts = json_array();
	json_object_set_new(o, "file", json_string(hearth_gguf_path(g)));
	json_object_set_new(o, "version", json_integer(hearth_gguf_version(g)));
	json_object_set_new(o, "size", json_integer((json_int_t)hearth_gguf_file_size(g)));
	json_object_set_new(o, "alignment", json_integer(hearth_gguf_alignment(g)));
	json_object_set_new(o, "data_offset", json_integer((json_int_t)hearth_gguf_data_offset(g)));
	hearth_str arch;
	if (hearth_gguf_get_str(g, "general.architecture", &arch) == 0)
		json_object_set_new(o, "architecture", json_stringn_nocheck(arch.ptr, (size_t)arch.len));
	for (int64_t i = 0; i < hearth_gguf_n_kv(g); i++) {
		const char *k = hearth_gguf_kv_key(g, i);
		if (strcmp(k, "tokenizer.chat_template") == 0)
			continue; /* reported below as a flag and a length */
		json_object_set_new(kv, k, json_value(hearth_gguf_kv_value(g, i), 1));
	}
	json_object_set_new(o, "metadata", kv);
	hearth_str tmpl;
	bool has_tmpl = hearth_gguf_get_str(g, "tokenizer.chat_template", &tmpl) == 0;
	json_object_set_new(o, "chat_template", json_boolean(has_tmpl));
	if (has_tmpl)
		json_object_set_new(o, "chat_template_bytes", json_integer((json_int_t)tmpl.len));
	if (tensors) {
		for (int64_t i = 0; i < hearth_gguf_n_tensors(g); i++) {
			const hearth_gguf_tensor *t = hearth_gguf_tensor_at(g, i);
			json_t *shape = json_array();
			for (uint32_t d = 0; d < t->n_dims; d++)
				json_array_append_new(shape, json_integer(t->ne[d]));
			json_array_append_new(ts, json_pack("{s:s,s:s,s:o,s:I,s:I}", "name", t->name, "type",
			                                    hearth_type_name(t->type), "shape", shape, "bytes",
			                                    (json_int_t)t->n_bytes, "offset", (json_int_t)t->offset));
		}
		json_object_set_new(o, "tensors", ts);
	} else {
		json_decref(ts);
	}
	struct totals tot = compute_totals(g);
	json_object_set_new(o, "n_tensors", json_integer(hearth_gguf_n_tensors(g)));
	json_object_set_new(o, "n_params", json_integer(tot.n_params));
	json_object_set_new(o, "tensor_bytes", json_integer((json_int_t)tot.n_bytes));
	json_object_set_new(o, "bits_per_weight",
	                    json_real(tot.n_params ? (double)tot.n_bytes * 8.0 / (double)tot.n_params : 0.0));
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s) {
		puts(s);
		free(s);
	}
	json_decref(o);
}

int cmd_info(int argc, char **argv)
{
	const char *path = NULL;
	bool as_json = false, all_kv = false, tensors = true;
	for (int i = 1; i < argc; i++) {
		if (cli_is(argv[i], "-h", "--help")) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--json") == 0) {
			as_json = true;
		} else if (strcmp(argv[i], "--kv") == 0) {
			all_kv = true;
		} else if (strcmp(argv[i], "--no-tensors") == 0) {
			tensors = false;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "error: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		} else if (!path) {
			path = argv[i];
		} else {
			fprintf(stderr, "error: more than one file given ('%s' and '%s')\n", path, argv[i]);
			return 2;
		}
	}
	if (!path) {
		usage(stderr);
		return 2;
	}
	hearth_gguf *g;
	int rc = hearth_gguf_open(path, &g);
	if (rc)
		return cli_fail(NULL, rc);
	if (as_json)
		print_json(g, tensors);
	else
		print_text(g, all_kv, tensors);
	fflush(stdout);
	/* A file with tensors claims to be a model: run the checks loading runs, so a
	 * file that `info` accepts is one that hearth can load. */
	if (hearth_gguf_n_tensors(g) > 0 && (rc = hearth_model_check(g)) != 0) {
		hearth_gguf_free(g);
		return cli_fail(NULL, rc);
	}
	hearth_gguf_free(g);
	return 0;
}
