// web-paint.mjs URL... [LOADS] - first contentful paint of the web UI in headless Chromium.
//
// Loads each URL LOADS times (default 30) in each of three ways, interleaved with
// each other and with a one-line data: page as the baseline (what any page costs
// in this browser on this machine; several URLs compare builds in one run):
//   reload  the page reloaded in a tab of its own (F5, or coming back to it);
//   warm    a tab of its own navigated from about:blank each time (a bookmark,
//           or the address typed in an open tab);
//   cold    a new tab each time (the most variable: Chromium may start a
//           renderer process for it).
// A page sending Cross-Origin-Opener-Policy makes Chromium start a renderer for
// it in the last two (hearth does not send it; see src/server/web.c).
// FCP is the page's own performance entry (navigation start -> first
// contentful paint, as presented). Prints the medians and quartiles, and one
// JSON line for scripts. Run through bench/web-paint.sh, which starts the server.
import { chromium } from '../tests/e2e/web/node_modules/playwright-core/index.mjs';

const urls = process.argv.slice(2).filter((a) => /^https?:/.test(a));
const loads = Number(process.argv.slice(2).find((a) => /^[0-9]+$/.test(a)) || 30);
if (!urls.length || !(loads > 0)) {
	console.error('usage: node bench/web-paint.mjs URL... [LOADS]');
	process.exit(2);
}
const base = 'data:text/html,<!doctype html><p>hi</p>';
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
// VIEWPORT=WxH (default 1280x800) and DPR=N (device pixels per CSS pixel, default 1): VIEWPORT=390x844 DPR=3
// is a phone's screen (the sidebar becomes a drawer), at nine times the pixels to raster.
const [vw, vh] = (process.env.VIEWPORT || '1280x800').split('x').map(Number);
const dpr = Number(process.env.DPR || 1);
if (!(vw > 0 && vh > 0 && dpr > 0)) {
	console.error('VIEWPORT must be WxH and DPR a number');
	process.exit(2);
}
const ctx = await browser.newContext({ viewport: { width: vw, height: vh }, deviceScaleFactor: dpr });

// The page's entry is read a while after the load event: Playwright's first evaluation in a page compiles
// its injected script (~10 ms of renderer time), which would otherwise compete with the page's first
// frame whenever the load event comes before it (a page without scripts, the data: baseline).
const settle = () => new Promise((done) => setTimeout(done, 400));
async function readFcp(page) {
	await settle();
	const h = await page.waitForFunction(() => {
		const e = performance.getEntriesByType('paint').find((x) => x.name === 'first-contentful-paint');
		return e && e.startTime;
	}, null, { timeout: 10000 });
	return h.jsonValue();
}

async function fcp(page, target) {
	await page.goto(target, { waitUntil: 'load' });
	return readFcp(page);
}

async function reloadFcp(page) {
	await page.reload({ waitUntil: 'load' });
	return readFcp(page);
}

const targets = [...urls, base];
const warm = targets.map(() => []), cold = targets.map(() => []), reload = targets.map(() => []);
// each target has a tab of its own for reloads and one for navigations from about:blank
const own = [], tabs = [];
for (const t of targets) {
	const p = await ctx.newPage(), q = await ctx.newPage();
	for (let i = 0; i < 2; i++) await fcp(p, t), await fcp(q, t); // first visits: caches, fonts
	own.push(p), tabs.push(q);
}
for (let i = 0; i < loads; i++) {
	for (let j = 0; j < targets.length; j++) {
		reload[j].push(await reloadFcp(own[j]));
		await tabs[j].goto('about:blank');
		warm[j].push(await fcp(tabs[j], targets[j]));
		const p = await ctx.newPage();
		cold[j].push(await fcp(p, targets[j]));
		await p.close();
	}
}
await browser.close();

const q = (a, f) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(f * s.length))]; };
const row = (name, a) => `${name.padEnd(22)} ${q(a, 0.5).toFixed(0).padStart(6)} ${q(a, 0.25).toFixed(0).padStart(6)} ${q(a, 0.75).toFixed(0).padStart(6)} ${Math.min(...a).toFixed(0).padStart(6)}`;
const name = (j) => (j === urls.length ? 'data: page' : urls.length > 1 ? urls[j] : 'hearth');
console.log(`first contentful paint, ms, ${loads} loads each, ${vw}x${vh} at ${dpr}x${urls.length > 1 ? '' : ` (${urls[0]})`}`);
console.log(`${''.padEnd(22)} ${'median'.padStart(6)} ${'q1'.padStart(6)} ${'q3'.padStart(6)} ${'min'.padStart(6)}`);
targets.forEach((_, j) => console.log(row(`reload: ${name(j)}`, reload[j])));
targets.forEach((_, j) => console.log(row(`warm tab: ${name(j)}`, warm[j])));
targets.forEach((_, j) => console.log(row(`new tab: ${name(j)}`, cold[j])));
console.log(JSON.stringify({
	loads, urls, viewport: `${vw}x${vh}`, dpr,
	reload_fcp_ms: urls.map((_, j) => q(reload[j], 0.5)), reload_base_ms: q(reload[urls.length], 0.5),
	warm_fcp_ms: urls.map((_, j) => q(warm[j], 0.5)), warm_base_ms: q(warm[urls.length], 0.5),
	cold_fcp_ms: urls.map((_, j) => q(cold[j], 0.5)), cold_base_ms: q(cold[urls.length], 0.5),
}));
