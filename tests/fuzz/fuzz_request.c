/*
 * fuzz_request.c - libFuzzer harness for the server's request-body parsing and
 * validation (src/server/request.c): arbitrary bytes as a chat and as a
 * completions body.  The first byte picks which; both must return 0 or 400
 * with a message, never crash.
 */
#include "server/server.h"

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
	int rc = srv_check_body((const char *)data + 1, size - 1, chat, err, sizeof err);
	if (rc != 0 && (rc != 400 || !err[0]))
		abort();
	return 0;
}
