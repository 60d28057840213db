// api.js - the native chat API (docs/native-api.md) and the OpenAI model list, over same-origin fetch.

export class ApiError extends Error {
	constructor(status, code, message) {
		super(message);
		this.status = status; // 0 = the server could not be reached
		this.code = code;
	}
	get offline() { return this.status === 0; }
}

async function call(method, path, body, opts = {}) {
	let r;
	try {
		r = await fetch(path, {
			method,
			headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
			body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
			cache: 'no-store',
			keepalive: !!opts.keepalive,
			signal: opts.signal,
		});
	} catch (e) {
		if (e.name === 'AbortError') throw e;
		throw new ApiError(0, 'offline', 'The server cannot be reached.');
	}
	if (r.status === 204) return null;
	let data = null;
	try { data = await r.json(); } catch { data = null; }
	if (!r.ok) {
		const err = (data && data.error) || {};
		throw new ApiError(r.status, err.code || err.type || String(r.status), err.message || `${r.status} ${r.statusText}`);
	}
	return data;
}

const enc = encodeURIComponent;
const qs = (o) => Object.entries(o).filter(([, v]) => v !== undefined && v !== null && v !== '')
	.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');

export const api = {
	health: () => fetch('/health', { cache: 'no-store' }).then(async (r) => ({ http: r.status, ...(await r.json().catch(() => ({}))) })),
	models: () => call('GET', '/v1/models').then((d) => (d && d.data ? d.data.map((m) => m.id) : [])),
	listChats: (cursor, limit = 40) => call('GET', `/api/chats?${qs({ limit, cursor })}`),
	createChat: (o) => call('POST', '/api/chats', o),
	getChat: (id) => call('GET', `/api/chats/${id}`),
	patchChat: (id, o) => call('PATCH', `/api/chats/${id}`, o),
	deleteChat: (id, keepalive) => call('DELETE', `/api/chats/${id}`, undefined, { keepalive }),
	messages: (id, o = {}) => call('GET', `/api/chats/${id}/messages?${qs({ limit: 100, ...o })}`),
	send: (id, content) => call('POST', `/api/chats/${id}/messages`, { content }),
	regenerate: (id) => call('POST', `/api/chats/${id}/regenerate`, {}),
	stop: (id) => call('POST', `/api/chats/${id}/stop`, {}),
	search: (q, signal) => call('GET', `/api/search?${qs({ q, limit: 20 })}`, undefined, { signal }),
	importChat: (text) => call('POST', '/api/chats/import', text),
	exportUrl: (id, format) => `/api/chats/${id}/export?format=${format}`,
	eventsUrl: (id, last) => `/api/chats/${id}/events${last ? `?last_event_id=${enc(last)}` : ''}`,
};
