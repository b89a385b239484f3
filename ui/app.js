// Zeno dashboard: plain DOM, no framework, no build step. State arrives over
// Server-Sent Events from /ui/api/stream (one frame per second); logs and
// brokers are fetched from /ui/api/*. Everything from the server is written
// with textContent, never as HTML.

const SVG = 'http://www.w3.org/2000/svg';
const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function svg(tag, attrs = {}) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

const time = (ms) => new Date(ms).toLocaleTimeString();
const fmtRps = (n) => (n >= 10 ? n.toFixed(0) : n.toFixed(1));
const fmtMs = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);
const keyOf = (s) => `${s.namespace}/${s.name}`;

function renderServices(state) {
  const body = $('services').tBodies[0];
  body.replaceChildren();
  $('no-services').hidden = state.services.length > 0;
  for (const s of state.services) {
    const last = s.history[s.history.length - 1];
    const id = `${s.namespace}-${s.name}`;
    body.append(el('tr', { 'data-service': keyOf(s) },
      el('td', {}, s.namespace === 'default' ? s.name : `${s.namespace}/${s.name}`),
      el('td', { class: s.ready ? 'ok' : 'bad' }, s.ready ? 'Ready' : 'not ready'),
      el('td', { class: 'num' },
        el('span', { 'data-testid': `ready-${id}` }, s.readyReplicas), ' / ',
        el('span', { 'data-testid': `desired-${id}` }, s.desiredReplicas)),
      el('td', { class: 'num' }, last ? fmtRps(last.rps) : '0'),
      el('td', {}, s.latestReadyRevision ?? '—'),
      el('td', {}, s.url ? el('a', { href: s.url }, s.url) : '—')));
  }
}

/** Replicas (step lines, left scale) and requests/s (line, right scale) over the kept history. */
function chart(s, now) {
  const W = 600, H = 120, P = 24;
  const span = 5 * 60 * 1000;
  const x = (t) => P + ((t - (now - span)) / span) * (W - 2 * P);
  const maxPods = Math.max(1, ...s.history.map((h) => Math.max(h.ready, h.desired)));
  const maxRps = Math.max(1, ...s.history.map((h) => h.rps));
  const yPods = (v) => H - P / 2 - (v / maxPods) * (H - P);
  const yRps = (v) => H - P / 2 - (v / maxRps) * (H - P);
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': `replicas and requests of ${s.name}` });
  root.append(svg('line', { x1: P, x2: W - P, y1: yPods(0), y2: yPods(0), stroke: '#e3e6ec' }));
  const step = (pick) => {
    let d = '';
    s.history.forEach((h, i) => {
      const px = x(h.t).toFixed(1), py = pick(h).toFixed(1);
      d += i === 0 ? `M${px},${py}` : `H${px}V${py}`;
    });
    if (s.history.length) d += `H${x(now).toFixed(1)}`;
    return d;
  };
  const line = (pick) => s.history.map((h, i) => `${i ? 'L' : 'M'}${x(h.t).toFixed(1)},${pick(h).toFixed(1)}`).join('');
  if (s.history.length) {
    root.append(svg('path', { d: line((h) => yRps(h.rps)), fill: 'none', stroke: '#0969da', 'stroke-width': 1.5 }));
    root.append(svg('path', { d: step((h) => yPods(h.desired)), fill: 'none', stroke: '#8250df', 'stroke-width': 1.5, 'stroke-dasharray': '4 3' }));
    root.append(svg('path', { d: step((h) => yPods(h.ready)), fill: 'none', stroke: '#1a7f37', 'stroke-width': 2 }));
  }
  const label = (text, xx, yy, anchor, color) => {
    const t = svg('text', { x: xx, y: yy, 'font-size': 10, 'text-anchor': anchor, fill: color });
    t.textContent = text;
    root.append(t);
  };
  label(`${maxPods} pods`, 2, P / 2 + 4, 'start', '#1a7f37');
  label(`${fmtRps(maxRps)} rps`, W - 2, P / 2 + 4, 'end', '#0969da');
  return root;
}

function renderCharts(state) {
  const box = $('charts');
  box.replaceChildren();
  for (const s of state.services) {
    box.append(el('div', { class: 'chart', 'data-chart': keyOf(s) }, el('h3', {}, keyOf(s)), chart(s, state.time)));
  }
}

function renderRecent(state) {
  const cold = $('cold-starts').tBodies[0];
  cold.replaceChildren(...state.coldStarts.map((c) =>
    el('tr', {}, el('td', {}, time(c.time)), el('td', {}, `${c.namespace}/${c.revision}`), el('td', { class: 'num' }, fmtMs(c.waitMs)))));
  $('no-cold-starts').hidden = state.coldStarts.length > 0;
  const errs = $('errors').tBodies[0];
  errs.replaceChildren(...state.errors.map((e) =>
    el('tr', {},
      el('td', {}, time(e.time)),
      el('td', {}, `${e.namespace}/${e.revision || e.service}`),
      el('td', { class: 'bad' }, [e.status !== undefined ? `HTTP ${e.status || 'no response'}` : '', e.error ?? '', e.message ?? ''].filter(Boolean).join(' · ')))));
  $('no-errors').hidden = state.errors.length > 0;
}

let services = [];
function renderLogChoices(state) {
  const sel = $('log-service');
  const keys = state.services.map(keyOf);
  if (keys.join() === services.join()) return;
  services = keys;
  const current = sel.value;
  sel.replaceChildren(el('option', { value: '' }, '(choose a service)'), ...keys.map((k) => el('option', { value: k }, k)));
  if (keys.includes(current)) sel.value = current;
}

async function loadLogs() {
  const key = $('log-service').value;
  if (!key) {
    $('logs').replaceChildren();
    return;
  }
  const [namespace, service] = key.split('/');
  const pod = $('log-pod').value;
  const q = new URLSearchParams({ namespace, service, tail: '300', ...(pod ? { pod } : {}) });
  const res = await fetch(`/ui/api/logs?${q}`);
  if (!res.ok) return;
  const data = await res.json();
  const podSel = $('log-pod');
  const want = ['', ...data.pods];
  if ([...podSel.options].map((o) => o.value).join() !== want.join()) {
    podSel.replaceChildren(el('option', { value: '' }, 'all pods'), ...data.pods.map((p) => el('option', { value: p }, p)));
    podSel.value = data.pods.includes(pod) ? pod : '';
  }
  const out = $('logs');
  const atBottom = out.scrollTop + out.clientHeight >= out.scrollHeight - 4;
  out.replaceChildren(...data.lines.map((l) => el('div', { class: l.stream }, `${time(l.time)} ${l.pod} ${l.line}`)));
  if (atBottom) out.scrollTop = out.scrollHeight;
}

/** A trigger's name with the dispatcher's live delivery counters (status.deliveryStats), if any. */
function triggerText(t) {
  const stats = Object.entries(t.status?.deliveryStats ?? {}).filter(([, v]) => typeof v === 'number');
  return stats.length ? `${t.metadata.name} (${stats.map(([k, v]) => `${k} ${v}`).join(', ')})` : t.metadata.name;
}

async function loadEventing() {
  const res = await fetch('/ui/api/eventing');
  if (!res.ok) return;
  const data = await res.json();
  const box = $('eventing');
  if (!data.available || data.brokers.length === 0) {
    box.replaceChildren(el('p', { class: 'empty' }, data.available ? 'No brokers.' : 'No brokers: eventing is not served by this platform yet.'));
    return;
  }
  const ready = (o) => (o.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
  const rows = data.brokers.map((b) => {
    const ns = b.metadata.namespace ?? 'default';
    const triggers = data.triggers.filter((t) => (t.metadata.namespace ?? 'default') === ns && t.spec?.broker === b.metadata.name);
    return el('tr', {},
      el('td', {}, `${ns}/${b.metadata.name}`),
      el('td', { class: ready(b) ? 'ok' : 'bad' }, ready(b) ? 'Ready' : 'not ready'),
      el('td', {}, b.status?.address?.url ?? '—'),
      el('td', {}, triggers.length ? triggers.map(triggerText).join('; ') : '—'));
  });
  box.replaceChildren(el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, 'broker'), el('th', {}, 'ready'), el('th', {}, 'address'), el('th', {}, 'triggers (deliveries)'))), el('tbody', {}, ...rows)));
}

function render(state) {
  renderServices(state);
  renderCharts(state);
  renderRecent(state);
  renderLogChoices(state);
}

function connect() {
  const conn = $('conn');
  const es = new EventSource('/ui/api/stream');
  es.addEventListener('state', (e) => {
    conn.dataset.state = 'live';
    conn.textContent = 'live';
    render(JSON.parse(e.data));
  });
  es.onerror = () => {
    conn.dataset.state = 'down';
    conn.textContent = 'reconnecting…';
  };
}

$('log-service').addEventListener('change', () => {
  $('log-pod').value = '';
  void loadLogs();
});
$('log-pod').addEventListener('change', () => void loadLogs());
setInterval(() => {
  if ($('log-follow').checked) void loadLogs();
}, 2000);
setInterval(() => void loadEventing(), 5000);
void loadEventing();
connect();
