/*
 * fuzz_template.c - libFuzzer harness for the chat-template engine: the input is
 * template source, parsed and rendered against a fixed small conversation with
 * tight limits, so every input finishes quickly.  It must never crash, hang or
 * leak; errors are expected and ignored.  Its corpus (tests/fuzz/corpus/template)
 * replays in `make test`.
 */
#include "hearth.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char k_messages[] =
	"[{\"role\":\"system\",\"content\":\"Be brief. /no_think\"},"
	"{\"role\":\"user\",\"content\":\"Hi \\u00e9\\u4e2d {{ x }} {% if %}\\r\\n\\t\\\"q\\\"\"},"
	"{\"role\":\"assistant\",\"content\":\"<think>\\nhmm\\n</think>\\n\\nHello\",\"reasoning_content\":null,"
	"\"tool_calls\":[{\"type\":\"function\",\"id\":\"abcdefghi\",\"function\":{\"name\":\"f\","
	"\"arguments\":{\"a\":[1,2.5,true,null]}}}]},"
	"{\"role\":\"tool\",\"content\":\"42\",\"tool_call_id\":\"abcdefghi\"},"
	"{\"role\":\"user\",\"content\":\"And?\"}]";

static const char k_kwargs[] =
	"{\"enable_thinking\":false,\"date_string\":\"26 Jul 2024\","
	"\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"description\":\"d\","
	"\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"array\"}}}}}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 256 * 1024)
		return 0;
	hearth_chat_limits lim = hearth_chat_default_limits();
	lim.max_output = 256 * 1024;
	lim.max_memory = 32u << 20;
	lim.max_steps = 300000;
	lim.max_range = 10000;
	hearth_chat_template *t = NULL;
	if (hearth_chat_template_parse((const char *)data, size, "fuzz", &lim, &t) != 0)
		return 0;
	for (int variant = 0; variant < 2; variant++) {
		char *out = NULL;
		size_t len = 0;
		int rc = hearth_chat_template_render(t, k_messages, variant ? k_kwargs : NULL, variant == 0, "<s>",
		                                     "</s>", &out, &len);
		if (rc == 0) {
			/* the output length is exact and NUL-terminated */
			if (!out || out[len] != 0 || len > lim.max_output)
				abort();
			free(out);
		} else if (out) {
			abort();
		}
	}
	hearth_chat_template_free(t);
	return 0;
}
