// The demo page, built on the widget's API (presence.js): the room's count (and how many of them are
// away, their pages hidden) and state, its last events (replayed from the history when the page
// opens), a chart of the count over the last minutes, the busiest rooms. Everything from the server
// is shown as text, never as HTML.
'use strict';

const params = new URLSearchParams(location.search);
const room = params.get('room') || 'lobby';
const viewer = params.get('viewer') || undefined; // else the widget's id for this browser
const $ = (id) => document.getElementById(id);
const svgNs = 'http://www.w3.org/2000/svg';
const numbers = new Intl.NumberFormat();
const replayedEvents = 50;
const maxShownEvents = 200;
const chartMs = 5 * 60 * 1000;
const topRooms = 8;
const topEveryMs = 5000;

// An EventSource delivers only the event types it listens for: 'message' (the default type),
// those in ?types=a,b, and any type published from this page from then on.
const followed = new Set(['message', ...(params.get('types') || '').split(',').filter(Boolean)]);
const samples = []; // { t, watching }: the count over time, for the chart
let watching = null;

function setStatus(state) {
  $('status').dataset.state = state;
  $('status').textContent = state;
}

function showCount(count, counts) {
  watching = count;
  samples.push({ t: Date.now(), watching: count });
  $('watching').textContent = numbers.format(count);
  // Viewers whose every page is hidden (the widget reports this page's visibility): only when some are.
  $('away').textContent = counts.idle ? `· ${numbers.format(counts.idle)} away` : '';
  $('connections').textContent =
    `${numbers.format(counts.connections)} connection${counts.connections === 1 ? '' : 's'}`;
  document.title = `${numbers.format(count)} watching · ${room}`;
  drawChart();
  markCurrentRoom();
}

function showEvent(event) {
  const item = document.createElement('li');
  if (event.type === 'gap') {
    item.className = 'gap';
    item.textContent = `events ${event.data.from} to ${event.data.to} are no longer kept`;
  } else {
    const label = document.createElement('span');
    label.className = 'type';
    label.textContent = `#${event.id} ${event.type}`;
    item.append(label, document.createTextNode(JSON.stringify(event.data)));
  }
  const list = $('events');
  list.prepend(item);
  while (list.children.length > maxShownEvents) list.lastElementChild.remove();
  $('events-note').textContent = '';
}

function svg(name, attributes, text) {
  const element = document.createElementNS(svgNs, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  if (text !== undefined) element.textContent = text;
  return element;
}

// A step line of the count over the last chartMs: it holds each value until the next.
function drawChart() {
  const chart = $('chart');
  const [width, height, left, top, bottom] = [600, 180, 36, 12, 24];
  const now = Date.now();
  const from = now - chartMs;
  while (samples.length > 1 && samples[1].t <= from) samples.shift();
  const peak = Math.max(1, ...samples.map((s) => s.watching));
  const x = (t) => (left + ((Math.max(t, from) - from) / chartMs) * (width - left)).toFixed(1);
  const y = (n) => (top + (1 - n / peak) * (height - top - bottom)).toFixed(1);
  const points = [];
  samples.forEach((sample, i) => {
    if (i > 0) points.push(`${x(sample.t)},${y(samples[i - 1].watching)}`);
    points.push(`${x(sample.t)},${y(sample.watching)}`);
  });
  if (samples.length) points.push(`${x(now)},${y(watching)}`);

  const base = height - bottom;
  chart.replaceChildren(
    svg('line', { class: 'axis', x1: left, y1: base, x2: width, y2: base }),
    svg('line', { class: 'grid', x1: left, y1: top, x2: width, y2: top }),
    svg('text', { x: left - 6, y: top + 4, 'text-anchor': 'end' }, numbers.format(peak)),
    svg('text', { x: left - 6, y: base + 4, 'text-anchor': 'end' }, '0'),
    svg('text', { x: left, y: height - 4 }, '5 min ago'),
    svg('text', { x: width, y: height - 4, 'text-anchor': 'end' }, 'now'),
    svg('polyline', { class: 'line', points: points.join(' ') }),
  );
  if (samples.length) {
    chart.append(svg('circle', { class: 'dot', cx: x(now), cy: y(watching), r: 4, 'data-watching': watching }));
    chart.setAttribute('aria-label',
      `watching over the last 5 minutes: now ${numbers.format(watching)}, at most ${numbers.format(peak)}`);
  }
}

// The busiest rooms, read again every few seconds (one stream per room would soon use up the
// browser's six connections per server); the current room's count is the live one.
async function refreshTopRooms() {
  try {
    const response = await fetch(`/rooms?top=${topRooms}`, { cache: 'no-store' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const busiest = await response.json();
    $('top-rooms').replaceChildren(...busiest.map((entry) => {
      const item = document.createElement('li');
      item.dataset.room = entry.room;
      const link = document.createElement('a');
      link.href = `/?room=${encodeURIComponent(entry.room)}`;
      link.textContent = entry.room;
      const count = document.createElement('span');
      count.className = 'count';
      count.textContent = numbers.format(entry.watching);
      item.append(link, count);
      return item;
    }));
    $('top-note').textContent = busiest.length ? '' : 'No one is watching any room.';
    markCurrentRoom();
  } catch (error) {
    $('top-note').textContent = `The busiest rooms could not be read (${error.message}).`;
  }
}

function markCurrentRoom() {
  for (const item of $('top-rooms').children) {
    const current = item.dataset.room === room;
    item.classList.toggle('current', current);
    if (current && watching !== null) item.querySelector('.count').textContent = numbers.format(watching);
  }
}

function showEmbedCode() {
  if (!viewer) {
    const preview = $('embed-preview');
    preview.dataset.presenceRoom = room;
    Presence.scan(preview.parentElement); // shares the page's connection to the room
  }
  $('embed-code').textContent =
    `<span data-presence-room="${room}"></span>\n<script src="${location.origin}/presence.js" async></script>`;
}

async function publish(event) {
  event.preventDefault();
  const key = $('publish-key').value;
  localStorage.setItem('presence.publishKey', key);
  const result = $('publish-result');
  const type = $('publish-type').value || 'message';
  let data;
  try {
    data = JSON.parse($('publish-data').value);
  } catch {
    result.textContent = 'Data is not valid JSON.';
    return;
  }
  if (!followed.has(type)) {
    followed.add(type);
    Presence.watch(room, { viewer, types: [type], onEvent: showEvent }); // the same connection
  }
  const response = await fetch(`/rooms/${encodeURIComponent(room)}/events`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Authorization': `Bearer ${key}` },
    body: JSON.stringify({ type, data }),
  });
  const body = await response.json().catch(() => ({}));
  result.textContent = response.ok ? `published #${body.id}` : `${response.status}: ${body.title || ''} ${body.detail || ''}`;
}

// The last events are replayed: the stream opens after the snapshot's last id less a few.
async function start() {
  let lastEventId = 0;
  try {
    const response = await fetch(`/rooms/${encodeURIComponent(room)}`, { cache: 'no-store' });
    if (response.ok) lastEventId = Math.max(0, Number((await response.json()).lastEventId) - replayedEvents);
  } catch {
    // The stream below says whether the server is there.
  }
  Presence.watch(room, {
    viewer, lastEventId, types: [...followed], onCount: showCount, onState: setStatus, onEvent: showEvent,
  });
  showEmbedCode();
  $('events-note').textContent = `No events yet (event types shown: ${[...followed].join(', ')}).`;
  drawChart();
  setInterval(drawChart, 1000);
  refreshTopRooms();
  setInterval(refreshTopRooms, topEveryMs);
}

$('room-input').value = room;
$('room-name').textContent = room;
$('publish-key').value = localStorage.getItem('presence.publishKey') || '';
$('publish-form').addEventListener('submit', publish);
start();
