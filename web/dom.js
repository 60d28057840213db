// dom.js - small DOM helpers and the defensive HTML import for server-rendered Markdown and search snippets.
//
// The server's html is already safe (md4c + an escaping writer, docs/native-api.md). We still parse it in an
// inert <template> and keep only an allow-list of elements and attributes, so a server bug cannot turn model
// text into script. Model text that is not server-rendered only ever goes through textContent.

export const $ = (id) => document.getElementById(id);

export function h(tag, attrs, ...kids) {
	const el = document.createElement(tag);
	if (attrs) {
		for (const [k, v] of Object.entries(attrs)) {
			if (v === undefined || v === null || v === false) continue;
			if (k === 'class') el.className = v;
			else if (k === 'text') el.textContent = v;
			else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
			else el.setAttribute(k, v === true ? '' : v);
		}
	}
	for (const k of kids) if (k !== null && k !== undefined) el.append(k);
	return el;
}

const ALLOWED = new Set(['P', 'BR', 'HR', 'H1', 'H2', 'H3', 'H4', 'H5', 'H6', 'UL', 'OL', 'LI', 'BLOCKQUOTE', 'PRE',
	'CODE', 'EM', 'STRONG', 'B', 'I', 'U', 'DEL', 'S', 'A', 'TABLE', 'THEAD', 'TBODY', 'TR', 'TH', 'TD', 'INPUT',
	'SPAN', 'DIV', 'MARK', 'SUP', 'SUB', 'KBD']);
const ATTRS = { A: ['href', 'title'], CODE: ['class'], OL: ['start'], TH: ['align'], TD: ['align'],
	INPUT: ['type', 'checked', 'disabled'], SPAN: ['class'], DIV: ['class'] };

// A link target we keep: http(s), mailto, or relative (no scheme). Browsers ignore tabs/newlines and leading
// control characters and spaces in a URL, so they are stripped before looking at the scheme.
export function safeHref(href) {
	// eslint-disable-next-line no-control-regex
	const s = String(href).replace(/[\u0000-\u0020\u007f-\u009f]/g, '');
	const m = /^([a-z][a-z0-9+.-]*):/i.exec(s);
	if (!m) return !s.startsWith('//') || s.startsWith('///') ? href : null;
	return /^(https?|mailto)$/i.test(m[1]) ? href : null;
}

function clean(node) {
	for (const child of [...node.childNodes]) {
		if (child.nodeType === Node.TEXT_NODE) continue;
		if (child.nodeType !== Node.ELEMENT_NODE) { child.remove(); continue; }
		const tag = child.tagName;
		if (!ALLOWED.has(tag)) {
			// unknown element: keep its text only (script/style text is dropped)
			if (tag === 'SCRIPT' || tag === 'STYLE' || tag === 'TEMPLATE') child.remove();
			else child.replaceWith(document.createTextNode(child.textContent));
			continue;
		}
		const keep = ATTRS[tag] || [];
		for (const a of [...child.attributes]) if (!keep.includes(a.name)) child.removeAttribute(a.name);
		if (tag === 'INPUT') {
			if (child.getAttribute('type') !== 'checkbox') { child.remove(); continue; }
			child.setAttribute('disabled', '');
		}
		if (tag === 'A') {
			const href = child.getAttribute('href');
			if (href !== null) {
				const ok = safeHref(href);
				if (ok === null) child.removeAttribute('href');
				else if (/^(https?:)?\/\//i.test(ok.trim())) { child.target = '_blank'; child.rel = 'noopener noreferrer'; }
			}
		}
		clean(child);
	}
}

export function safeFragment(html) {
	const t = document.createElement('template');
	t.innerHTML = html; // inert: a template's content runs no script and loads nothing
	clean(t.content);
	return t.content;
}

// Search snippets: escaped text with <mark> around matches. Only text and <mark> survive.
export function snippetFragment(html) {
	const t = document.createElement('template');
	t.innerHTML = html;
	const f = document.createDocumentFragment();
	for (const n of t.content.childNodes) {
		if (n.nodeType === Node.ELEMENT_NODE && n.tagName === 'MARK') f.append(h('mark', { text: n.textContent }));
		else f.append(document.createTextNode(n.textContent));
	}
	return f;
}

export function relTime(ms) {
	if (!ms) return '';
	const d = Date.now() - ms;
	if (d < 60e3) return 'just now';
	if (d < 3600e3) return `${Math.floor(d / 60e3)} min ago`;
	const then = new Date(ms), now = new Date();
	if (then.toDateString() === now.toDateString()) return then.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
	const y = new Date(now); y.setDate(now.getDate() - 1);
	if (then.toDateString() === y.toDateString()) return 'Yesterday';
	if (d < 6 * 86400e3) return then.toLocaleDateString([], { weekday: 'long' });
	return then.toLocaleDateString([], { day: 'numeric', month: 'short', year: then.getFullYear() === now.getFullYear() ? undefined : 'numeric' });
}

export async function copyText(text) {
	try {
		await navigator.clipboard.writeText(text);
		return true;
	} catch {
		const ta = h('textarea', { class: 'visually-hidden', readonly: true });
		ta.value = text;
		document.body.append(ta);
		ta.select();
		let ok = false;
		try { ok = document.execCommand('copy'); } catch { ok = false; }
		ta.remove();
		return ok;
	}
}

export function debounce(fn, ms) {
	let t = 0;
	return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}
