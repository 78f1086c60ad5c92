// The demo page: one event stream per room, read with fetch so that every event type arrives
// (EventSource only delivers the types a page registers for). Reconnects after the server's
// retry interval with Last-Event-ID, so no room event is missed.
'use strict';

const params = new URLSearchParams(location.search);
const room = params.get('room') || 'lobby';
const viewer = params.get('viewer') || storedViewerId();
const $ = (id) => document.getElementById(id);
const maxShownEvents = 200;

function storedViewerId() {
  // One id per browser, so that several tabs count as one viewer.
  let id = localStorage.getItem('presence.viewer');
  if (!id) {
    id = crypto.randomUUID();
    localStorage.setItem('presence.viewer', id);
  }
  return id;
}

function setStatus(state) {
  $('status').dataset.state = state;
  $('status').textContent = state;
}

function showPresence(presence) {
  $('watching').textContent = presence.watching.toLocaleString();
  $('connections').textContent =
    `${presence.connections.toLocaleString()} connection${presence.connections === 1 ? '' : 's'}`;
  document.title = `${presence.watching.toLocaleString()} watching · ${room}`;
}

function showEvent(id, type, data) {
  const item = document.createElement('li');
  const label = document.createElement('span');
  label.className = 'type';
  label.textContent = `#${id} ${type}`;
  item.append(label, document.createTextNode(data));
  addToFeed(item);
}

function showGap(data) {
  const gap = JSON.parse(data);
  const item = document.createElement('li');
  item.className = 'gap';
  item.textContent = `events ${gap.from} to ${gap.to} are no longer kept`;
  addToFeed(item);
}

function addToFeed(item) {
  const list = $('events');
  list.prepend(item);
  while (list.children.length > maxShownEvents) list.lastElementChild.remove();
}

// Parses one SSE block ("field: value" lines) and hands it on.
function dispatch(block, stream) {
  let type = 'message', id = null;
  const data = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') type = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id') id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) stream.retryMs = Number(value);
  }
  if (id !== null) stream.lastEventId = id;
  if (data.length === 0) return;
  const text = data.join('\n');
  if (type === 'presence') showPresence(JSON.parse(text));
  else if (type === 'gap') showGap(text);
  else showEvent(id, type, text);
}

async function follow() {
  const url = `/rooms/${encodeURIComponent(room)}/events?viewer=${encodeURIComponent(viewer)}`;
  const stream = { retryMs: 3000, lastEventId: null };
  for (;;) {
    try {
      const headers = stream.lastEventId ? { 'Last-Event-ID': stream.lastEventId } : {};
      const response = await fetch(url, { headers, cache: 'no-store' });
      if (response.status >= 400 && response.status < 500) {
        const problem = await response.json().catch(() => ({}));
        setStatus('failed');
        $('connections').textContent = problem.detail || `HTTP ${response.status}`;
        return;
      }
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      setStatus('live');
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replaceAll('\r\n', '\n');
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          dispatch(buffer.slice(0, end), stream);
          buffer = buffer.slice(end + 2);
        }
      }
    } catch (error) {
      console.warn('event stream interrupted', error);
    }
    setStatus('reconnecting');
    await new Promise((resolve) => setTimeout(resolve, stream.retryMs));
  }
}

async function publish(event) {
  event.preventDefault();
  const key = $('publish-key').value;
  localStorage.setItem('presence.publishKey', key);
  const result = $('publish-result');
  let data;
  try {
    data = JSON.parse($('publish-data').value);
  } catch {
    result.textContent = 'Data is not valid JSON.';
    return;
  }
  const response = await fetch(`/rooms/${encodeURIComponent(room)}/events`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Authorization': `Bearer ${key}` },
    body: JSON.stringify({ type: $('publish-type').value || 'message', data }),
  });
  const body = await response.json().catch(() => ({}));
  result.textContent = response.ok ? `published #${body.id}` : `${response.status}: ${body.title || ''} ${body.detail || ''}`;
}

$('room-input').value = room;
$('room-name').textContent = room;
$('publish-key').value = localStorage.getItem('presence.publishKey') || '';
$('publish-form').addEventListener('submit', publish);
follow();
