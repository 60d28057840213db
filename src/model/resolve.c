/*
 * resolve.c - finding model files: a path, a name in the models directory, or a
 * repository in the local Hugging Face cache; the quantization preference order;
 * the listing behind "unknown model: available models are ...".
 *
 * Names come from users (the command line today, HTTP requests later), so a name
 * is validated before it touches the file system, and every file found through a
 * name is accepted only when its real path lies inside the real path of the
 * directory searched.  Nothing here downloads or creates anything.
 */
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME_MAX_LEN 255
/* Entries read from one directory, a bound against pathological trees. */
#define DIR_MAX_ENTRIES 100000

/* The preference order documented in hearth.h, best first. */
static const char *const k_quants[] = {
	"Q4_K_M", "Q4_K_XL", "Q5_K_M", "Q5_K_XL", "Q6_K", "Q6_K_XL", "Q8_0", "Q8_K_XL", "Q4_K_S", "Q5_K_S",
	"Q4_K", "Q5_K", "IQ4_XS", "IQ4_NL", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q3_K_XL", "Q3_K_L",
	"Q3_K_M", "Q3_K_S", "Q3_K", "BF16", "F16", "F32", "IQ3_M", "IQ3_S", "IQ3_XS", "IQ3_XXS",
	"Q2_K_XL", "Q2_K", "Q2_K_S", "IQ2_M", "IQ2_S", "IQ2_XS", "IQ2_XXS", "IQ1_M", "IQ1_S", "TQ2_0",
	"TQ1_0", "MXFP4",
};
#define N_QUANTS ((int)HX_ARRAY_LEN(k_quants))

static bool is_sep(char c) { return c == '-' || c == '.' || c == '_'; }

/* Finds the rightmost quant token in s[0..len): returns its rank and start
 * offset (or N_QUANTS / -1). */
static int find_quant(const char *s, size_t len, size_t *start, size_t *qlen)
{
	int best = N_QUANTS;
	for (size_t i = 0; i < len; i++) {
		if (i > 0 && !is_sep(s[i - 1]))
			continue;
		size_t blen = 0;
		int brank = -1;
		for (int q = 0; q < N_QUANTS; q++) {
			size_t l = strlen(k_quants[q]);
			if (l <= blen || i + l > len || strncasecmp(s + i, k_quants[q], l) != 0)
				continue;
			if (i + l < len && !is_sep(s[i + l]))
				continue;
			blen = l;
			brank = q;
		}
		if (brank >= 0) {
			best = brank;
			*start = i;
			*qlen = blen;
			i += blen - 1;
		}
	}
	return best;
}

/* Length of the stem of a file name: without a trailing ".gguf" (any case). */
static size_t stem_len(const char *filename)
{
	size_t n = strlen(filename);
	if (n >= 5 && strcasecmp(filename + n - 5, ".gguf") == 0)
		return n - 5;
	return n;
}

int hearth_quant_from_filename(const char *filename, char quant[16])
{
	const char *base = strrchr(filename, '/');
	base = base ? base + 1 : filename;
	size_t start = 0, qlen = 0;
	int rank = find_quant(base, stem_len(base), &start, &qlen);
	quant[0] = 0;
	if (rank < N_QUANTS)
		snprintf(quant, 16, "%s", k_quants[rank]);
	return rank;
}

static bool has_gguf_ext(const char *s)
{
	size_t n = strlen(s);
	return n > 5 && strcasecmp(s + n - 5, ".gguf") == 0;
}

/* Split shards other than a single file, and vision projectors, are not models. */
static bool skip_file(const char *filename)
{
	if (strcasestr(filename, "mmproj"))
		return true;
	const char *of = strstr(filename, "-of-");
	if (of && of - filename >= 6) {
		const char *p = of - 5;
		bool digits = p[-1] == '-';
		for (int i = 0; i < 5 && digits; i++)
			digits = p[i] >= '0' && p[i] <= '9';
		if (digits)
			return true;
	}
	return false;
}

/* ---- directories ---- */

static int home_dir(const char **out)
{
	const char *h = getenv("HOME");
	if (h && h[0] == '/') {
		*out = h;
		return 0;
	}
	struct passwd *pw = getpwuid(getuid());
	if (pw && pw->pw_dir && pw->pw_dir[0] == '/') {
		*out = pw->pw_dir;
		return 0;
	}
	return hx_err(HEARTH_ENOTFOUND, "cannot find the home directory: HOME is not set");
}

static int join(char **out, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *p = hx_malloc(la + lb + 2);
	if (!p)
		return HEARTH_ENOMEM;
	memcpy(p, a, la);
	size_t o = la;
	if (la && a[la - 1] != '/' && lb)
		p[o++] = '/';
	memcpy(p + o, b, lb + 1);
	*out = p;
	return 0;
}

/* An environment variable usable as a directory: set and absolute (the XDG
 * specification says relative values are to be ignored). */
static const char *env_dir(const char *name)
{
	const char *v = getenv(name);
	return v && v[0] == '/' ? v : NULL;
}

int hearth_data_dir_default(char **out)
{
	const char *x = env_dir("XDG_DATA_HOME");
	if (x)
		return join(out, x, "hearth");
	const char *h;
	int rc = home_dir(&h);
	return rc ? rc : join(out, h, ".local/share/hearth");
}

int hearth_models_dir_default(char **out)
{
	const char *m = getenv("HEARTH_MODELS");
	if (m && m[0]) {
		char *p = hx_strdup(m);
		if (!p)
			return HEARTH_ENOMEM;
		*out = p;
		return 0;
	}
	char *d;
	int rc = hearth_data_dir_default(&d);
	if (rc)
		return rc;
	rc = join(out, d, "models");
	free(d);
	return rc;
}

int hearth_hf_cache_default(char **out)
{
	const char *v = getenv("HF_HUB_CACHE");
	if (v && v[0]) {
		char *p = hx_strdup(v);
		if (!p)
			return HEARTH_ENOMEM;
		*out = p;
		return 0;
	}
	v = getenv("HF_HOME");
	if (v && v[0])
		return join(out, v, "hub");
	v = env_dir("XDG_CACHE_HOME");
	if (v)
		return join(out, v, "huggingface/hub");
	const char *h;
	int rc = home_dir(&h);
	return rc ? rc : join(out, h, ".cache/huggingface/hub");
}

/* The directories to search: owned copies (NULL when not searched). */
struct dirs {
	char *models, *hf;
};

static void dirs_free(struct dirs *d)
{
	free(d->models);
	free(d->hf);
}

static int dirs_get(const hearth_model_dirs *in, struct dirs *d)
{
	int rc = 0;
	d->models = d->hf = NULL;
	if (in && in->models_dir) {
		if (in->models_dir[0] && !(d->models = hx_strdup(in->models_dir)))
			rc = HEARTH_ENOMEM;
	} else if (hearth_models_dir_default(&d->models) == HEARTH_ENOMEM) {
		rc = HEARTH_ENOMEM; /* no home directory: simply not searched */
	}
	if (!rc && in && in->hf_cache) {
		if (in->hf_cache[0] && !(d->hf = hx_strdup(in->hf_cache)))
			rc = HEARTH_ENOMEM;
	} else if (!rc && hearth_hf_cache_default(&d->hf) == HEARTH_ENOMEM) {
		rc = HEARTH_ENOMEM;
	}
	if (rc)
		dirs_free(d);
	hx_errclear();
	return rc;
}

/* ---- candidate lists ---- */

struct list {
	hearth_model_file *v;
	size_t n, cap;
};

void hearth_model_file_clear(hearth_model_file *f)
{
	if (!f)
		return;
	free(f->name);
	free(f->path);
	memset(f, 0, sizeof *f);
}

void hearth_model_list_free(hearth_model_file *list, size_t n)
{
	for (size_t i = 0; i < n && list; i++)
		hearth_model_file_clear(&list[i]);
	free(list);
}

static void list_free(struct list *l)
{
	hearth_model_list_free(l->v, l->n);
	memset(l, 0, sizeof *l);
}

/* Adds a file (takes ownership of name and path, freeing them on failure); its
 * quantization is read from `filename` (the name it was found under: a real
 * path may be a content-addressed blob). */
static int list_add(struct list *l, char *name, char *path, const char *filename, uint64_t size, int source)
{
	if (!name || !path) {
		free(name);
		free(path);
		return HEARTH_ENOMEM;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		hearth_model_file *v = hx_realloc(l->v, cap * sizeof *v);
		if (!v) {
			free(name);
			free(path);
			return HEARTH_ENOMEM;
		}
		l->v = v;
		l->cap = cap;
	}
	hearth_model_file *f = &l->v[l->n++];
	memset(f, 0, sizeof *f);
	f->name = name;
	f->path = path;
	f->size = size;
	f->source = source;
	if (hearth_quant_from_filename(filename, f->quant) == N_QUANTS)
		hearth_quant_from_filename(path, f->quant); /* an alias: the target's name may tell */
	return 0;
}

static char *fmt_dup(const char *fmt, ...) HX_PRINTF(1, 2);
static char *fmt_dup(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *p = hx_malloc((size_t)n + 1);
	if (!p)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

/* realpath(dir) + "/" when dir exists, else NULL. */
static char *root_of(const char *dir)
{
	char *r = realpath(dir, NULL);
	if (!r)
		return NULL;
	char *s = fmt_dup("%s/", strcmp(r, "/") == 0 ? "" : r);
	free(r);
	return s;
}

/* If `path` is a regular file whose real path is inside `root` (a realpath with
 * a trailing slash), returns that real path (malloc'd) and its size. */
static char *contained_file(const char *path, const char *root, uint64_t *size)
{
	char *r = realpath(path, NULL);
	struct stat st;
	if (!r)
		return NULL;
	if (strncmp(r, root, strlen(root)) != 0 || stat(r, &st) != 0 || !S_ISREG(st.st_mode)) {
		free(r);
		return NULL;
	}
	*size = (uint64_t)st.st_size;
	return r;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The sorted names of `dir`'s entries that are .gguf files (want_dirs false) or
 * directories not starting with '.' (want_dirs true).  *n = 0 if unreadable. */
static int read_names(const char *dir, bool want_dirs, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	char **v = NULL;
	size_t cnt = 0, cap = 0, seen = 0;
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(d)) && seen++ < DIR_MAX_ENTRIES) {
		if (e->d_name[0] == '.')
			continue;
		char *full;
		if ((rc = join(&full, dir, e->d_name)))
			break;
		struct stat st;
		bool ok = stat(full, &st) == 0 &&
			  (want_dirs ? S_ISDIR(st.st_mode)
				     : S_ISREG(st.st_mode) && has_gguf_ext(e->d_name) && !skip_file(e->d_name));
		free(full);
		if (!ok)
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			char **nv = hx_realloc(v, cap * sizeof *nv);
			if (!nv) {
				rc = HEARTH_ENOMEM;
				break;
			}
			v = nv;
		}
		if (!(v[cnt] = hx_strdup(e->d_name))) {
			rc = HEARTH_ENOMEM;
			break;
		}
		cnt++;
	}
	closedir(d);
	if (rc) {
		for (size_t i = 0; i < cnt; i++)
			free(v[i]);
		free(v);
		return rc;
	}
	if (cnt)
		qsort(v, cnt, sizeof *v, cmp_str);
	*out = v;
	*n = cnt;
	return 0;
}

static void names_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Adds the .gguf files of `dir` (inside `root`); names are prefix + stem. */
static int add_dir_files(struct list *l, const char *dir, const char *root, const char *prefix, int source)
{
	char **names;
	size_t n;
	int rc = read_names(dir, false, &names, &n);
	for (size_t i = 0; !rc && i < n; i++) {
		char *full;
		if ((rc = join(&full, dir, names[i])))
			break;
		uint64_t size = 0;
		char *real = contained_file(full, root, &size);
		free(full);
		if (!real)
			continue;
		rc = list_add(l, fmt_dup("%s%.*s", prefix, (int)stem_len(names[i]), names[i]), real, names[i], size,
			      source);
	}
	names_free(names, n);
	return rc;
}

/* ---- the Hugging Face cache ---- */

/* The snapshot directories of a repository directory: the one refs/main names
 * when it exists, otherwise every snapshot. */
static int hf_snapshots(const char *repo_dir, char ***out, size_t *n)
{
	char *snaps, *ref;
	int rc = join(&snaps, repo_dir, "snapshots");
	if (rc)
		return rc;
	if ((rc = join(&ref, repo_dir, "refs/main"))) {
		free(snaps);
		return rc;
	}
	char hash[72] = {0};
	FILE *f = fopen(ref, "r");
	free(ref);
	if (f) {
		size_t r = fread(hash, 1, sizeof hash - 1, f), k = 0;
		fclose(f);
		while (k < r && ((hash[k] >= '0' && hash[k] <= '9') || (hash[k] >= 'a' && hash[k] <= 'f')))
			k++;
		hash[k] = 0;
		char *sd = NULL;
		struct stat st;
		if (k >= 7 && (rc = join(&sd, snaps, hash))) {
			free(snaps);
			return rc;
		}
		if (sd && stat(sd, &st) == 0 && S_ISDIR(st.st_mode)) {
			char **v = hx_malloc(sizeof *v);
			free(snaps);
			if (!v) {
				free(sd);
				return HEARTH_ENOMEM;
			}
			v[0] = sd;
			*out = v;
			*n = 1;
			return 0;
		}
		free(sd);
	}
	char **names;
	size_t cnt;
	rc = read_names(snaps, true, &names, &cnt);
	for (size_t i = 0; !rc && i < cnt; i++) {
		char *full;
		if ((rc = join(&full, snaps, names[i])))
			break;
		free(names[i]);
		names[i] = full;
	}
	free(snaps);
	if (rc) {
		names_free(names, cnt);
		return rc;
	}
	*out = names;
	*n = cnt;
	return 0;
}

/* Adds the .gguf files of one cached repository, in its snapshot directories and
 * their sub-directories, named "ORG/REPO:TAG" (TAG the quant, or the stem when
 * the quant is unknown or shared by several files). */
static int hf_add_repo(struct list *l, const char *hub_root, const char *hub, const char *dirname)
{
	/* dirname is "models--ORG--REPO": ORG has no "--" (HF forbids it). */
	const char *org = dirname + 8, *sep = strstr(org, "--");
	if (!sep || sep == org || !sep[2])
		return 0;
	char *repo_dir;
	int rc = join(&repo_dir, hub, dirname);
	if (rc)
		return rc;
	char **snaps;
	size_t ns;
	rc = hf_snapshots(repo_dir, &snaps, &ns);
	free(repo_dir);
	if (rc)
		return rc;
	size_t first = l->n;
	char *prefix = fmt_dup("%.*s/%s:", (int)(sep - org), org, sep + 2);
	if (!prefix)
		rc = HEARTH_ENOMEM;
	for (size_t s = 0; !rc && s < ns; s++) {
		rc = add_dir_files(l, snaps[s], hub_root, prefix, HEARTH_MODEL_SRC_HF);
		char **subs;
		size_t nsub;
		if (!rc)
			rc = read_names(snaps[s], true, &subs, &nsub);
		else
			continue;
		for (size_t j = 0; !rc && j < nsub; j++) {
			char *sd;
			if (!(rc = join(&sd, snaps[s], subs[j]))) {
				rc = add_dir_files(l, sd, hub_root, prefix, HEARTH_MODEL_SRC_HF);
				free(sd);
			}
		}
		names_free(subs, nsub);
	}
	names_free(snaps, ns);
	/* Rename to ORG/REPO:QUANT where the quant identifies the file uniquely. */
	for (size_t i = first; !rc && i < l->n; i++) {
		hearth_model_file *f = &l->v[i];
		if (!f->quant[0])
			continue;
		bool unique = true;
		for (size_t j = first; j < l->n && unique; j++)
			if (j != i && strcmp(l->v[j].quant, f->quant) == 0)
				unique = false;
		if (!unique)
			continue;
		char *nn = fmt_dup("%s%s", prefix, f->quant);
		if (!nn) {
			rc = HEARTH_ENOMEM;
			break;
		}
		free(f->name);
		f->name = nn;
	}
	/* Duplicate names (the same file in two snapshots): keep the first. */
	for (size_t i = first; !rc && i < l->n; i++)
		for (size_t j = i + 1; j < l->n; j++)
			if (strcmp(l->v[i].name, l->v[j].name) == 0) {
				hearth_model_file_clear(&l->v[j]);
				l->v[j] = l->v[--l->n];
				j--;
			}
	free(prefix);
	return rc;
}

/* Does "models--ORG--REPO" name repository `repo` (case-insensitive)? */
static bool hf_repo_is(const char *dirname, const char *repo)
{
	if (strncmp(dirname, "models--", 8) != 0)
		return false;
	const char *sep = strstr(dirname + 8, "--");
	return sep && sep > dirname + 8 && strcasecmp(sep + 2, repo) == 0;
}

/* ---- names ---- */

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
	       c == '-' || c == '+' || c == '@';
}

/* Validates a user's model name; splits off ":TAG".  base/tag point into buf. */
static int parse_name(const char *arg, char *buf, size_t buflen, const char **base, const char **tag)
{
	size_t n = strlen(arg);
	if (n == 0)
		return hx_err(HEARTH_EINVAL, "empty model name");
	if (n > NAME_MAX_LEN || n >= buflen)
		return hx_err(HEARTH_EINVAL, "model name longer than %d bytes", NAME_MAX_LEN);
	memcpy(buf, arg, n + 1);
	*tag = NULL;
	char *colon = strchr(buf, ':');
	if (colon) {
		if (strchr(colon + 1, ':'))
			return hx_err(HEARTH_EINVAL, "model name '%s' has more than one ':'", arg);
		*colon = 0;
		*tag = colon + 1;
		if (!**tag)
			return hx_err(HEARTH_EINVAL, "model name '%s' has an empty tag after ':'", arg);
		for (const char *p = *tag; *p; p++)
			if (!name_char(*p))
				return hx_err(HEARTH_EINVAL, "model tag '%s' may only contain letters, digits and . _ - + @",
					      *tag);
	}
	*base = buf;
	int comps = 0;
	for (const char *p = buf;; p++) {
		const char *start = p;
		while (*p && *p != '/') {
			if (!name_char(*p))
				return hx_err(HEARTH_EINVAL,
					      "model name '%s' may only contain letters, digits, . _ - + @, one '/' and "
					      "one ':TAG' (give a path with a '/' or './' prefix to open a file)",
					      arg);
			p++;
		}
		if (p == start || *start == '.')
			return hx_err(HEARTH_EINVAL,
				      "model name '%s': a name's parts must not be empty or start with '.'", arg);
		if (++comps > 2)
			return hx_err(HEARTH_EINVAL, "model name '%s' has more than two '/'-separated parts", arg);
		if (!*p)
			break;
	}
	return 0;
}

/* Does file `f` satisfy the tag (quant or stem, case-insensitive)? */
static bool tag_ok(const hearth_model_file *f, const char *tag)
{
	if (!tag)
		return true;
	if (strcasecmp(f->quant, tag) == 0)
		return true;
	const char *b = strrchr(f->name, '/');
	b = b ? b + 1 : f->name;
	const char *c = strrchr(b, ':');
	if (c)
		b = c + 1;
	if (strcasecmp(b, tag) == 0)
		return true;
	const char *pb = strrchr(f->path, '/');
	pb = pb ? pb + 1 : f->path;
	return stem_len(pb) == strlen(tag) && strncasecmp(pb, tag, strlen(tag)) == 0;
}

/* Picks the best file of l[from..) (honouring the tag) and moves it to *out. */
static bool pick_best(struct list *l, size_t from, const char *tag, hearth_model_file *out)
{
	size_t best = SIZE_MAX;
	int best_rank = 0;
	for (size_t i = from; i < l->n; i++) {
		if (!tag_ok(&l->v[i], tag))
			continue;
		char q[16];
		int r = hearth_quant_from_filename(l->v[i].quant, q);
		if (best == SIZE_MAX || r < best_rank ||
		    (r == best_rank && strcmp(l->v[i].name, l->v[best].name) < 0)) {
			best = i;
			best_rank = r;
		}
	}
	if (best == SIZE_MAX)
		return false;
	*out = l->v[best];
	l->v[best] = l->v[--l->n];
	return true;
}

/* The models directory part of resolution: exact file, sub-directory, or the
 * quant family NAME[-._]QUANT.gguf. */
static int resolve_models_dir(const char *dir, const char *base, const char *tag, hearth_model_file *out, bool *found)
{
	char *root = root_of(dir);
	if (!root)
		return 0;
	struct list l = {0};
	int rc = 0;
	char *p = NULL;
	uint64_t size;
	/* NAME.gguf, or NAME when it already ends in .gguf */
	if (!tag) {
		p = has_gguf_ext(base) ? fmt_dup("%s%s", root, base) : fmt_dup("%s%s.gguf", root, base);
		if (!p) {
			rc = HEARTH_ENOMEM;
			goto done;
		}
		char *real = contained_file(p, root, &size);
		if (real) {
			rc = list_add(&l, fmt_dup("%.*s", (int)stem_len(base), base), real, base, size,
				      HEARTH_MODEL_SRC_DIR);
			if (!rc && pick_best(&l, 0, NULL, out))
				*found = true;
			goto done;
		}
		free(p);
		p = NULL;
	}
	/* a sub-directory NAME */
	if (!(p = fmt_dup("%s%s", root, base))) {
		rc = HEARTH_ENOMEM;
		goto done;
	}
	struct stat st;
	char *rd = realpath(p, NULL);
	if (rd && strncmp(rd, root, strlen(root)) == 0 && stat(rd, &st) == 0 && S_ISDIR(st.st_mode) &&
	    !strchr(base, '/')) {
		char *prefix = fmt_dup("%s/", base);
		rc = prefix ? add_dir_files(&l, p, root, prefix, HEARTH_MODEL_SRC_DIR) : HEARTH_ENOMEM;
		free(prefix);
		free(rd);
		if (!rc && pick_best(&l, 0, tag, out))
			*found = true;
		goto done;
	}
	free(rd);
	/* the family: files in NAME's directory whose stem is NAME or NAME<sep>QUANT */
	{
		const char *slash = strrchr(base, '/');
		const char *leaf = slash ? slash + 1 : base;
		char *sub = slash ? fmt_dup("%s%.*s", root, (int)(slash - base), base) : hx_strdup(root);
		char *prefix = slash ? fmt_dup("%.*s/", (int)(slash - base), base) : hx_strdup("");
		if (!sub || !prefix) {
			free(sub);
			free(prefix);
			rc = HEARTH_ENOMEM;
			goto done;
		}
		rc = add_dir_files(&l, sub, root, prefix, HEARTH_MODEL_SRC_DIR);
		free(sub);
		free(prefix);
		size_t ll = strlen(leaf);
		for (size_t i = 0; !rc && i < l.n; i++) {
			const char *nm = strrchr(l.v[i].name, '/');
			nm = nm ? nm + 1 : l.v[i].name;
			size_t start = 0, qlen = 0, sl = strlen(nm);
			bool keep = sl == ll && strcasecmp(nm, leaf) == 0;
			if (!keep && sl > ll && strncasecmp(nm, leaf, ll) == 0 && is_sep(nm[ll]) &&
			    find_quant(nm, sl, &start, &qlen) < N_QUANTS && start == ll + 1 && start + qlen == sl)
				keep = true;
			if (!keep) {
				hearth_model_file_clear(&l.v[i]);
				l.v[i] = l.v[--l.n];
				i--;
			}
		}
		if (!rc && pick_best(&l, 0, tag, out))
			*found = true;
	}
done:
	free(p);
	free(root);
	list_free(&l);
	return rc;
}

/* The Hugging Face part: ORG/REPO, or a bare REPO unique across organisations. */
static int resolve_hf(const char *hub, const char *base, const char *tag, hearth_model_file *out, bool *found)
{
	char *root = root_of(hub);
	if (!root)
		return 0;
	struct list l = {0};
	int rc = 0;
	const char *slash = strchr(base, '/');
	if (slash) {
		char *dn = fmt_dup("models--%.*s--%s", (int)(slash - base), base, slash + 1);
		if (!dn) {
			rc = HEARTH_ENOMEM;
			goto done;
		}
		/* Hub directory names keep the repository's case; match it exactly first,
		 * then case-insensitively. */
		char **repos;
		size_t nr;
		rc = read_names(hub, true, &repos, &nr);
		const char *pick = NULL;
		for (size_t i = 0; !rc && i < nr && !pick; i++)
			if (strcmp(repos[i], dn) == 0)
				pick = repos[i];
		for (size_t i = 0; !rc && i < nr && !pick; i++)
			if (strcasecmp(repos[i], dn) == 0)
				pick = repos[i];
		if (pick)
			rc = hf_add_repo(&l, root, hub, pick);
		names_free(repos, nr);
		free(dn);
	} else {
		char **repos;
		size_t nr, hits = 0;
		rc = read_names(hub, true, &repos, &nr);
		char msg[512] = "";
		size_t ml = 0;
		for (size_t i = 0; !rc && i < nr; i++) {
			if (!hf_repo_is(repos[i], base))
				continue;
			hits++;
			const char *org = repos[i] + 8, *sep = strstr(org, "--");
			int w = snprintf(msg + ml, sizeof msg - ml, "%s%.*s/%s", hits > 1 ? ", " : "", (int)(sep - org),
					 org, sep + 2);
			if (w > 0 && (size_t)w < sizeof msg - ml)
				ml += (size_t)w;
			if (hits == 1)
				rc = hf_add_repo(&l, root, hub, repos[i]);
		}
		names_free(repos, nr);
		if (!rc && hits > 1) {
			rc = hx_err(HEARTH_EINVAL, "model name '%s' is ambiguous: the Hugging Face cache has %s", base,
				    msg);
			goto done;
		}
	}
	if (!rc && pick_best(&l, 0, tag, out))
		*found = true;
done:
	free(root);
	list_free(&l);
	return rc;
}

/* A path argument: a file as is, or a directory's best .gguf. */
static int resolve_path(const char *arg, const struct stat *st, const char *tag, hearth_model_file *out)
{
	if (S_ISREG(st->st_mode)) {
		const char *b = strrchr(arg, '/');
		b = b ? b + 1 : arg;
		char *name = fmt_dup("%.*s", (int)stem_len(b), b), *path = hx_strdup(arg);
		if (!name || !path) {
			free(name);
			free(path);
			return HEARTH_ENOMEM;
		}
		memset(out, 0, sizeof *out);
		out->name = name;
		out->path = path;
		out->size = (uint64_t)st->st_size;
		out->source = HEARTH_MODEL_SRC_PATH;
		hearth_quant_from_filename(path, out->quant);
		return 0;
	}
	char *root = root_of(arg);
	if (!root)
		return hx_err(HEARTH_EIO, "%s: cannot open: %s", arg, strerror(errno));
	struct list l = {0};
	int rc = add_dir_files(&l, arg, root, "", HEARTH_MODEL_SRC_PATH);
	free(root);
	if (!rc && !pick_best(&l, 0, tag, out))
		rc = hx_err(HEARTH_ENOTFOUND, "%s: no .gguf file%s%s in this directory", arg, tag ? " matching " : "",
			    tag ? tag : "");
	else if (!rc)
		out->source = HEARTH_MODEL_SRC_PATH;
	list_free(&l);
	return rc;
}

int hearth_model_resolve(const char *arg, const hearth_model_dirs *dirs, unsigned flags, hearth_model_file *out)
{
	if (!arg || !out)
		return hx_err(HEARTH_EINVAL, "hearth_model_resolve: NULL argument");
	memset(out, 0, sizeof *out);
	if (flags & HEARTH_RESOLVE_PATHS) {
		struct stat st;
		bool pathlike = arg[0] == '/' || arg[0] == '.' || arg[0] == '~';
		errno = 0;
		if (stat(arg, &st) == 0 && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) &&
		    (pathlike || S_ISREG(st.st_mode) || strchr(arg, '/')))
			return resolve_path(arg, &st, NULL, out);
		if (pathlike)
			return hx_err(errno == ENOENT ? HEARTH_ENOTFOUND : HEARTH_EIO, "%s: cannot open: %s", arg,
				      strerror(errno ? errno : ENOENT));
	} else if (arg[0] == '/' || arg[0] == '~') {
		return hx_err(HEARTH_EINVAL, "model name '%s': paths are not accepted here, only model names", arg);
	}
	char buf[NAME_MAX_LEN + 1];
	const char *base = NULL, *tag = NULL;
	int rc = parse_name(arg, buf, sizeof buf, &base, &tag);
	if (rc)
		return rc;
	struct dirs d;
	if ((rc = dirs_get(dirs, &d)))
		return rc;
	bool found = false;
	if (d.models)
		rc = resolve_models_dir(d.models, base, tag, out, &found);
	if (!rc && !found && d.hf)
		rc = resolve_hf(d.hf, base, tag, out, &found);
	if (!rc && !found)
		rc = hx_err(HEARTH_ENOTFOUND, "no model named '%s' in %s%s%s%s", arg,
			    d.models ? d.models : "(no models directory)", d.hf ? " or in the Hugging Face cache " : "",
			    d.hf ? d.hf : "", (flags & HEARTH_RESOLVE_PATHS) ? ", and no such file" : "");
	dirs_free(&d);
	if (rc)
		hearth_model_file_clear(out);
	return rc;
}

static int cmp_file(const void *a, const void *b)
{
	const hearth_model_file *x = a, *y = b;
	if (x->source != y->source)
		return x->source - y->source;
	return strcmp(x->name, y->name);
}

int hearth_model_list(const hearth_model_dirs *dirs, hearth_model_file **out, size_t *n)
{
	if (!out || !n)
		return hx_err(HEARTH_EINVAL, "hearth_model_list: NULL argument");
	*out = NULL;
	*n = 0;
	struct dirs d;
	int rc = dirs_get(dirs, &d);
	if (rc)
		return rc;
	struct list l = {0};
	char *root = d.models ? root_of(d.models) : NULL;
	if (root) {
		rc = add_dir_files(&l, root, root, "", HEARTH_MODEL_SRC_DIR);
		char **subs = NULL;
		size_t ns = 0;
		if (!rc)
			rc = read_names(root, true, &subs, &ns);
		for (size_t i = 0; !rc && i < ns; i++) {
			char *sd, *prefix = fmt_dup("%s/", subs[i]);
			if (!prefix || (rc = join(&sd, root, subs[i]))) {
				free(prefix);
				rc = HEARTH_ENOMEM;
				break;
			}
			rc = add_dir_files(&l, sd, root, prefix, HEARTH_MODEL_SRC_DIR);
			free(sd);
			free(prefix);
		}
		names_free(subs, ns);
		free(root);
	}
	root = !rc && d.hf ? root_of(d.hf) : NULL;
	if (root) {
		char **repos = NULL;
		size_t nr = 0;
		rc = read_names(root, true, &repos, &nr);
		for (size_t i = 0; !rc && i < nr; i++)
			if (strncmp(repos[i], "models--", 8) == 0)
				rc = hf_add_repo(&l, root, root, repos[i]);
		names_free(repos, nr);
		free(root);
	}
	dirs_free(&d);
	if (rc) {
		list_free(&l);
		return rc;
	}
	if (l.n)
		qsort(l.v, l.n, sizeof *l.v, cmp_file);
	*out = l.v;
	*n = l.n;
	return 0;
}
