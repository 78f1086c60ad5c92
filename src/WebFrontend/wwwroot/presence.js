/*! Presence widget: live "N watching" for rooms of a Presence server (see its README).
 *   <span data-presence-room="lobby"></span><script src="https://host/presence.js" async></script>
 * One EventSource (/events?rooms=a,b) for all rooms of a page. A page hidden for
 * data-presence-idle-seconds (on the script; default 5) is reported away, visible again active. */
(() => {
  if (window.Presence) return;

  const script = document.currentScript;
  const home = new URL(script?.src || location.href).origin;
  const waitMs = 5000; // first frame timeout, poll period
  const idleMs = 1000 * (script?.dataset.presenceIdleSeconds || 5);
  const streams = new Map();
  const shown = new WeakMap();
  let ownViewer, idle = false, idleTimer;

  const jitter = (ms) => Math.round(ms * (0.5 + Math.random() / 2));
  const randomId = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');

  // One per browser (and site), so tabs count once; storage may be refused: then one per page.
  function viewerId() {
    try {
      ownViewer ||= localStorage.getItem('presence.viewer');
      if (!ownViewer) localStorage.setItem('presence.viewer', (ownViewer = randomId()));
    } catch {
      ownViewer ||= randomId();
    }
    return ownViewer;
  }

  class Stream {
    constructor(base, viewer, counted) {
      Object.assign(this, { base, viewer, counted });
      this.rooms = new Map(); // room -> { watchers, counts }
      this.at = new Map(); // room -> its last feed id
      this.types = new Set();
      this.state = 'connecting';
      this.failures = this.polls = 0;
    }

    // The rooms changed: reopen (once for all changes made together) where it left off.
    change() {
      queueMicrotask(() => {
        const list = [...this.rooms.keys()].join(',');
        if (!list || list === this.list) return;
        this.list = list;
        this.stop();
        if (window.EventSource && !this.buffered) this.open();
        else this.poll();
      });
    }

    // The browser reconnects by itself (with Last-Event-ID); an answer that closes the
    // EventSource (503, 429, CORS) is retried, later each time.
    open() {
      const url = new URL('/events', this.base);
      const at = [...this.rooms.keys()].filter((r) => this.at.has(r)).map((r) => `${r}=${this.at.get(r)}`).join(',');
      const query = { rooms: this.list, viewer: this.viewer, count: this.counted ? '' : 'false', activity: this.counted ? 'true' : '', lastEventId: at };
      for (const name in query) if (query[name]) url.searchParams.set(name, query[name]);
      const source = (this.source = new EventSource(url));
      // No first frame by then: a proxy buffers the stream; poll instead.
      const wait = () => {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => {
          this.buffered = true;
          this.stop();
          this.poll();
        }, waitMs);
      };
      wait();
      source.onopen = wait;
      source.addEventListener('presence', (e) => {
        clearTimeout(this.timer);
        this.buffered = false;
        this.failures = 0;
        this.seen(e);
        this.setState('live');
        this.setCounts(JSON.parse(e.data));
      });
      // This connection's id and token, to report activity with (for all its rooms); it starts active.
      source.addEventListener('connection', (e) => {
        this.connection = { ...JSON.parse(e.data), idle: false };
        this.report();
      });
      for (const type of ['gap', ...this.types]) source.addEventListener(type, (e) => this.deliver(type, e));
      source.onerror = () => {
        clearTimeout(this.timer);
        this.setState('reconnecting');
        if (source.readyState !== EventSource.CLOSED) return;
        this.stop();
        this.failures = Math.min(this.failures + 1, 6);
        this.timer = setTimeout(() => this.open(), jitter(1000 * 2 ** this.failures)); // 1-2 s .. 32-64 s
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

    addTypes(types) {
      for (const type of types) {
        if (/^(presence|gap)$/.test(type) || this.types.has(type)) continue;
        this.types.add(type);
        this.source?.addEventListener(type, (e) => this.deliver(type, e));
      }
    }

    // id: a=12,b=7: the stream's position in each room.
    seen(e) {
      for (const pair of e.lastEventId.split(',')) if (pair) this.at.set(...pair.split('='));
    }

    deliver(type, e) {
      this.seen(e);
      const { room, id, data, from, to } = JSON.parse(e.data);
      const event = type === 'gap' ? { id: String(to), type, data: { from, to } } : { id, type, data };
      for (const w of this.rooms.get(room)?.watchers || []) if (type === 'gap' || w.types.includes(type)) w.onEvent?.(event);
    }

    // GET /rooms/{room}: counts only, and this page is not counted.
    async poll() {
      if (this.buffered && ++this.polls % 12 === 0) return this.open(); // now and then, try again
      this.timer = setTimeout(() => this.poll(), jitter(this.buffered ? waitMs * 2 : waitMs));
      try {
        await Promise.all([...this.rooms.keys()].map(async (room) => {
          const response = await fetch(new URL(`/rooms/${room}`, this.base), { cache: 'no-store' });
          if (!response.ok) throw Error(response.status);
          this.setCounts(await response.json());
          this.setState('polling');
        }));
      } catch {
        this.setState('reconnecting');
      }
    }

    setState(state) {
      if (state === this.state) return;
      this.state = state;
      for (const entry of this.rooms.values()) entry.watchers.forEach((w) => w.onState?.(state));
    }

    setCounts(counts) {
      const entry = this.rooms.get(counts.room) || { watchers: [] };
      entry.counts = counts;
      entry.watchers.forEach((w) => w.onCount?.(counts.watching, counts));
    }

    stop() {
      clearTimeout(this.timer);
      this.source?.close();
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
    streams.forEach((stream) => stream.report());
  }

  // options: onCount(watching, counts), onEvent({ id, type, data }), onState(state), types
  // (for onEvent; default ['message']), viewer, count, lastEventId, baseUrl. Returns { close }.
  function watch(room, options = {}) {
    if (!/^[\w.~:-]{1,128}$/.test(room)) throw new TypeError(`Presence: bad room name '${room}'`);
    const base = new URL(options.baseUrl || home, location.href).origin;
    const viewer = options.viewer || viewerId();
    const counted = options.count !== false;
    const key = [base, viewer, counted].join(' ');
    let stream = streams.get(key);
    if (!stream) streams.set(key, (stream = new Stream(base, viewer, counted)));
    const entry = stream.rooms.get(room) || stream.rooms.set(room, { watchers: new Set() }).get(room);
    if (options.lastEventId != null && !stream.at.has(room)) stream.at.set(room, options.lastEventId);
    const watcher = { ...options, types: options.types || ['message'] };
    entry.watchers.add(watcher);
    stream.addTypes(watcher.types);
    stream.change();
    queueMicrotask(() => {
      if (!entry.watchers.has(watcher)) return;
      watcher.onState?.(stream.state);
      if (entry.counts) watcher.onCount?.(entry.counts.watching, entry.counts);
    });
    return {
      room,
      close() {
        if (!entry.watchers.delete(watcher) || entry.watchers.size) return;
        stream.rooms.delete(room);
        stream.at.delete(room); // watched again: starts afresh
        if (stream.rooms.size) return stream.change();
        stream.stop();
        streams.delete(key);
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

  // Fills [data-presence-room] elements under root not shown yet (label: data-presence-label).
  function scan(root = document) {
    for (const element of root.querySelectorAll('[data-presence-room]')) {
      if (shown.has(element)) continue;
      if (!element.hasAttribute('aria-live')) element.setAttribute('aria-live', 'polite');
      const label = element.getAttribute('data-presence-label') || 'watching';
      const format = formatter();
      try {
        shown.set(element, watch(element.getAttribute('data-presence-room'), {
          onCount: (watching, { idle }) => {
            element.textContent = `${format.format(watching)} ${label}${idle ? ` · ${format.format(idle)} away` : ''}`;
          },
          onState: (state) => element.setAttribute('data-presence-state', state),
        }));
      } catch (error) {
        console.warn(error.message);
      }
    }
  }

  function unscan(element) {
    shown.get(element)?.close();
    shown.delete(element);
  }

  window.Presence = { watch, scan, unscan, viewerId };
  document.addEventListener('visibilitychange', visibility);
  visibility();
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', () => scan());
  else scan();
})();
