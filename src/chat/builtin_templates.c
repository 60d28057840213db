/*
 * builtin_templates.c - chat templates for models whose GGUF carries none, as
 * Jinja sources rendered by hearth's own interpreter, and the detection that
 * picks one from the vocabulary's special tokens.
 *
 * The sources follow the formats' reference templates: llama2 is Meta's
 * Llama-2-chat template, zephyr HuggingFaceH4's, gemma Google's Gemma-2 format
 * (a system message, which Gemma does not support, is folded into the first user
 * turn as llama.cpp does instead of raising), llama3 Meta's Llama-3 format,
 * chatml the <|im_start|> format.  Message contents that are not strings render
 * as empty text rather than failing.
 */
#include "chat/chat.h"

#include <string.h>

static const char k_chatml[] =
	"{%- for message in messages -%}\n"
	"{{- '<|im_start|>' + message['role'] + '\\n' + (message['content'] if message['content'] is string else '') + '<|im_end|>\\n' -}}\n"
	"{%- endfor -%}\n"
	"{%- if add_generation_prompt -%}\n"
	"{{- '<|im_start|>assistant\\n' -}}\n"
	"{%- endif -%}\n";

static const char k_llama2[] =
	"{%- if messages and messages[0]['role'] == 'system' -%}\n"
	"{%- set loop_messages = messages[1:] -%}\n"
	"{%- set system_message = messages[0]['content'] -%}\n"
	"{%- else -%}\n"
	"{%- set loop_messages = messages -%}\n"
	"{%- set system_message = false -%}\n"
	"{%- endif -%}\n"
	"{%- for message in loop_messages -%}\n"
	"{%- set text = message['content'] if message['content'] is string else '' -%}\n"
	"{%- if loop.index0 == 0 and system_message != false -%}\n"
	"{%- set text = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + text -%}\n"
	"{%- endif -%}\n"
	"{%- if message['role'] == 'user' -%}\n"
	"{{- bos_token + '[INST] ' + text.strip() + ' [/INST]' -}}\n"
	"{%- elif message['role'] == 'assistant' -%}\n"
	"{{- ' ' + text.strip() + ' ' + eos_token -}}\n"
	"{%- endif -%}\n"
	"{%- endfor -%}\n";

static const char k_llama3[] =
	"{{- bos_token -}}\n"
	"{%- for message in messages -%}\n"
	"{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + (message['content'] if message['content'] is string else '') | trim + '<|eot_id|>' -}}\n"
	"{%- endfor -%}\n"
	"{%- if add_generation_prompt -%}\n"
	"{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}\n"
	"{%- endif -%}\n";

static const char k_zephyr[] =
	"{%- for message in messages -%}\n"
	"{%- set text = message['content'] if message['content'] is string else '' -%}\n"
	"{%- if message['role'] in ['user', 'system', 'assistant'] -%}\n"
	"{{- '<|' + message['role'] + '|>\\n' + text + eos_token + '\\n' -}}\n"
	"{%- endif -%}\n"
	"{%- if loop.last and add_generation_prompt -%}\n"
	"{{- '<|assistant|>\\n' -}}\n"
	"{%- endif -%}\n"
	"{%- endfor -%}\n";

static const char k_gemma[] =
	"{{- bos_token -}}\n"
	"{%- if messages and messages[0]['role'] == 'system' -%}\n"
	"{%- set system = messages[0]['content'] | trim -%}\n"
	"{%- set loop_messages = messages[1:] -%}\n"
	"{%- else -%}\n"
	"{%- set system = '' -%}\n"
	"{%- set loop_messages = messages -%}\n"
	"{%- endif -%}\n"
	"{%- for message in loop_messages -%}\n"
	"{%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}\n"
	"{{- '<start_of_turn>' + role + '\\n' -}}\n"
	"{%- if loop.first and system -%}{{- system + '\\n\\n' -}}{%- endif -%}\n"
	"{{- (message['content'] if message['content'] is string else '') | trim + '<end_of_turn>\\n' -}}\n"
	"{%- endfor -%}\n"
	"{%- if add_generation_prompt -%}\n"
	"{{- '<start_of_turn>model\\n' -}}\n"
	"{%- endif -%}\n";

static const struct {
	const char *name;
	const char *src;
	const char *marker; /* special token that selects it */
} k_builtin[] = {
	{"chatml", k_chatml, "<|im_start|>"},
	{"llama3", k_llama3, "<|start_header_id|>"},
	{"gemma", k_gemma, "<start_of_turn>"},
	{"llama2", k_llama2, "[INST]"},
	{"zephyr", k_zephyr, "<|user|>"},
};

const char *hearth_chat_builtin_template(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < HX_ARRAY_LEN(k_builtin); i++)
		if (!strcmp(k_builtin[i].name, name))
			return k_builtin[i].src;
	return NULL;
}

const char *hearth_chat_detect_builtin_fn(bool (*has_token)(void *user, const char *token), void *user)
{
	if (has_token)
		for (size_t i = 0; i < HX_ARRAY_LEN(k_builtin); i++)
			if (has_token(user, k_builtin[i].marker))
				return k_builtin[i].name;
	return "chatml";
}

struct token_list {
	const char *const *tokens;
	size_t n;
	bool found[HX_ARRAY_LEN(k_builtin)];
};

static bool list_has(void *user, const char *token)
{
	struct token_list *l = user;
	for (size_t i = 0; i < HX_ARRAY_LEN(k_builtin); i++)
		if (!strcmp(k_builtin[i].marker, token))
			return l->found[i];
	return false;
}

const char *hearth_chat_detect_builtin(const char *const *tokens, size_t n_tokens)
{
	struct token_list l = {tokens, n_tokens, {false}};
	/* one pass over the vocabulary, however large */
	for (size_t t = 0; tokens && t < n_tokens; t++) {
		if (!tokens[t])
			continue;
		for (size_t i = 0; i < HX_ARRAY_LEN(k_builtin); i++)
			if (!l.found[i] && !strcmp(tokens[t], k_builtin[i].marker))
				l.found[i] = true;
	}
	return hearth_chat_detect_builtin_fn(list_has, &l);
}
