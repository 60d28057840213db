/*
 * fuzz_import.c - libFuzzer harness for the chat-history importer
 * (src/store/export.c): arbitrary bytes as a document for hx_import_json into
 * an in-memory store.  An input must be imported or refused with
 * HEARTH_EFORMAT and a message, never crash; a refused one must leave nothing
 * behind (all or nothing); an imported one must export, re-import and export
 * again to the same bytes.  The same bytes also go through the search-query
 * builder and the title maker.  Its corpus (tests/fuzz/corpus/import) replays
 * in `make test`.
 */
#include "store/store.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static hx_store *g_store;

/* Number of chats of the local user (at most 2 exist between inputs). */
static size_t n_chats(void)
{
	hx_chat *v;
	size_t n;
	char *next;
	if (hx_chat_list(g_store, HX_STORE_LOCAL_USER, NULL, 10, &v, &n, &next) != 0)
		abort();
	hx_chat_list_free(v, n);
	free(next);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!g_store && hx_store_open(":memory:", &g_store) != 0)
		abort();
	const int64_t u = HX_STORE_LOCAL_USER;
	int64_t id = 0, id2 = 0;
	int rc = hx_import_json(g_store, u, (const char *)data, size, &id);
	if (rc != 0) {
		if (rc != HEARTH_EFORMAT && rc != HEARTH_ENOMEM)
			abort();
		if (!hearth_errmsg()[0] || id != 0 || n_chats() != 0)
			abort();
	} else {
		char *d1 = NULL, *d2 = NULL;
		size_t l1 = 0, l2 = 0;
		if (hx_export_json(g_store, u, id, &d1, &l1) != 0 || hx_import_json(g_store, u, d1, l1, &id2) != 0 ||
		    hx_export_json(g_store, u, id2, &d2, &l2) != 0)
			abort();
		if (l1 != l2 || memcmp(d1, d2, l1) != 0)
			abort();
		free(d1);
		free(d2);
		if (hx_export_markdown(g_store, u, id, &d1, &l1) != 0)
			abort();
		free(d1);
		if (hx_chat_delete(g_store, u, id) != 0 || hx_chat_delete(g_store, u, id2) != 0)
			abort();
	}
	/* The bytes as what a person typed. */
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	hx_hit *h;
	size_t n;
	rc = hx_search(g_store, u, text, 10, 0, &h, &n);
	if (rc == 0)
		hx_hit_list_free(h, n);
	else if (rc != HEARTH_EINVAL)
		abort();
	char *t = hx_title_from_text(text);
	if (!t)
		abort();
	free(t);
	free(text);
	return 0;
}
