// manifold's status page: reads /ui/api/status, /ui/api/catalog and /ui/api/calls, then
// follows /ui/events (SSE: status, call, catalog). Everything from the server is shown with
// textContent, never parsed as HTML: names and errors come from upstreams.
'use strict';

const MAX_CALLS = 200;
const BAD_STATES = new Set(['failed', 'stopped', 'closed', 'degraded', 'backing-off']);
const WAIT_STATES = new Set(['created', 'launched', 'starting', 'idle']);

let catalog = { entries: [], collisions: [], filtered: [] };

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else node.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function text(id, value) {
  const node = document.getElementById(id);
  if (node) node.textContent = value === undefined || value === null ? '–' : String(value);
}

function ms(v) {
  if (typeof v !== 'number' || !isFinite(v)) return '–';
  return v < 10 ? v.toFixed(2) + ' ms' : v < 1000 ? v.toFixed(1) + ' ms' : (v / 1000).toFixed(2) + ' s';
}

function localTime(iso) {
  const d = new Date(iso);
  return isNaN(d) ? String(iso || '') : d.toLocaleTimeString([], { hour12: false }) +
    '.' + String(d.getMilliseconds()).padStart(3, '0');
}

async function getJson(path) {
  const res = await fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store' });
  if (!res.ok) throw new Error(path + ': HTTP ' + res.status);
  return res.json();
}

// ---- status ----

function renderStatus(s) {
  if (!s || typeof s !== 'object') return;
  text('version', s.version ? 'v' + s.version : '');
  const ready = document.getElementById('ready');
  ready.textContent = s.ready ? 'ready' : 'not ready';
  ready.className = 'pill ' + (s.ready ? 'ok' : 'bad');
  const c = s.catalog || {};
  text('n-tools', c.tools);
  text('n-prompts', c.prompts);
  text('n-resources', c.resources);
  text('n-hidden', c.hidden);
  text('n-collisions', c.collisions);
  const calls = s.calls || {};
  text('n-calls', calls.total);
  text('n-failed', calls.failed);
  const body = document.querySelector('#upstreams tbody');
  const rows = (Array.isArray(s.upstreams) ? s.upstreams : []).map((u) => {
    const state = String(u.state || 'unknown');
    const cls = BAD_STATES.has(state) ? 'up-bad' : WAIT_STATES.has(state) ? 'up-wait' : state === 'ready' ? 'up-ok' : '';
    return el('tr', { class: cls, dataset: { upstream: String(u.name), state } },
      el('td', { class: 'mono' }, u.name),
      el('td', { class: 'state' }, state),
      el('td', {}, u.transport || ''),
      el('td', { class: 'num' }, u.restarts ?? 0),
      el('td', { class: 'num' }, u.in_flight ?? 0),
      el('td', { class: 'num' }, ms(u.latency_ms)),
      el('td', { class: 'num' }, u.tools ?? ''),
      el('td', { class: u.last_error ? 'err' : 'muted' }, u.last_error || ''));
  });
  body.replaceChildren(...rows);
}

// ---- calls ----

function callRow(c, fresh) {
  const outcome = String(c.outcome || '');
  const cls = (outcome === 'ok' ? 'call-ok' : 'call-bad') + (fresh ? ' fresh' : '');
  return el('tr', { class: cls, dataset: { call: String(c.tool || c.method || ''), outcome } },
    el('td', { class: 'mono' }, localTime(c.time)),
    el('td', {}, c.principal || '–'),
    el('td', { class: 'mono', title: c.method || '' }, c.tool || c.method || ''),
    el('td', { class: 'mono' }, c.upstream || '–'),
    el('td', { class: 'num' }, ms(c.latency_ms)),
    el('td', { class: 'outcome', title: c.error || '' }, outcome));
}

function renderCalls(list) {
  const body = document.querySelector('#calls tbody');
  body.replaceChildren(...(Array.isArray(list) ? list : []).slice(0, MAX_CALLS).map((c) => callRow(c, false)));
}

function addCall(c) {
  if (!c || typeof c !== 'object') return;
  const body = document.querySelector('#calls tbody');
  body.prepend(callRow(c, true));
  while (body.rows.length > MAX_CALLS) body.deleteRow(body.rows.length - 1);
}

// ---- catalog ----

function story(e) {
  const items = [];
  for (const d of Array.isArray(e.decisions) ? e.decisions : []) items.push(el('li', {}, d));
  if (items.length === 0) items.push(el('li', { class: 'muted' }, 'passed through unchanged'));
  for (const c of catalog.collisions) {
    if (c.name === e.name) {
      const kept = c.kept || {}, dropped = c.dropped || {};
      items.push(el('li', { class: 'err' }, `collision: [${kept.server}] ${kept.original} kept, [${dropped.server}] ${dropped.original} left out (${c.rule})`));
    }
  }
  const tags = el('div', {});
  if (e.pinned === true) tags.append(el('span', { class: 'tag' }, 'pinned'));
  for (const g of Array.isArray(e.groups) ? e.groups : []) tags.append(el('span', { class: 'tag' }, 'group ' + g));
  for (const r of Array.isArray(e.roles) ? e.roles : []) tags.append(el('span', { class: 'tag' }, 'role ' + r));
  if (e.policy) tags.append(el('span', { class: 'tag' }, 'policy ' + e.policy));
  return el('td', {}, el('ul', { class: 'story' }, ...items), tags.childNodes.length ? tags : null);
}

function matches(e, q) {
  if (!q) return true;
  const hay = [e.name, e.kind, e.server, e.original, ...(e.decisions || []), ...(e.groups || []), ...(e.roles || [])]
    .join('\n').toLowerCase();
  return q.split(/\s+/).every((w) => hay.includes(w));
}

function renderCatalog() {
  const q = document.getElementById('search').value.trim().toLowerCase();
  const shown = catalog.entries.filter((e) => matches(e, q));
  document.querySelector('#catalog tbody').replaceChildren(...shown.map((e) =>
    el('tr', { dataset: { entry: String(e.name), kind: String(e.kind) } },
      el('td', { class: 'mono' }, e.name),
      el('td', {}, e.kind),
      el('td', { class: 'mono' }, `[${e.server}] ${e.original}`),
      story(e))));
  text('catalog-count', `${shown.length} of ${catalog.entries.length}`);
  document.getElementById('collisions').replaceChildren(...catalog.collisions.map((c) => {
    const kept = c.kept || {}, dropped = c.dropped || {};
    return el('li', {}, el('code', {}, c.name), ` (${c.kind}): [${kept.server}] ${kept.original} kept, [${dropped.server}] ${dropped.original} left out (${c.rule})`);
  }));
  document.getElementById('filtered').replaceChildren(...catalog.filtered.map((f) =>
    el('li', {}, el('code', {}, `[${f.server}] ${f.original}`), ` (${f.kind}) hidden by ${f.rule}`)));
}

function setCatalog(c) {
  const list = (v) => (Array.isArray(v) ? v.filter((x) => x && typeof x === 'object') : []);
  catalog = { entries: list(c && c.entries), collisions: list(c && c.collisions), filtered: list(c && c.filtered) };
  renderCatalog();
}

// ---- loading and live updates ----

async function loadAll() {
  const [status, cat, calls] = await Promise.allSettled([
    getJson('/ui/api/status'), getJson('/ui/api/catalog'), getJson('/ui/api/calls')]);
  if (status.status === 'fulfilled') renderStatus(status.value);
  if (cat.status === 'fulfilled') setCatalog(cat.value);
  if (calls.status === 'fulfilled') renderCalls(calls.value && calls.value.calls);
}

function parse(ev) {
  try { return JSON.parse(ev.data); } catch { return null; }
}

function follow() {
  const live = document.getElementById('live');
  const source = new EventSource('/ui/events');
  let reconnecting = false;
  source.onopen = () => {
    live.textContent = 'live';
    live.className = 'pill ok';
    if (reconnecting) loadAll();
  };
  source.onerror = () => {
    live.textContent = 'reconnecting';
    live.className = 'pill bad';
    reconnecting = true;
  };
  source.addEventListener('status', (ev) => renderStatus(parse(ev)));
  source.addEventListener('call', (ev) => addCall(parse(ev)));
  source.addEventListener('catalog', () => getJson('/ui/api/catalog').then(setCatalog, () => {}));
}

document.addEventListener('DOMContentLoaded', () => {
  document.getElementById('search').addEventListener('input', renderCatalog);
  loadAll().finally(follow);
});
