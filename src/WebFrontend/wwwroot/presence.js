/*! Presence widget: live "N watching" for rooms of a Presence server (see its README).
 *   <span data-presence-room="lobby"></span><script src="https://host/presence.js" async></script>
 * One EventSource per room, however many elements and watchers show it. A page hidden for
 * data-presence-idle-seconds (on the script; default 5) is reported away, visible again active. */
(() => {
  'use strict';
  if (window.Presence) return;

  const script = document.currentScript;
  const home = script && script.src ? new URL(script.src, location.href).origin : location.origin;
  const firstFrameMs = 5000; // no first frame by then: a proxy buffers the stream, so poll instead
  const pollMs = 5000;
  const idleMs = 1000 * Number((script && script.dataset.presenceIdleSeconds) || 5);
  const channels = new Map();
  const shown = new WeakMap();
  let ownViewer;
  let idle = false;
  let idleTimer;

  const jitter = (ms) => Math.round(ms * (0.5 + Math.random() / 2));

  function randomId() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  // One per browser (and site), so tabs count once; storage may be refused: then one per page.
  function viewerId() {
    if (ownViewer) return ownViewer;
    try {
      ownViewer = localStorage.getItem('presence.viewer');
      if (!ownViewer) localStorage.setItem('presence.viewer', (ownViewer = randomId()));
    } catch {
      ownViewer = randomId();
    }
    return ownViewer;
  }

  class Channel {
    constructor(key, base, room, viewer, counted, lastEventId) {
      Object.assign(this, { key, base, room, viewer, counted, lastEventId });
      this.watchers = new Set();
      this.types = new Set();
      this.counts = null;
      this.state = 'connecting';
      this.failures = this.polls = 0;
      if (typeof EventSource === 'function') this.open();
      else this.poll();
    }

    url(path, query = {}) {
      const url = new URL(`/rooms/${encodeURIComponent(this.room)}${path}`, this.base);
      for (const [name, value] of Object.entries(query)) if (value != null) url.searchParams.set(name, value);
      return url.href;
    }

    // The browser reconnects by itself (with Last-Event-ID) after a drop; an answer that closes
    // the EventSource (503, 429, CORS refused) is retried here, later each time.
    open() {
      const source = (this.source = new EventSource(this.url('/events', {
        viewer: this.viewer,
        count: this.counted ? null : 'false',
        activity: this.counted ? 'true' : null,
        lastEventId: this.lastEventId,
      })));
      // No error, yet no first frame: a proxy holds the stream back.
      const wait = () => {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => {
          this.buffered = true;
          this.stop();
          this.poll();
        }, firstFrameMs);
      };
      wait();
      source.onopen = wait;
      source.addEventListener('presence', (e) => {
        clearTimeout(this.timer);
        this.buffered = false;
        this.failures = 0;
        this.setState('live');
        this.setCounts(JSON.parse(e.data));
      });
      // This connection's id and token, to report activity with; it starts active.
      source.addEventListener('connection', (e) => {
        this.connection = { ...JSON.parse(e.data), idle: false };
        this.report();
      });
      source.addEventListener('gap', (e) => this.deliver('gap', e));
      this.types.forEach((type) => this.listen(type));
      source.onerror = () => {
        clearTimeout(this.timer);
        this.setState('reconnecting');
        if (source.readyState !== EventSource.CLOSED) return;
        this.stop();
        this.timer = setTimeout(() => this.open(), this.backoff());
      };
    }

    // Sends the page's idle state if the connection has not got it yet; one report at a time, in order.
    report() {
      this.reporting = (this.reporting || Promise.resolve()).then(() => {
        const c = this.connection;
        if (!c || c.idle === idle) return;
        c.idle = idle;
        return fetch(new URL(`/connections/${c.id}/activity`, this.base), {
          method: 'POST',
          headers: { Authorization: `Bearer ${c.token}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ idle }),
          keepalive: true,
        }).catch(() => {});
      });
    }

    listen(type) {
      if (this.source) this.source.addEventListener(type, (e) => this.deliver(type, e));
    }

    addTypes(types) {
      for (const type of types) {
        if (type === 'presence' || type === 'gap' || this.types.has(type)) continue;
        this.types.add(type);
        this.listen(type);
      }
    }

    deliver(type, e) {
      if (e.lastEventId) this.lastEventId = e.lastEventId;
      const event = { id: e.lastEventId, type, data: JSON.parse(e.data) };
      for (const w of this.watchers) {
        if (w.onEvent && (type === 'gap' || w.types.includes(type))) w.onEvent(event);
      }
    }

    // Polling GET /rooms/{room}: counts only, and this page is not counted among them.
    async poll() {
      if (this.buffered && ++this.polls % 12 === 0) return this.open(); // now and then, try again
      this.timer = setTimeout(() => this.poll(), jitter(this.buffered ? pollMs * 2 : pollMs));
      try {
        const response = await fetch(this.url(''), { cache: 'no-store' });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const snapshot = await response.json();
        if (!this.watchers.size) return;
        this.setState('polling');
        this.setCounts(snapshot);
      } catch {
        this.setState('reconnecting');
      }
    }

    backoff() {
      this.failures = Math.min(this.failures + 1, 6);
      return jitter(1000 * 2 ** this.failures); // 1-2 s, then up to 32-64 s
    }

    setState(state) {
      if (state === this.state) return;
      this.state = state;
      this.watchers.forEach((w) => w.onState && w.onState(state));
    }

    setCounts(counts) {
      this.counts = counts;
      this.watchers.forEach((w) => w.onCount && w.onCount(counts.watching, counts));
    }

    stop() {
      clearTimeout(this.timer);
      if (this.source) this.source.close();
      this.source = this.connection = null;
    }
  }

  // Page Visibility: hidden for idleMs = idle, visible = active at once; every stream reports it.
  function visibility() {
    clearTimeout(idleTimer);
    if (document.hidden) idleTimer = setTimeout(() => setIdle(true), idleMs);
    else setIdle(false);
  }

  function setIdle(value) {
    idle = value;
    channels.forEach((channel) => channel.report());
  }

  // options: onCount(watching, counts), onEvent({ id, type, data }), onState(state), types
  // (for onEvent; default ['message']), viewer, count, lastEventId, baseUrl. Returns { close }.
  function watch(room, options = {}) {
    if (!/^[A-Za-z0-9_.~:-]{1,128}$/.test(room)) throw new TypeError(`Presence: bad room name '${room}'`);
    const base = new URL(options.baseUrl || home, location.href).origin;
    const viewer = options.viewer || viewerId();
    const counted = options.count !== false;
    const key = [base, room, viewer, counted].join(' ');
    let channel = channels.get(key);
    if (!channel) {
      channel = new Channel(key, base, room, viewer, counted, options.lastEventId);
      channels.set(key, channel);
    }
    const watcher = {
      onCount: options.onCount,
      onEvent: options.onEvent,
      onState: options.onState,
      types: options.types || ['message'],
    };
    channel.watchers.add(watcher);
    channel.addTypes(watcher.types);
    const current = channel;
    queueMicrotask(() => {
      if (!current.watchers.has(watcher)) return;
      if (watcher.onState) watcher.onState(current.state);
      if (current.counts && watcher.onCount) watcher.onCount(current.counts.watching, current.counts);
    });
    return {
      room,
      close() {
        if (!current.watchers.delete(watcher) || current.watchers.size) return;
        current.stop();
        channels.delete(current.key);
      },
    };
  }

  function formatter() {
    try {
      return new Intl.NumberFormat(document.documentElement.lang || undefined);
    } catch {
      return new Intl.NumberFormat();
    }
  }

  // Fills the [data-presence-room] elements under root not shown yet (label: data-presence-label).
  function scan(root = document) {
    for (const element of root.querySelectorAll('[data-presence-room]')) {
      if (shown.has(element)) continue;
      if (!element.hasAttribute('aria-live')) element.setAttribute('aria-live', 'polite');
      const label = element.getAttribute('data-presence-label') || 'watching';
      const format = formatter();
      try {
        shown.set(element, watch(element.getAttribute('data-presence-room'), {
          onCount: (watching, counts) => {
            const away = counts.idle ? ` · ${format.format(counts.idle)} away` : '';
            element.textContent = `${format.format(watching)} ${label}${away}`;
          },
          onState: (state) => element.setAttribute('data-presence-state', state),
        }));
      } catch (error) {
        console.warn(error.message);
      }
    }
  }

  function unscan(element) {
    const handle = shown.get(element);
    if (handle) handle.close();
    shown.delete(element);
  }

  window.Presence = { watch, scan, unscan, viewerId };
  document.addEventListener('visibilitychange', visibility);
  visibility();
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', () => scan());
  else scan();
})();
