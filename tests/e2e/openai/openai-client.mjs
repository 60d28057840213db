// openai-client.mjs - drives a running `hearth serve` ($HEARTH_URL) with the
// official openai SDK: models list, chat (non-streaming and streaming, with the
// usage chunk), completions, and errors surfaced as APIError with status and
// message.  Exits non-zero with a message on the first failure.
import OpenAI from 'openai';

const base = process.env.HEARTH_URL;
const model = process.env.HEARTH_MODEL;
const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused', maxRetries: 0 });

function check(cond, what) {
	if (!cond) {
		console.error(`FAIL: ${what}`);
		process.exit(1);
	}
}

const models = await client.models.list();
const ids = models.data.map((m) => m.id);
check(ids.includes(model), `models.list has ${model}: ${JSON.stringify(ids)}`);

const messages = [{ role: 'user', content: 'What is the capital of France?' }];
const full = await client.chat.completions.create({ model, messages, max_tokens: 10, temperature: 0 });
check(full.object === 'chat.completion', 'object');
check(full.choices.length === 1 && full.choices[0].message.role === 'assistant', 'message');
check(full.choices[0].finish_reason === 'length', `finish_reason ${full.choices[0].finish_reason}`);
check(full.usage.completion_tokens === 10, 'usage');
const text = full.choices[0].message.content;
check(typeof text === 'string' && text.length > 0, 'content');

const stream = await client.chat.completions.create({
	model, messages, max_tokens: 10, temperature: 0, stream: true, stream_options: { include_usage: true },
});
let streamed = '', finish = null, usage = null, chunks = 0;
for await (const chunk of stream) {
	chunks++;
	if (chunk.usage) usage = chunk.usage;
	for (const c of chunk.choices) {
		if (c.delta?.content) streamed += c.delta.content;
		if (c.finish_reason) finish = c.finish_reason;
	}
}
check(streamed === text, `streamed text equals the non-streamed one: ${JSON.stringify(streamed)} vs ${JSON.stringify(text)}`);
check(finish === 'length', `stream finish ${finish}`);
check(usage && usage.completion_tokens === 10, 'stream usage chunk');
check(chunks >= 3, 'several chunks');

const cmpl = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 5, temperature: 0 });
check(cmpl.choices[0].text.length > 0 && cmpl.usage.completion_tokens === 5, 'completions');

for (const [body, status] of [
	[{ model: 'no-such-model', messages }, 400],
	[{ model, messages, n: 2 }, 400],
	[{ model, messages: [] }, 400],
	[{ model, messages, temperature: -1 }, 400],
]) {
	let err = null;
	try {
		await client.chat.completions.create(body);
	} catch (e) {
		err = e;
	}
	check(err instanceof OpenAI.APIError, `APIError for ${JSON.stringify(body)}`);
	check(err.status === status, `status ${err.status} for ${JSON.stringify(body)}`);
	check(typeof err.message === 'string' && err.message.length > 0, 'error message');
}

// aborting a stream mid-way (the SDK's AbortController) frees the slot
const ac = new AbortController();
const long = await client.chat.completions.create(
	{ model, messages, max_tokens: 100000, stream: true }, { signal: ac.signal });
let n = 0;
try {
	for await (const _ of long) {
		if (++n === 3) ac.abort();
	}
} catch (e) {
	check(e.name === 'AbortError' || e instanceof OpenAI.APIUserAbortError, `abort error ${e}`);
}
let free = false;
for (let i = 0; i < 50 && !free; i++) {
	const st = await (await fetch(`${base}/api/status`)).json();
	free = st.models.every((m) => m.slots.busy === 0);
	if (!free) await new Promise((r) => setTimeout(r, 100));
}
check(free, 'slot freed after the SDK aborted the stream');
console.log('ok');
