// The live dashboard (served by the API at /dashboard; docs/api.md "Live dashboard"). Plain DOM
// code: no framework, no inline script (the page's CSP allows scripts from this origin only), and
// every value from the API is written with textContent, never as HTML.
'use strict';

const state = { key: sessionStorage.getItem('rtap.key') || '', tenant: sessionStorage.getItem('rtap.tenant') || '', ws: null, timers: [], anomalies: [] };
const $ = (id) => document.getElementById(id);
const TILE_MEASURES = [['events', 'events'], ['orders', 'orders'], ['revenue', 'revenue'], ['distinct_users', 'users']];
const fmt = (v) => (v === null || v === undefined ? '–' : typeof v === 'number' ? (Math.abs(v) >= 1000 ? v.toLocaleString(undefined, { maximumFractionDigits: 0 }) : v.toLocaleString(undefined, { maximumFractionDigits: 2 })) : String(v));

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(fmt(c)));
  return node;
}

function setStatus(text, error) {
  $('status').textContent = text;
  $('status').className = error ? 'status error' : 'status';
}

function query(path) {
  const url = new URL(path, location.origin);
  if (state.tenant) url.searchParams.set('tenant', state.tenant);
  return url.pathname + url.search;
}

async function api(path) {
  const res = await fetch(query(path), { headers: { 'x-api-key': state.key, accept: 'application/json' } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${res.status} ${body.error || ''}: ${body.message || res.statusText}`);
  return body;
}

function renderTiles(totals) {
  const tiles = $('tiles');
  tiles.replaceChildren(...TILE_MEASURES.map(([m, label]) => el('div', { class: 'tile' }, el('div', { class: 'value' }, totals[m] ?? 0), el('div', { class: 'label' }, `${label}, last 5 min`))));
}

function renderChart(rows) {
  const svg = $('chart');
  const ns = 'http://www.w3.org/2000/svg';
  const max = Math.max(1, ...rows.map((r) => Number(r.events) || 0));
  const width = 600 / Math.max(1, rows.length);
  svg.replaceChildren(
    ...rows.map((r, i) => {
      const h = ((Number(r.events) || 0) / max) * 150;
      const rect = document.createElementNS(ns, 'rect');
      rect.setAttribute('x', String(i * width + 1));
      rect.setAttribute('y', String(158 - h));
      rect.setAttribute('width', String(Math.max(1, width - 2)));
      rect.setAttribute('height', String(h));
      rect.setAttribute('class', 'live');
      const title = document.createElementNS(ns, 'title');
      title.textContent = `${r.window_start}: ${fmt(r.events)} events, revenue ${fmt(r.revenue)}`;
      rect.append(title);
      return rect;
    }),
  );
  $('chart-note').textContent = `peak ${fmt(max)} / min`;
}

function renderBoundary(meta) {
  const cut = meta.batch_cut || {};
  const live = meta.live_offsets || {};
  const partitions = [...new Set([...Object.keys(cut), ...Object.keys(live)])].sort((a, b) => a - b);
  let liveEvents = 0;
  $('boundary').tBodies[0].replaceChildren(
    ...partitions.map((p) => {
      const n = Math.max(0, (live[p] ?? 0) - (cut[p] ?? 0));
      liveEvents += n;
      return el('tr', {}, el('td', {}, p), el('td', { class: 'num' }, cut[p] ?? 0), el('td', { class: 'num' }, live[p] ?? 0), el('td', { class: 'num' }, n));
    }),
  );
  const version = meta.batch_version ? `batch views ${meta.batch_version}` : 'no batch views published yet';
  const fresh = meta.freshness_ms === null || meta.freshness_ms === undefined ? 'no live events yet' : `newest live event ${fmt(Math.round(meta.freshness_ms / 1000))} s ago`;
  $('boundary-summary').textContent = `${version}; ${fmt(liveEvents)} offsets past the cut served by the speed layer; ${fresh}.`;
}

function renderTop(top) {
  $('top').replaceChildren(
    ...Object.entries(top || {}).map(([dimension, rows]) =>
      el('div', {}, el('h3', { class: 'sub' }, dimension), el('table', {}, el('tbody', {}, ...rows.map((r) => el('tr', {}, el('td', {}, r.value ?? '(none)'), el('td', { class: 'num' }, r.events)))))),
    ),
  );
}

function addAnomalies(list) {
  const seen = new Set(state.anomalies.map((a) => a.anomaly_id));
  for (const a of list) if (!seen.has(a.anomaly_id)) state.anomalies.push(a);
  state.anomalies.sort((a, b) => (b.detected_at < a.detected_at ? -1 : 1));
  state.anomalies = state.anomalies.slice(0, 50);
  $('anomalies').replaceChildren(
    ...(state.anomalies.length === 0
      ? [el('li', { class: 'sub' }, 'none in the last hour')]
      : state.anomalies.map((a) =>
          el('li', {}, el('span', { class: `sev ${a.severity || 'low'}` }, a.severity || '?'), `${new Date(a.detected_at).toLocaleTimeString()} · score ${fmt(a.score)} · ${a.anomaly_type || ''} · `, el('span', { class: 'sub' }, a.explanation || '')),
        )),
  );
}

function renderSla(report) {
  $('sla').tBodies[0].replaceChildren(
    ...report.objectives.map((o) =>
      el('tr', {}, el('td', {}, o.name), el('td', { class: 'num' }, o.name === 'availability' && o.value !== null ? `${(o.value * 100).toFixed(3)} %` : o.value), el('td', { class: 'num' }, `${o.kind === 'max' ? '≤' : '≥'} ${o.name === 'availability' ? `${o.target * 100} %` : fmt(o.target)}`), el('td', { class: o.met === false ? 'unmet' : 'met' }, o.met === null ? '' : o.met ? 'met' : 'missed')),
    ),
  );
}

async function refresh() {
  try {
    const dash = await api('/api/v2/analytics/realtime/dashboard');
    renderChart(dash.data.per_minute);
    renderTop(dash.data.top);
    renderBoundary(dash.meta);
    setStatus(`connected${state.tenant ? ` as ${state.tenant}` : ''}; updated ${new Date().toLocaleTimeString()}`);
  } catch (err) {
    setStatus(String(err.message || err), true);
  }
}

async function refreshSlowly() {
  try {
    renderSla(await api('/api/v2/metrics/sla'));
    addAnomalies((await api('/api/v2/anomalies/active?minutes=60&limit=50')).data);
  } catch (err) {
    setStatus(String(err.message || err), true);
  }
}

function openStream() {
  const url = new URL('/api/v2/analytics/realtime/stream', location.origin);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('api_key', state.key);
  if (state.tenant) url.searchParams.set('tenant', state.tenant);
  const ws = new WebSocket(url);
  state.ws = ws;
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    if (msg.type === 'rollup') {
      const totals = {};
      for (const row of msg.data) for (const [k] of TILE_MEASURES) totals[k] = (totals[k] || 0) + (Number(row[k]) || 0);
      // distinct users do not add up across minutes: show the largest minute instead
      totals.distinct_users = Math.max(0, ...msg.data.map((r) => Number(r.distinct_users) || 0));
      renderTiles(totals);
    } else if (msg.type === 'anomalies') addAnomalies(msg.data);
  };
  ws.onclose = () => {
    if (state.ws === ws) state.timers.push(setTimeout(openStream, 3000));
  };
}

function stop() {
  for (const t of state.timers) clearInterval(t);
  state.timers = [];
  const ws = state.ws;
  state.ws = null;
  if (ws) ws.close();
}

function start() {
  stop();
  if (!state.key) return;
  renderTiles({});
  refresh();
  refreshSlowly();
  openStream();
  state.timers.push(setInterval(refresh, 10_000), setInterval(refreshSlowly, 30_000));
}

$('login').addEventListener('submit', (e) => {
  e.preventDefault();
  state.key = $('key').value.trim();
  state.tenant = $('tenant').value.trim();
  sessionStorage.setItem('rtap.key', state.key);
  sessionStorage.setItem('rtap.tenant', state.tenant);
  start();
});
$('logout').addEventListener('click', () => {
  stop();
  state.key = '';
  sessionStorage.removeItem('rtap.key');
  sessionStorage.removeItem('rtap.tenant');
  setStatus('key forgotten');
});
$('tenant').value = state.tenant;
start();
