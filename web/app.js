// app.js - the hearth chat page: history sidebar, one open chat streamed over SSE, composer, settings, search.
// State lives in S; the DOM is updated in place (no framework). Model text reaches the DOM only through
// textContent while streaming, and through the server's sanitized html (re-checked by safeFragment) when done.
import { api } from './api.js';
import { $, h, safeFragment, snippetFragment, relTime, copyText, debounce } from './dom.js';

// This module starts after the first paint (boot.js). The page's <select> elements wait in <template
// data-late> until now: a document's first <select> costs Chromium ~50 ms in a fresh renderer (on the 2-core
// test VM), which would otherwise come before the first paint (bench/web-paint.sh).
for (const t of document.querySelectorAll('template[data-late]')) t.replaceWith(t.content);

const S = {
	conn: 'connecting', // online | nomodel | loading | offline | connecting
	health: null,
	models: [],
	chats: [], // sidebar order, newest first
	cursor: null, listDone: false, listLoading: false, listGen: 0,
	chat: null, // the open chat, or null for a new (not yet created) chat
	draft: { model: localStorage.getItem('hearth.model') || '', system: '', params: {} },
	recs: new Map(), // message id -> { m, el, ... }
	hasOlder: false,
	es: null, esChat: 0, lastEventId: '', esBuffer: null, esRetry: 0, lastEventAt: 0,
	generating: 0, // assistant message id being generated in the open chat, 0 when idle
	queue: loadQueue(),
	deletes: new Map(), // chat id -> timer of a delete waiting for its undo window
	stick: true, // keep the view scrolled to the bottom
	openGen: 0, // increments per openChat, to drop stale loads
};

const el = {
	app: $('app'), sidebar: $('sidebar'), list: $('chat-list'), sentinel: $('list-sentinel'), listEmpty: $('list-empty'),
	listWrap: document.querySelector('.chat-list-wrap'), conn: $('conn'), title: $('chat-title'), model: $('model-select'),
	banner: $('banner'), scroller: $('messages'), thread: $('thread'), empty: $('empty'), top: $('msg-top'),
	jump: $('jump'), form: $('composer'), input: $('composer-input'), send: $('send'), stop: $('stop'),
	slash: $('slash-menu'), settings: $('settings'), settingsForm: $('settings-form'), search: $('search'),
	searchInput: $('search-input'), results: $('search-results'), searchEmpty: $('search-empty'), toasts: $('toasts'),
	tplMsg: $('tpl-msg'), drawerBtn: $('open-drawer'),
};

const mobile = matchMedia('(max-width: 767px)');

/* ---------------------------------------------------------------- toasts */

function toast(text, { error = false, action, onAction, ms = 4000 } = {}) {
	const t = h('div', { class: `toast${error ? ' error' : ''}`, role: error ? 'alert' : 'status' }, h('span', { text }));
	let timer = 0;
	const close = () => { clearTimeout(timer); t.remove(); };
	if (action) t.append(h('button', { type: 'button', text: action, onclick: () => { close(); onAction(); } }));
	el.toasts.append(t);
	timer = setTimeout(close, ms);
	return close;
}

// Screen readers hear short status changes (the message list itself is not a live region).
function announce(text) {
	const a = $('announce');
	a.textContent = '';
	setTimeout(() => { a.textContent = text; }, 50);
}

/* ---------------------------------------------------------------- connection */

function setConn(state, text) {
	S.conn = state;
	el.conn.className = `conn ${state}`;
	el.conn.querySelector('.conn-text').textContent = text;
	el.conn.title = text;
	const b = el.banner;
	if (state === 'nomodel') {
		b.replaceChildren('The server is running without a model: replies are unavailable until it is started with ',
			h('code', { text: 'hearth serve -m MODEL.gguf' }), '. Slash commands such as /help still work.');
		b.hidden = false;
	} else if (state === 'loading') {
		b.textContent = 'The model is loading… you can type now; sending works once it is ready.';
		b.hidden = false;
	} else if (state === 'error') {
		b.textContent = `No model could be loaded: ${(S.health && S.health.message) || 'see the server log'}.`;
		b.hidden = false;
	} else if (state === 'offline') {
		b.textContent = `Offline: the server cannot be reached. Messages you send are kept${S.queue.length ? ` (${S.queue.length} waiting)` : ''} and sent when it is back.`;
		b.hidden = false;
	} else b.hidden = true;
	updateComposer();
}

let healthTimer = 0;
async function checkHealth() {
	clearTimeout(healthTimer);
	const was = S.conn;
	let hl;
	try {
		hl = await api.health();
	} catch {
		hl = null;
	}
	S.health = hl;
	if (!hl) setConn('offline', 'Offline');
	else if (hl.http === 200) {
		const names = (hl.models || []).filter((m) => m.status === 'ready').map((m) => m.name);
		setConn('online', hl.status === 'degraded' ? 'Connected (some models failed)' : `Connected${names.length === 1 ? ` · ${names[0]}` : ''}`);
	} else if (hl.status === 'no model') setConn('nomodel', 'No model loaded');
	else if (hl.status === 'loading') setConn('loading', 'Loading model…');
	else setConn('error', 'Model failed to load');
	if (was !== S.conn && S.conn !== 'offline') onReconnect(was);
	healthTimer = setTimeout(checkHealth, S.conn === 'online' ? 15000 : S.conn === 'offline' ? 2000 : 3000);
}

async function onReconnect(was) {
	await loadModels();
	if (was === 'offline') {
		refreshChatList();
		if (S.chat && (!S.es || S.es.readyState === EventSource.CLOSED)) openEvents(S.chat.id, S.lastEventId);
	}
	if (S.conn === 'online') flushQueue();
}

/* ---------------------------------------------------------------- models */

async function loadModels() {
	try { S.models = await api.models(); } catch { /* keep the last list */ }
	renderModels();
	for (const r of S.recs.values()) renderStats(r); // the model names show once there are several
}

function renderModels() {
	const cur = S.chat ? S.chat.model : S.draft.model;
	const opts = S.models.map((id) => h('option', { value: id, text: id }));
	if (cur && !S.models.includes(cur)) opts.push(h('option', { value: cur, text: `${cur} (not loaded)` }));
	if (!opts.length) opts.push(h('option', { value: '', text: 'No model', disabled: true }));
	el.model.replaceChildren(...opts);
	el.model.value = cur || S.models[0] || '';
	if (!el.model.value && S.models.length) el.model.value = S.models[0];
	el.model.disabled = !S.models.length;
}

el.model.addEventListener('change', async () => {
	const v = el.model.value;
	if (!S.chat) {
		S.draft.model = v;
		localStorage.setItem('hearth.model', v);
		return;
	}
	localStorage.setItem('hearth.model', v);
	try {
		setChat(await api.patchChat(S.chat.id, { model: v }));
		toast(`Model: ${v}`, { ms: 1800 });
	} catch (e) {
		toast(`Could not switch model: ${e.message}`, { error: true });
		renderModels();
	}
});

/* ---------------------------------------------------------------- sidebar */

function chatItem(c) {
	const li = h('li', { 'data-id': c.id, class: S.chat && S.chat.id === c.id ? 'active' : '' });
	const open = h('button', { type: 'button', class: 'open', title: c.title },
		h('span', { class: `t${c.generating ? ' gen' : ''}`, text: c.title || 'New chat' }),
		h('span', { class: 'd', text: relTime(c.updated_at) }));
	if (S.chat && S.chat.id === c.id) open.setAttribute('aria-current', 'page');
	open.addEventListener('click', () => { openChat(c.id); closeDrawer(); });
	const more = h('button', { type: 'button', class: 'icon-btn more', 'aria-label': `Actions for ${c.title}`, 'aria-haspopup': 'menu', title: 'More' });
	more.innerHTML = '<svg viewBox="0 0 24 24" aria-hidden="true"><circle cx="5" cy="12" r="1.3"/><circle cx="12" cy="12" r="1.3"/><circle cx="19" cy="12" r="1.3"/></svg>';
	more.addEventListener('click', (ev) => { ev.stopPropagation(); chatMenu(c.id, more); });
	li.append(open, more);
	return li;
}

function dayGroup(ms) {
	const d = new Date(ms), today = new Date();
	today.setHours(0, 0, 0, 0);
	const days = Math.floor((today - d) / 86400e3) + 1;
	if (days <= 0) return 'Today';
	if (days === 1) return 'Yesterday';
	if (days < 7) return 'Previous 7 days';
	if (days < 30) return 'Previous 30 days';
	return d.toLocaleDateString([], { month: 'long', year: 'numeric' });
}

function renderChatList() {
	const visible = S.chats.filter((c) => !S.deletes.has(c.id));
	const items = [];
	let group = '';
	for (const c of visible) {
		const g = dayGroup(c.updated_at || Date.now());
		if (g !== group) items.push(h('li', { class: 'group', role: 'presentation', text: (group = g) }));
		items.push(chatItem(c));
	}
	el.list.replaceChildren(...items);
	el.listEmpty.hidden = visible.length > 0 || !S.listDone;
}

function upsertChatInList(c, toTop) {
	const i = S.chats.findIndex((x) => x.id === c.id);
	if (i >= 0) S.chats.splice(i, 1);
	if (toTop || i < 0) S.chats.unshift(c);
	else S.chats.splice(i, 0, c);
	renderChatList();
}

async function loadMoreChats() {
	if (S.listLoading || S.listDone) return;
	S.listLoading = true;
	const gen = S.listGen;
	let failed = false;
	try {
		const r = await api.listChats(S.cursor);
		if (gen !== S.listGen) return;
		const seen = new Set(S.chats.map((c) => c.id));
		for (const c of r.chats || []) if (!seen.has(c.id)) S.chats.push(c);
		S.cursor = r.next_cursor || null;
		S.listDone = !S.cursor;
		S.listFailures = 0;
		renderChatList();
	} catch (e) {
		failed = true;
		if (e.code === 'no_history') { S.listDone = true; enterEphemeral(); }
		else if (!e.offline && !S.listFailures) toast(`Could not load chats: ${e.message}`, { error: true });
	} finally {
		S.listLoading = false;
	}
	if (failed) {
		// try again later, not in a loop: 2 s, 4 s, ... up to a minute
		if (!S.listDone && !S.listRetry) {
			const wait = Math.min(60000, 2000 << Math.min(S.listFailures || 0, 5));
			S.listFailures = (S.listFailures || 0) + 1;
			S.listRetry = setTimeout(() => { S.listRetry = null; loadMoreChats(); }, wait);
		}
		return;
	}
	// keep filling while the sentinel is still visible (tall screens)
	if (!S.listDone && gen === S.listGen && sentinelVisible) loadMoreChats();
}

// Reloads the first page and puts it on top, keeping the pages loaded below it.
async function refreshChatList() {
	try {
		const r = await api.listChats(null);
		const first = r.chats || [];
		const ids = new Set(first.map((c) => c.id));
		const oldest = first.length ? first[first.length - 1].updated_at : 0;
		const rest = S.chats.filter((c) => !ids.has(c.id) && c.updated_at <= oldest);
		S.chats = first.concat(rest);
		if (!rest.length) { S.cursor = r.next_cursor || null; S.listDone = !S.cursor; }
		renderChatList();
	} catch { /* offline: keep what we have */ }
}

let sentinelVisible = false;
new IntersectionObserver((ents) => {
	sentinelVisible = ents.some((e) => e.isIntersecting);
	if (sentinelVisible) loadMoreChats();
}, { root: el.listWrap, rootMargin: '200px' }).observe(el.sentinel);

let menuClose = null;
function chatMenu(id, anchor) {
	if (menuClose) menuClose();
	const c = S.chats.find((x) => x.id === id);
	if (!c) return;
	const item = (label, fn, cls) => h('li', { role: 'none' }, h('button', { type: 'button', role: 'menuitem', class: cls, text: label, onclick: () => { close(); fn(); } }));
	const link = (label, href) => h('li', { role: 'none' }, h('a', { role: 'menuitem', href, download: '', text: label, onclick: () => close() }));
	const menu = h('ul', { class: 'menu', role: 'menu', 'aria-label': `Actions for ${c.title}` },
		item('Rename', () => renameInList(id)),
		link('Export JSON', api.exportUrl(id, 'json')),
		link('Export Markdown', api.exportUrl(id, 'markdown')),
		h('li', { role: 'separator' }, h('hr')),
		item('Delete', () => deleteChat(id), 'danger'));
	document.body.append(menu);
	const r = anchor.getBoundingClientRect();
	const mh = menu.offsetHeight, mw = menu.offsetWidth;
	menu.style.top = `${Math.max(8, Math.min(r.bottom + 4, innerHeight - mh - 8))}px`;
	menu.style.left = `${Math.max(8, Math.min(r.right - mw, innerWidth - mw - 8))}px`;
	anchor.setAttribute('aria-expanded', 'true');
	const items = [...menu.querySelectorAll('[role=menuitem]')];
	items[0].focus();
	const onKey = (e) => {
		const i = items.indexOf(document.activeElement);
		if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); close(); anchor.focus(); }
		else if (e.key === 'ArrowDown') { e.preventDefault(); items[(i + 1) % items.length].focus(); }
		else if (e.key === 'ArrowUp') { e.preventDefault(); items[(i - 1 + items.length) % items.length].focus(); }
		else if (e.key === 'Tab') close();
	};
	const onDown = (e) => { if (!menu.contains(e.target)) close(); };
	function close() {
		menu.remove();
		anchor.setAttribute('aria-expanded', 'false');
		document.removeEventListener('keydown', onKey, true);
		document.removeEventListener('pointerdown', onDown, true);
		menuClose = null;
	}
	document.addEventListener('keydown', onKey, true);
	document.addEventListener('pointerdown', onDown, true);
	menuClose = close;
}

// An inline editor for a title; resolves with the new title or null when cancelled.
function editTitle(target, current, cls) {
	return new Promise((resolve) => {
		const inp = h('input', { class: `rename ${cls || ''}`, value: current, 'aria-label': 'Chat title', maxlength: '200' });
		target.hidden = true;
		target.after(inp);
		inp.focus();
		inp.select();
		let done = false;
		const finish = (v) => {
			if (done) return;
			done = true;
			inp.remove();
			target.hidden = false;
			resolve(v);
		};
		inp.addEventListener('keydown', (e) => {
			if (e.key === 'Enter') { e.preventDefault(); finish(inp.value.trim() || null); }
			else if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); finish(null); }
		});
		inp.addEventListener('blur', () => finish(inp.value.trim() || null));
	});
}

async function rename(id, title) {
	try {
		const c = await api.patchChat(id, { title });
		if (S.chat && S.chat.id === id) setChat(c);
		else upsertChatInList(c, false);
	} catch (e) {
		toast(`Rename failed: ${e.message}`, { error: true });
	}
}

async function renameInList(id) {
	const li = el.list.querySelector(`li[data-id="${id}"]`);
	const c = S.chats.find((x) => x.id === id);
	if (!li || !c) return;
	const btn = li.querySelector('.open');
	const t = await editTitle(btn, c.title);
	if (t && t !== c.title) await rename(id, t);
	btn.focus();
}

async function renameCurrent() {
	if (!S.chat) return;
	const t = await editTitle(el.title, S.chat.title, 'title-edit');
	if (t && t !== S.chat.title) await rename(S.chat.id, t);
}

el.title.addEventListener('dblclick', renameCurrent);

function deleteChat(id) {
	const c = S.chats.find((x) => x.id === id);
	const title = c ? c.title : 'chat';
	const wasOpen = S.chat && S.chat.id === id;
	const run = async () => {
		S.deletes.delete(id);
		try {
			await api.deleteChat(id);
		} catch (e) {
			if (e.status !== 404) { toast(`Delete failed: ${e.message}`, { error: true }); renderChatList(); return; }
		}
		S.chats = S.chats.filter((x) => x.id !== id);
		renderChatList();
	};
	S.deletes.set(id, setTimeout(run, 6000));
	renderChatList();
	if (wasOpen) newChat();
	toast(`Deleted “${title}”`, {
		action: 'Undo', ms: 6000, onAction: () => {
			clearTimeout(S.deletes.get(id));
			S.deletes.delete(id);
			renderChatList();
			if (wasOpen) openChat(id);
		},
	});
}

// Deletes still in their undo window are done now if the page goes away.
addEventListener('pagehide', () => {
	for (const [id, t] of S.deletes) { clearTimeout(t); api.deleteChat(id, true).catch(() => {}); }
	S.deletes.clear();
});

$('import-file').addEventListener('change', async (e) => {
	const f = e.target.files && e.target.files[0];
	e.target.value = '';
	if (!f) return;
	if (f.size > 64 << 20) { toast('That file is too large to import.', { error: true }); return; }
	try {
		const c = await api.importChat(await f.text());
		upsertChatInList(c, true);
		await openChat(c.id);
		toast(`Imported “${c.title}”`);
		closeDrawer();
	} catch (err) {
		toast(`Import failed: ${err.message}`, { error: true });
	}
});

/* ---------------------------------------------------------------- drawer */

function openDrawer() {
	el.app.classList.add('drawer-open');
	el.drawerBtn.setAttribute('aria-expanded', 'true');
	$('new-chat').focus();
}
function closeDrawer() {
	if (!el.app.classList.contains('drawer-open')) return;
	el.app.classList.remove('drawer-open');
	el.drawerBtn.setAttribute('aria-expanded', 'false');
	if (mobile.matches) el.drawerBtn.focus();
}
el.drawerBtn.addEventListener('click', openDrawer);
$('close-drawer').addEventListener('click', closeDrawer);
$('scrim').addEventListener('click', closeDrawer);

/* ---------------------------------------------------------------- messages */

function fmtStats(st, m) {
	if (!st || !st.n_gen) return m && m.model === 'hearth' ? 'hearth' : '';
	const parts = [];
	if (st.n_gen !== undefined) parts.push(`${st.n_gen} tokens`);
	if (st.tps) parts.push(`${st.tps.toFixed(1)} tok/s`);
	if (st.ttft_ms !== undefined && st.ttft_ms !== null) parts.push(`TTFT ${st.ttft_ms < 1000 ? `${Math.round(st.ttft_ms)} ms` : `${(st.ttft_ms / 1000).toFixed(2)} s`}`);
	if (m && m.model && (S.models.length > 1 || m.model === 'hearth')) parts.unshift(m.model);
	return parts.join(' · ');
}

function statsTitle(st) {
	if (!st || !st.n_gen) return '';
	return `prompt ${st.n_prompt ?? '?'} tokens (${st.n_cached ?? 0} cached) in ${Math.round(st.prompt_ms ?? 0)} ms\n` +
		`generated ${st.n_gen ?? '?'} tokens in ${Math.round(st.gen_ms ?? 0)} ms`;
}

function newRec(m) {
	const node = el.tplMsg.content.firstElementChild.cloneNode(true);
	const rec = {
		m, el: node,
		content: node.querySelector('.content'),
		details: node.querySelector('.thinking'),
		thinkLabel: node.querySelector('.think-label'),
		thinkText: node.querySelector('.think-text'),
		error: node.querySelector('.msg-error'),
		stats: node.querySelector('.stats'),
		text: null, think: null, t0: 0,
	};
	node.dataset.id = m.id;
	node.setAttribute('aria-label', m.role === 'user' ? 'You' : 'Assistant');
	node.addEventListener('click', (e) => onMsgClick(rec, e));
	return rec;
}

// Fills a message's element from rec.m (a complete render; deltas use appendText instead).
function renderRec(rec) {
	const m = rec.m, n = rec.el;
	n.className = `msg ${m.role === 'user' ? 'user' : 'assistant'} ${m.status || ''}`;
	const streaming = m.status === 'streaming';
	if (m.role !== 'assistant' || streaming || typeof m.html !== 'string') {
		rec.content.className = 'content plain';
		rec.text = document.createTextNode(m.content || '');
		rec.content.replaceChildren(rec.text);
	} else {
		rec.content.className = 'content md';
		rec.text = null;
		rec.content.replaceChildren(safeFragment(m.html));
		decorateCode(rec.content);
	}
	const hasThink = !!m.reasoning || (streaming && rec.think !== null && rec.think.data);
	rec.details.hidden = !hasThink;
	rec.think = document.createTextNode(m.reasoning || '');
	rec.thinkText.replaceChildren(rec.think);
	rec.thinkLabel.textContent = 'Thinking';
	if (!streaming && m.reasoning) rec.thinkLabel.textContent = rec.thoughtFor ? `Thought for ${rec.thoughtFor}` : 'Thoughts';
	n.classList.toggle('thinking-live', streaming && !!m.reasoning && !m.content);
	const err = m.status === 'error' ? (m.error || 'The reply failed.') : '';
	rec.error.hidden = !err;
	rec.error.textContent = err;
	renderStats(rec);
}

function renderStats(rec) {
	const m = rec.m, streaming = m.status === 'streaming';
	rec.stats.textContent = m.role === 'assistant' && !streaming ? fmtStats(m.stats, m) : '';
	rec.stats.title = statsTitle(m.stats);
	if (m.status === 'stopped') rec.stats.prepend(h('span', { class: 'badge', text: 'stopped' }), ' ');
	if (m.truncated) rec.stats.append(` · ${m.truncated} earlier turn${m.truncated === 1 ? '' : 's'} left out (context full)`);
	if (m.role === 'user' && m.created_at) rec.stats.textContent = new Date(m.created_at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function decorateCode(root) {
	for (const pre of root.querySelectorAll('pre')) {
		const code = pre.querySelector('code');
		const lang = code && /(?:^|\s)language-([\w+-]+)/.exec(code.className);
		const btn = h('button', { type: 'button', class: 'mini', 'aria-label': 'Copy code' });
		btn.innerHTML = '<svg viewBox="0 0 24 24" aria-hidden="true"><rect x="8" y="8" width="12" height="12" rx="2"/><path d="M16 8V6a2 2 0 0 0-2-2H6a2 2 0 0 0-2 2v8a2 2 0 0 0 2 2h2"/></svg>';
		btn.append(h('span', { text: 'Copy' }));
		btn.dataset.act = 'copy-code';
		const wrap = h('div', { class: 'code' }, h('div', { class: 'code-head' }, h('span', { text: lang ? lang[1] : 'text' }), btn));
		pre.replaceWith(wrap);
		wrap.append(pre);
	}
}

async function onMsgClick(rec, e) {
	const b = e.target.closest('button');
	if (!b) return;
	const act = b.dataset.act;
	if (act === 'copy') flashCopied(b, await copyText(rec.m.content || ''));
	else if (act === 'copy-code') flashCopied(b, await copyText(b.closest('.code').querySelector('pre').textContent));
	else if (act === 'regen') regenerate();
}

function flashCopied(b, ok) {
	b.classList.toggle('done', ok);
	const label = b.querySelector('span');
	const prev = label ? label.textContent : '';
	if (label) label.textContent = ok ? 'Copied' : 'Failed';
	b.title = ok ? 'Copied' : 'Copy failed';
	setTimeout(() => { b.classList.remove('done'); if (label) label.textContent = prev; b.title = 'Copy'; }, 1500);
}

function sortedRecs() {
	return [...S.recs.values()].sort((a, b) => a.m.id - b.m.id);
}

// Adds or replaces a message; keeps the thread in id order.
function upsert(m) {
	let rec = S.recs.get(m.id);
	if (rec) {
		rec.m = m;
	} else {
		rec = newRec(m);
		S.recs.set(m.id, rec);
		if (m.role === 'user') dropPendingFor(m);
		const next = sortedRecs().find((r) => r.m.id > m.id);
		if (next) el.thread.insertBefore(rec.el, next.el);
		else el.thread.insertBefore(rec.el, el.thread.querySelector('.msg.pending') || null);
	}
	renderRec(rec);
	afterThreadChange();
	return rec;
}

function removeRec(id) {
	const rec = S.recs.get(id);
	if (!rec) return;
	rec.el.remove();
	S.recs.delete(id);
	afterThreadChange();
}

function afterThreadChange() {
	let lastA = null;
	for (const r of S.recs.values()) {
		r.el.classList.remove('last');
		if (r.m.role === 'assistant' && (!lastA || r.m.id > lastA.m.id)) lastA = r;
	}
	const lastAll = sortedRecs().pop();
	if (lastA && lastAll === lastA) lastA.el.classList.add('last');
	el.empty.hidden = S.recs.size > 0 || !!el.thread.querySelector('.msg');
	scrollSoon();
}

let scrollQueued = false;
function scrollSoon(force) {
	if (force) S.stick = true;
	if (scrollQueued) return;
	scrollQueued = true;
	requestAnimationFrame(() => {
		scrollQueued = false;
		if (S.stick) el.scroller.scrollTop = el.scroller.scrollHeight;
		updateJump();
	});
}

function updateJump() {
	const s = el.scroller;
	el.jump.hidden = s.scrollHeight - s.scrollTop - s.clientHeight < 120;
}

// Following the bottom stops only when the person scrolls away (wheel, touch, keys, scrollbar), not when
// text arrives faster than scroll events or a finished reply re-renders shorter.
let userScrollAt = 0;
for (const t of ['wheel', 'touchmove', 'keydown', 'pointerdown']) {
	el.scroller.addEventListener(t, (e) => {
		if (t !== 'pointerdown' || e.target === el.scroller) userScrollAt = Date.now(); // pointerdown: the scrollbar
	}, { passive: true });
}
el.scroller.addEventListener('scroll', () => {
	const s = el.scroller;
	if (s.scrollHeight - s.scrollTop - s.clientHeight < 60) S.stick = true;
	else if (Date.now() - userScrollAt < 1000) S.stick = false;
	updateJump();
}, { passive: true });
el.jump.addEventListener('click', () => { el.scroller.scrollTo({ top: el.scroller.scrollHeight, behavior: 'smooth' }); S.stick = true; });

function appendDelta(d) {
	const rec = S.recs.get(d.message_id);
	if (!rec) return;
	if (typeof d.content === 'string' && d.content) {
		if (!rec.text) { rec.content.className = 'content plain'; rec.text = document.createTextNode(''); rec.content.replaceChildren(rec.text); }
		if (!rec.m.content && rec.m.reasoning && rec.t0) rec.thoughtFor = `${((performance.now() - rec.t0) / 1000).toFixed(1)} s`;
		rec.m.content = (rec.m.content || '') + d.content;
		rec.text.appendData(d.content);
		rec.el.classList.remove('thinking-live');
		if (rec.thoughtFor) rec.thinkLabel.textContent = `Thought for ${rec.thoughtFor}`;
	}
	if (typeof d.reasoning === 'string' && d.reasoning) {
		rec.m.reasoning = (rec.m.reasoning || '') + d.reasoning;
		rec.think.appendData(d.reasoning);
		if (rec.details.hidden) { rec.details.hidden = false; rec.el.classList.add('thinking-live'); }
	}
	scrollSoon();
}

/* ---------------------------------------------------------------- events (SSE) */

function closeEvents() {
	if (S.es) S.es.close();
	S.es = null;
	clearTimeout(S.esRetry);
}

function openEvents(chatId, last) {
	closeEvents();
	const es = new EventSource(api.eventsUrl(chatId, last));
	S.es = es;
	S.esChat = chatId;
	S.lastEventId = last || '';
	for (const type of ['start', 'delta', 'done', 'deleted', 'chat', 'resync']) {
		es.addEventListener(type, (e) => {
			if (es !== S.es) return;
			if (e.lastEventId) S.lastEventId = e.lastEventId;
			S.lastEventAt = Date.now();
			let d;
			try { d = JSON.parse(e.data); } catch { return; }
			if (S.esBuffer) S.esBuffer.push([type, d]);
			else applyEvent(type, d);
		});
	}
	es.addEventListener('open', () => {
		if (es !== S.es) return;
		if (S.conn === 'offline') checkHealth();
	});
	es.addEventListener('error', () => {
		if (es !== S.es) return;
		// The browser retries by itself (sending Last-Event-ID) unless it gave up (readyState CLOSED).
		if (es.readyState === EventSource.CLOSED) {
			S.esRetry = setTimeout(async () => {
				if (!S.chat || S.chat.id !== chatId) return;
				try {
					await api.getChat(chatId);
				} catch (e) {
					if (e.status === 404) { if (S.chat && S.chat.id === chatId) { toast('This chat was deleted.'); newChat(); } return; }
				}
				if (S.chat && S.chat.id === chatId && S.es === es) openEvents(chatId, S.lastEventId);
			}, 2000);
		}
		checkHealth();
	});
}

function applyEvent(type, d) {
	if (type === 'start') {
		if (d.user_message) upsert(d.user_message);
		if (d.replaces) removeRec(d.replaces); // a regenerate (maybe from another tab)
		const m = { ...d.message, content: '', reasoning: '', status: 'streaming' };
		const rec = upsert(m);
		rec.t0 = performance.now();
		rec.thoughtFor = '';
		setGenerating(m.id);
	} else if (type === 'delta') {
		appendDelta(d);
	} else if (type === 'deleted') {
		removeRec(d.message_id);
	} else if (type === 'done') {
		const m = { ...d.message };
		if (d.truncated) m.truncated = d.truncated;
		upsert(m);
		announce(m.status === 'error' ? `The reply failed: ${m.error || 'error'}` : m.status === 'stopped' ? 'Reply stopped.' : 'Reply finished.');
		if (S.generating === m.id || S.generating) setGenerating(0);
		if (S.chat) {
			S.chat.updated_at = Date.now();
			S.chat.generating = false;
			upsertChatInList({ ...S.chat }, true);
		}
	} else if (type === 'chat') {
		const c = d.chat;
		if (!c || !S.chat || c.id !== S.chat.id) return;
		if (c.deleted) {
			S.chats = S.chats.filter((x) => x.id !== c.id);
			renderChatList();
			newChat();
			toast('This chat was deleted.');
		} else setChat(c);
	} else if (type === 'resync') {
		// The server could not resume from our Last-Event-ID. Reload; events that follow (a running reply
		// replayed from its start) wait until the reload is in, then apply on top of it.
		reloadMessages();
	}
}

/* ---------------------------------------------------------------- open chat */

function setChat(c) {
	S.chat = c;
	el.title.textContent = c.title || 'New chat';
	document.title = `${c.title || 'New chat'} · hearth`;
	renderModels();
	upsertChatInList(c, false);
}

function clearThread() {
	S.recs.clear();
	el.thread.replaceChildren();
	S.hasOlder = false;
	el.empty.hidden = false;
}

function newChat() {
	if (E.abort) E.abort.abort();
	closeEvents();
	S.openGen++;
	S.esBuffer = null;
	S.chat = null;
	S.draft = { model: localStorage.getItem('hearth.model') || '', system: '', params: {} };
	if (S.draft.model && S.models.length && !S.models.includes(S.draft.model)) S.draft.model = '';
	setGenerating(0);
	clearThread();
	renderPending();
	el.title.textContent = 'New chat';
	document.title = 'hearth';
	renderModels();
	renderChatList();
	if (location.pathname !== '/') history.pushState(null, '', '/');
	closeDrawer();
	el.input.focus();
}
$('new-chat').addEventListener('click', newChat);

async function openChat(id, { focusMsg = 0, push = true } = {}) {
	const gen = ++S.openGen;
	closeEvents();
	setGenerating(0);
	clearThread();
	el.empty.hidden = true; // not "what's on your mind?" while the messages load
	const known = S.chats.find((c) => c.id === id);
	S.chat = known ? { ...known } : { id, title: '', model: '', params: {} };
	el.title.textContent = S.chat.title || '…';
	renderChatList();
	if (push && location.pathname !== `/c/${id}`) history.pushState(null, '', `/c/${id}`);
	// Subscribe first and hold the events until the messages are loaded, so nothing between the two is lost.
	S.esBuffer = [];
	openEvents(id, '');
	try {
		const [c, page] = await Promise.all([api.getChat(id), api.messages(id)]);
		if (gen !== S.openGen) return;
		setChat(c);
		renderPage(page.messages || [], page.has_more);
		afterThreadChange();
		if (c.generating) setGenerating(-1);
	} catch (e) {
		if (gen !== S.openGen) return;
		S.esBuffer = null;
		if (e.status === 404) { toast('That chat no longer exists.'); newChat(); return; }
		toast(`Could not open the chat: ${e.message}`, { error: true });
		return;
	}
	const buf = S.esBuffer;
	S.esBuffer = null;
	for (const [t, d] of buf) applyEvent(t, d);
	renderPending();
	scrollSoon(true);
	if (focusMsg) await revealMessage(focusMsg);
}

function renderPage(msgs, hasMore) {
	for (const m of msgs) upsert(m);
	S.hasOlder = !!hasMore;
	updateOlderButton();
	const last = msgs[msgs.length - 1];
	if (last && last.status === 'streaming') setGenerating(last.id);
}

async function reloadMessages() {
	if (!S.chat || S.esBuffer) return; // a load is already running and will take the events after it
	const gen = S.openGen;
	S.esBuffer = [];
	try {
		const page = await api.messages(S.chat.id);
		if (gen !== S.openGen) return;
		const keep = new Set(page.messages.map((m) => m.id));
		const oldest = page.messages.length ? page.messages[0].id : Infinity;
		for (const id of [...S.recs.keys()]) if (id >= oldest && !keep.has(id)) removeRec(id);
		renderPage(page.messages, page.has_more || S.hasOlder);
		const last = page.messages[page.messages.length - 1];
		if (!last || last.status !== 'streaming') setGenerating(0);
	} catch { /* the next health check or event retries */ } finally {
		if (gen === S.openGen && S.esBuffer) {
			const buf = S.esBuffer;
			S.esBuffer = null;
			for (const [t, d] of buf) applyEvent(t, d);
		}
	}
}

function updateOlderButton() {
	let b = el.thread.querySelector('.load-older');
	if (!S.hasOlder) { if (b) b.remove(); return; }
	if (!b) {
		b = h('button', { type: 'button', class: 'btn ghost small load-older', text: 'Load earlier messages', onclick: loadOlder });
		el.thread.prepend(b);
	}
}

async function loadOlder() {
	if (!S.chat || !S.hasOlder || S.loadingOlder) return;
	const first = sortedRecs()[0];
	if (!first) return;
	S.loadingOlder = true;
	const s = el.scroller, fromBottom = s.scrollHeight - s.scrollTop;
	S.stick = false;
	try {
		const page = await api.messages(S.chat.id, { before: first.m.id });
		for (const m of page.messages) upsert(m);
		S.hasOlder = !!page.has_more;
		updateOlderButton();
		s.scrollTop = s.scrollHeight - fromBottom;
	} catch (e) {
		toast(`Could not load earlier messages: ${e.message}`, { error: true });
	} finally {
		S.loadingOlder = false;
		S.stick = false;
	}
}

new IntersectionObserver((ents) => {
	if (ents.some((e) => e.isIntersecting) && S.hasOlder && S.recs.size && el.scroller.scrollTop > 0) loadOlder();
}, { root: el.scroller, rootMargin: '300px 0px 0px 0px' }).observe(el.top);

async function revealMessage(id) {
	for (let i = 0; i < 50 && !S.recs.has(id) && S.hasOlder; i++) await loadOlder();
	const rec = S.recs.get(id);
	if (!rec) return;
	S.stick = false;
	rec.el.scrollIntoView({ block: 'center' });
	rec.el.classList.remove('flash');
	void rec.el.offsetWidth;
	rec.el.classList.add('flash');
}

/* ---------------------------------------------------------------- generating / composer */

function setGenerating(id) {
	S.generating = id;
	updateComposer();
	if (S.chat) {
		const li = el.list.querySelector(`li[data-id="${S.chat.id}"] .t`);
		if (li) li.classList.toggle('gen', !!id);
	}
}

function updateComposer() {
	const gen = !!S.generating && (!!S.chat || E.on);
	el.send.hidden = gen;
	el.stop.hidden = !gen;
	el.send.disabled = !el.input.value.trim();
}

async function stop() {
	if (E.on && E.abort) { E.abort.abort(); return; }
	if (!S.chat || !S.generating) return;
	try {
		await api.stop(S.chat.id);
	} catch (e) {
		toast(`Stop failed: ${e.message}`, { error: true });
	}
}
el.stop.addEventListener('click', () => { stop(); el.input.focus(); });

async function regenerate() {
	if (E.on && !S.generating) {
		const last = sortedRecs().pop();
		if (last && last.m.role === 'assistant') removeRec(last.m.id);
		sendEphemeral(null);
		return;
	}
	if (!S.chat || S.generating) return;
	const recs = sortedRecs();
	const last = recs[recs.length - 1];
	try {
		const r = await api.regenerate(S.chat.id);
		if (last && last.m.role === 'assistant' && last.m.id !== r.assistant_message.id) removeRec(last.m.id);
		if (!S.recs.has(r.assistant_message.id)) upsert(r.assistant_message);
		setGenerating(r.assistant_message.id);
		scrollSoon(true);
	} catch (e) {
		toast(e.status === 503 ? `No model is ready: ${e.message}` : `Regenerate failed: ${e.message}`, { error: true });
	}
}

// Sends one message: creates the chat first when this is a new one. Network failures queue it.
async function sendText(text) {
	const pend = pendingBubble(text, false);
	try {
		if (!S.chat) await createFromDraft();
		const chatId = S.chat.id;
		if (S.es === null || S.esChat !== chatId) openEvents(chatId, '');
		const r = await api.send(chatId, text);
		pend.remove();
		if (S.chat && S.chat.id === chatId) {
			upsert(r.user_message);
			if (!S.recs.has(r.assistant_message.id)) upsert(r.assistant_message);
			if (r.assistant_message.status === 'streaming') setGenerating(r.assistant_message.id);
			S.chat.updated_at = Date.now();
			upsertChatInList({ ...S.chat, title: S.chat.title }, true);
			if (S.chat.title === 'New chat' || !S.chat.title) api.getChat(chatId).then((c) => { if (S.chat && S.chat.id === c.id) setChat(c); }).catch(() => {});
		}
		scrollSoon(true);
	} catch (e) {
		pend.remove();
		if (e.offline) { enqueue(text); return; }
		if (!el.input.value) { el.input.value = text; autosize(); updateComposer(); }
		toast(e.status === 503 ? `Not sent: ${e.message}` : e.status === 409 ? 'A reply is still being generated: stop it or wait.' : `Not sent: ${e.message}`, { error: true, ms: 6000 });
	}
}

async function createFromDraft() {
	const d = S.draft;
	const body = {};
	if (d.model) body.model = d.model;
	else if (el.model.value) body.model = el.model.value;
	if (d.system) body.system = d.system;
	if (Object.keys(d.params).length) body.params = d.params;
	const c = await api.createChat(body);
	S.openGen++;
	S.esBuffer = null;
	S.chat = c;
	setChat(c);
	upsertChatInList(c, true);
	history.pushState(null, '', `/c/${c.id}`);
	openEvents(c.id, '');
	return c;
}

function pendingBubble(text, queued) {
	const n = el.tplMsg.content.firstElementChild.cloneNode(true);
	n.className = 'msg user pending';
	n.querySelector('.content').className = 'content plain';
	n.querySelector('.content').textContent = text;
	n.querySelector('.stats').append(h('span', { class: 'badge', text: queued ? 'queued · sends when online' : 'sending…' }));
	n.dataset.pending = text;
	el.thread.append(n);
	el.empty.hidden = true;
	scrollSoon(true);
	return n;
}

function dropPendingFor(m) {
	for (const n of el.thread.querySelectorAll('.msg.pending')) {
		if (n.dataset.pending === m.content && !n.dataset.queued) { n.remove(); return; }
	}
}

/* offline queue: kept in localStorage so a reload does not lose it */
function loadQueue() {
	try { return JSON.parse(localStorage.getItem('hearth.queue') || '[]').filter((q) => q && typeof q.text === 'string'); } catch { return []; }
}
function saveQueue() { localStorage.setItem('hearth.queue', JSON.stringify(S.queue)); }

function enqueue(text) {
	const d = S.draft;
	S.queue.push({ qid: `${Date.now()}-${Math.random()}`, chatId: S.chat ? S.chat.id : 0, text,
		draft: S.chat ? null : { model: d.model || el.model.value, system: d.system, params: d.params } });
	saveQueue();
	renderPending();
	if (S.conn !== 'offline') setConn(S.conn, el.conn.querySelector('.conn-text').textContent);
	else setConn('offline', 'Offline');
	toast('Offline: the message will be sent when the server is back.');
}

function renderPending() {
	for (const n of el.thread.querySelectorAll('.msg.pending[data-queued]')) n.remove();
	const cur = S.chat ? S.chat.id : 0;
	for (const q of S.queue) {
		if (q.chatId !== cur || (cur === 0 && q.created)) continue;
		const n = pendingBubble(q.text, true);
		n.dataset.queued = q.qid;
	}
}

let flushing = false;
async function flushQueue() {
	if (flushing || !S.queue.length) return;
	flushing = true;
	try {
		while (S.queue.length && S.conn === 'online') {
			const q = S.queue[0];
			if (!q.chatId) {
				const body = {};
				if (q.draft && q.draft.model) body.model = q.draft.model;
				if (q.draft && q.draft.system) body.system = q.draft.system;
				if (q.draft && q.draft.params && Object.keys(q.draft.params).length) body.params = q.draft.params;
				const c = await api.createChat(body);
				// every queued message of that new chat goes to the created one
				for (const o of S.queue) if (!o.chatId) o.chatId = c.id;
				saveQueue();
				upsertChatInList(c, true);
				if (!S.chat) { S.openGen++; S.esBuffer = null; S.chat = c; setChat(c); history.pushState(null, '', `/c/${c.id}`); openEvents(c.id, ''); }
			}
			let r = null;
			for (let tries = 0; tries < 240 && !r; tries++) {
				try {
					r = await api.send(q.chatId, q.text);
				} catch (e) {
					if (e.status === 409) { await new Promise((ok) => setTimeout(ok, 1000)); continue; }
					if (e.status === 404) break; // chat deleted meanwhile: drop it
					throw e;
				}
			}
			S.queue.shift();
			saveQueue();
			const n = el.thread.querySelector(`.msg.pending[data-queued="${CSS.escape(q.qid)}"]`);
			if (n) n.remove();
			if (r && S.chat && S.chat.id === q.chatId) {
				upsert(r.user_message);
				if (!S.recs.has(r.assistant_message.id)) upsert(r.assistant_message);
				setGenerating(r.assistant_message.id);
			}
		}
	} catch (e) {
		if (!e.offline) toast(`A queued message could not be sent: ${e.message}`, { error: true });
	} finally {
		flushing = false;
		if (S.conn === 'offline') setConn('offline', 'Offline');
	}
}

function autosize() {
	if (CSS.supports('field-sizing', 'content')) return;
	el.input.style.height = 'auto';
	el.input.style.height = `${Math.min(el.input.scrollHeight + 2, innerHeight * 0.4)}px`;
}

el.form.addEventListener('submit', (e) => {
	e.preventDefault();
	submit();
});

function submit() {
	const text = el.input.value;
	if (!text.trim()) return;
	if (S.generating && (S.chat || E.on)) { toast('A reply is still being generated: stop it (Esc) or wait.'); return; }
	el.input.value = '';
	autosize();
	hideSlash();
	updateComposer();
	if (E.on) sendEphemeral(text);
	else if (S.conn === 'offline') enqueue(text);
	else sendText(text);
}

/* ---------------------------------------------------------------- without history (--no-history) */

// The server keeps no chats: talk to the OpenAI-compatible /v1/chat/completions instead and keep the
// conversation in this tab only (a reload forgets it). Replies stay plain text: there is no server-rendered html.
const E = { on: false, id: 0, abort: null };

function enterEphemeral() {
	E.on = true;
	el.listEmpty.textContent = 'History is off on this server (--no-history): this conversation lives only in this tab.';
	el.listEmpty.hidden = false;
}

async function sendEphemeral(text) {
	if (text !== null) upsert({ id: ++E.id, role: 'user', content: text, status: 'complete', created_at: Date.now() });
	const d = S.draft, p = d.params || {};
	const messages = sortedRecs().filter((r) => r.m.status !== 'error' && r.m.content).map((r) => ({ role: r.m.role, content: r.m.content }));
	if (d.system) messages.unshift({ role: 'system', content: d.system });
	const model = d.model || el.model.value;
	const rec = upsert({ id: ++E.id, role: 'assistant', content: '', reasoning: '', status: 'streaming', model, created_at: Date.now() });
	rec.t0 = performance.now();
	setGenerating(rec.m.id);
	scrollSoon(true);
	const body = { model, messages, stream: true };
	for (const k of ['temperature', 'top_p', 'max_tokens']) if (p[k] !== undefined) body[k] = p[k];
	if (p.thinking !== undefined) body.chat_template_kwargs = { enable_thinking: p.thinking };
	E.abort = new AbortController();
	let status = 'complete', error = '', stats = null;
	try {
		const r = await fetch('/v1/chat/completions', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), signal: E.abort.signal });
		if (!r.ok) {
			const j = await r.json().catch(() => ({}));
			throw new Error((j.error && j.error.message) || `${r.status} ${r.statusText}`);
		}
		const rd = r.body.pipeThrough(new TextDecoderStream()).getReader();
		let buf = '';
		for (;;) {
			const { value, done } = await rd.read();
			if (done) break;
			buf += value;
			let i;
			while ((i = buf.indexOf('\n\n')) >= 0) {
				const ev = buf.slice(0, i);
				buf = buf.slice(i + 2);
				for (const line of ev.split('\n')) {
					if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
					let j;
					try { j = JSON.parse(line.slice(6)); } catch { continue; }
					if (j.error) throw new Error(j.error.message || 'generation failed');
					const delta = j.choices && j.choices[0] && j.choices[0].delta;
					if (delta) appendDelta({ message_id: rec.m.id, content: delta.content || '', reasoning: delta.reasoning_content || '' });
					const t = j.timings;
					if (t) stats = { n_gen: t.predicted_n, tps: t.predicted_per_second, ttft_ms: t.ttft_ms, n_prompt: t.prompt_n + t.cache_n, n_cached: t.cache_n, prompt_ms: t.prompt_ms, gen_ms: t.predicted_ms };
				}
			}
		}
	} catch (e) {
		if (e.name === 'AbortError') status = 'stopped';
		else { status = 'error'; error = e.message === 'Failed to fetch' ? 'The server cannot be reached.' : e.message; }
	}
	E.abort = null;
	if (S.recs.get(rec.m.id) === rec) upsert({ ...rec.m, status, error, stats });
	setGenerating(0);
	announce(status === 'error' ? `The reply failed: ${error}` : 'Reply finished.');
}

/* slash commands */
const COMMANDS = [
	['/help', 'list the commands'],
	['/status', 'models, slots and this chat'],
	['/model', 'show or switch this chat\'s model'],
	['/reset', 'start a fresh context'],
	['/search', 'find past messages'],
];
let slashSel = -1;
function showSlash() {
	const v = el.input.value;
	if (!/^\/\S*$/.test(v)) { hideSlash(); return; }
	const list = COMMANDS.filter(([c]) => c.startsWith(v) && c !== v);
	if (!list.length) { hideSlash(); return; }
	slashSel = -1;
	el.slash.replaceChildren(...list.map(([c, d], i) => h('li', { role: 'option', id: `slash-${i}`, 'data-cmd': c,
		onpointerdown: (e) => { e.preventDefault(); pickSlash(c); } }, h('code', { text: c }), h('span', { text: d }))));
	el.slash.hidden = false;
}
function hideSlash() { el.slash.hidden = true; slashSel = -1; }
function pickSlash(c) {
	el.input.value = ['/model', '/search'].includes(c) ? `${c} ` : c;
	hideSlash();
	updateComposer();
	el.input.focus();
}
function moveSlash(dir) {
	const items = [...el.slash.children];
	slashSel = (slashSel + dir + items.length) % items.length;
	items.forEach((li, i) => li.setAttribute('aria-selected', String(i === slashSel)));
}

el.input.addEventListener('input', () => { autosize(); updateComposer(); showSlash(); });
el.input.addEventListener('blur', () => setTimeout(() => { if (document.activeElement !== el.input) hideSlash(); }, 100));
el.input.addEventListener('keydown', (e) => {
	if (!el.slash.hidden) {
		if (e.key === 'ArrowDown' || e.key === 'ArrowUp') { e.preventDefault(); moveSlash(e.key === 'ArrowDown' ? 1 : -1); return; }
		if (e.key === 'Tab' || (e.key === 'Enter' && slashSel >= 0)) {
			e.preventDefault();
			const li = el.slash.children[Math.max(0, slashSel)];
			if (li) pickSlash(li.dataset.cmd);
			return;
		}
		if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); hideSlash(); return; }
	}
	if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && !(mobile.matches && matchMedia('(pointer: coarse)').matches)) {
		e.preventDefault();
		submit();
	}
});

/* ---------------------------------------------------------------- settings */

$('open-settings').addEventListener('click', () => {
	const src = S.chat || S.draft;
	const p = src.params || {};
	const f = el.settingsForm.elements;
	f.system.value = src.system || '';
	f.temperature.value = p.temperature ?? '';
	f.top_p.value = p.top_p ?? '';
	f.max_tokens.value = p.max_tokens ?? '';
	f.thinking.value = p.thinking === true ? 'on' : p.thinking === false ? 'off' : '';
	el.settings.showModal();
});

// Save is the form's only submit button, so Enter in a field saves.
$('settings-close').addEventListener('click', () => el.settings.close('cancel'));
$('settings-reset').addEventListener('click', () => el.settings.close('reset'));
el.settings.addEventListener('close', async () => {
	const how = el.settings.returnValue;
	el.settings.returnValue = '';
	if (how !== 'save' && how !== 'reset') return;
	const f = el.settingsForm.elements;
	const src = S.chat || S.draft;
	const params = { ...(src.params || {}) };
	let system = f.system.value;
	if (how === 'reset') {
		for (const k of ['temperature', 'top_p', 'max_tokens', 'thinking']) delete params[k];
		system = '';
	} else {
		const num = (k, int) => {
			const v = f[k].value.trim();
			if (v === '') delete params[k];
			else params[k] = int ? parseInt(v, 10) : parseFloat(v);
		};
		num('temperature');
		num('top_p');
		num('max_tokens', true);
		if (f.thinking.value === '') delete params.thinking;
		else params.thinking = f.thinking.value === 'on';
	}
	if (!S.chat) {
		S.draft.system = system;
		S.draft.params = params;
		toast('Settings will apply to this new chat.', { ms: 2200 });
		return;
	}
	try {
		setChat(await api.patchChat(S.chat.id, { system, params }));
		toast('Settings saved.', { ms: 1800 });
	} catch (e) {
		toast(`Settings not saved: ${e.message}`, { error: true });
	}
});

/* ---------------------------------------------------------------- search */

let searchAbort = null, searchSel = -1;
function openSearch() {
	if (menuClose) menuClose();
	if (!el.search.open) el.search.showModal();
	el.searchInput.focus();
	el.searchInput.select();
	closeDrawer();
}
$('open-search').addEventListener('click', openSearch);

const runSearch = debounce(async () => {
	const q = el.searchInput.value.trim();
	if (searchAbort) searchAbort.abort();
	if (!q) { el.results.replaceChildren(); el.searchEmpty.hidden = true; return; }
	searchAbort = new AbortController();
	try {
		const r = await api.search(q, searchAbort.signal);
		const res = r.results || [];
		searchSel = res.length ? 0 : -1;
		el.results.replaceChildren(...res.map((x, i) => h('li', {
			role: 'option', id: `result-${i}`, 'aria-selected': String(i === 0), 'data-chat': x.chat_id, 'data-msg': x.message_id,
			onclick: () => pickResult(x.chat_id, x.message_id),
		}, h('div', { class: 'st' }, h('span', { text: x.chat_title || 'Untitled' }), h('small', { text: `${x.role === 'user' ? 'You' : 'Assistant'} · ${relTime(x.created_at)}` })),
		h('div', { class: 'sn' }, snippetFragment(x.snippet || '')))));
		el.searchEmpty.hidden = res.length > 0;
		if (res.length) el.searchInput.setAttribute('aria-activedescendant', 'result-0');
		else el.searchInput.removeAttribute('aria-activedescendant');
	} catch (e) {
		if (e.name === 'AbortError') return;
		el.results.replaceChildren();
		el.searchEmpty.hidden = false;
		el.searchEmpty.textContent = e.offline ? 'Offline.' : `Search failed: ${e.message}`;
	}
}, 120);

el.searchInput.addEventListener('input', () => { el.searchEmpty.textContent = 'No matches.'; runSearch(); });
el.searchInput.addEventListener('keydown', (e) => {
	const items = [...el.results.children];
	if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
		e.preventDefault();
		if (!items.length) return;
		searchSel = (searchSel + (e.key === 'ArrowDown' ? 1 : -1) + items.length) % items.length;
		items.forEach((li, i) => li.setAttribute('aria-selected', String(i === searchSel)));
		items[searchSel].scrollIntoView({ block: 'nearest' });
		el.searchInput.setAttribute('aria-activedescendant', items[searchSel].id);
	} else if (e.key === 'Enter') {
		e.preventDefault();
		const li = items[Math.max(0, searchSel)];
		if (li) pickResult(Number(li.dataset.chat), Number(li.dataset.msg));
	}
});

function pickResult(chatId, msgId) {
	el.search.close();
	if (S.chat && S.chat.id === chatId) revealMessage(msgId);
	else openChat(chatId, { focusMsg: msgId });
}

/* ---------------------------------------------------------------- keyboard */

document.addEventListener('keydown', (e) => {
	const mod = e.ctrlKey || e.metaKey;
	if (mod && !e.shiftKey && e.key.toLowerCase() === 'k') { e.preventDefault(); openSearch(); return; }
	if (mod && e.shiftKey && e.key.toLowerCase() === 'o') { e.preventDefault(); newChat(); return; }
	if (e.key === 'Escape') {
		if (document.querySelector('dialog[open]')) return;
		if (el.app.classList.contains('drawer-open') && mobile.matches) { closeDrawer(); return; }
		if (S.generating) { e.preventDefault(); stop(); }
		return;
	}
	if (e.key === 'F2' && S.chat && !e.target.closest('input,textarea')) { e.preventDefault(); renameCurrent(); return; }
	if (e.key === '/' && !mod && !e.target.closest('input,textarea,select,[contenteditable]') && !document.querySelector('dialog[open]')) {
		e.preventDefault();
		el.input.focus();
	}
});

addEventListener('popstate', () => route(false));
document.addEventListener('visibilitychange', () => {
	if (document.visibilityState === 'visible') { checkHealth(); refreshChatList(); }
});

function route(push) {
	const m = /^\/c\/(\d+)$/.exec(location.pathname);
	if (m) openChat(Number(m[1]), { push });
	else if (S.chat || push === false) newChat();
}

/* ---------------------------------------------------------------- watchdog */

// If a reply's events were missed (a stream that never connected), find out from the chat itself.
setInterval(async () => {
	if (!S.chat || !S.generating || Date.now() - S.lastEventAt < 8000 || S.conn === 'offline') return;
	try {
		const c = await api.getChat(S.chat.id);
		if (!c.generating) reloadMessages();
		S.lastEventAt = Date.now();
	} catch { /* offline */ }
}, 4000);

/* ---------------------------------------------------------------- start */

renderModels();
updateComposer();
route(true);
checkHealth();
loadMoreChats();
renderPending();
setInterval(() => { for (const n of el.list.querySelectorAll('li')) { const c = S.chats.find((x) => x.id === Number(n.dataset.id)); const d = n.querySelector('.d'); if (c && d) d.textContent = relTime(c.updated_at); } }, 60000);
