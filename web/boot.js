// boot.js - starts the page's code (app.js) once the first frame is on screen. tools/embed.c inlines this
// file into index.html (its SHA-256 is in the CSP's script-src), so it runs without a request of its own.
// Fetching and compiling the modules while the first frame is still being rastered delayed it by ~10 ms in
// a fresh Chromium renderer on the 2-core test VM (bench/web-paint.sh); the page is plain HTML until then.
// Hidden tabs get no frames and browsers without paint timing report none: those start at once, and a
// first paint that takes over half a second does not hold the page back any longer.
(function () {
	var started = false;
	function start() {
		if (started) return;
		started = true;
		var s = document.createElement('script');
		s.type = 'module';
		s.src = '/app.js';
		document.head.appendChild(s);
	}
	var P = window.PerformanceObserver;
	if (document.visibilityState !== 'visible' || !P || !P.supportedEntryTypes || P.supportedEntryTypes.indexOf('paint') < 0) {
		start();
		return;
	}
	var o = new P(function (list) {
		if (list.getEntries().some(function (e) { return e.name === 'first-contentful-paint'; })) {
			o.disconnect();
			start();
		}
	});
	o.observe({ type: 'paint', buffered: true });
	setTimeout(start, 500);
})();
