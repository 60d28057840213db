/*
 * fuzz_request.c - libFuzzer harness for the server's request-body parsing and
 * validation (src/server/request.c): arbitrary bytes as a chat, a completions
 * an Ollama /api/chat body, or a native chat API "params" object (POST/PATCH
 * /api/chats, messages, regenerate: srv_chat_params_parse).  The first byte
 * picks which (bit 2: native params, else bit 1: Ollama, else bit 0: completions);
 * all must return 0 or 400 with a message, never crash.
 */
#include "server/srvint.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	bool chat = (data[0] & 1) == 0;
	char err[512];
	err[0] = 0;
	if (data[0] & 4) {
		json_t *root = json_loadb((const char *)data + 1, size - 1, 0, NULL);
		if (!root)
			return 0;
		struct srv_chat_params cp = {.sp = hearth_sampler_default_params()};
		int rc = srv_chat_params_parse(root, &cp, err, sizeof err);
		json_decref(root);
		if (rc != 0 && (rc != 400 || !err[0]))
			abort();
		return 0;
	}
	if (data[0] & 2) {
		json_t *root = json_loadb((const char *)data + 1, size - 1, 0, NULL);
		if (!root)
			return 0;
		json_t *conv = srv_from_ollama(root, err, sizeof err);
		json_decref(root);
		if (!conv) {
			if (!err[0])
				abort();
			return 0;
		}
		struct srv_params p;
		int rc = srv_parse_params(conv, true, &p, err, sizeof err);
		srv_params_clear(&p);
		json_decref(conv);
		if (rc != 0 && (rc != 400 || !err[0]))
			abort();
		return 0;
	}
	int rc = srv_check_body((const char *)data + 1, size - 1, chat, err, sizeof err);
	if (rc != 0 && (rc != 400 || !err[0]))
		abort();
	return 0;
}
