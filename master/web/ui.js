// ui.js: small DOM helpers. Text from the API only ever goes in as text
// nodes (never innerHTML), so nothing a job or a worker says can run.
import { may } from './api.js';

// h('td', {class: 'x', onclick: f}, 'text', child, ...)
export function h(tag, attrs, ...kids) {
  const svg = ['svg', 'rect', 'line', 'text', 'g', 'title'].includes(tag);
  const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.setAttribute('class', v);
    else if (k in el && !svg && k !== 'list') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const kid of kids.flat()) if (kid !== null && kid !== undefined && kid !== false)
    el.append(kid instanceof Node ? kid : String(kid));
  return el;
}

// A time in the browser's zone, UTC on hover; '—' for none.
export function when(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const d = new Date(iso);
  return h('time', { datetime: iso, title: 'UTC: ' + iso }, d.toLocaleString());
}

export function ago(iso) {
  if (!iso) return '—';
  const s = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

export function status(s) {
  return h('span', { class: 's-' + s }, s || '—');
}

// A table whose rows are replaced in place on each refresh (no jump).
export function table(id, heads) {
  const tbody = h('tbody');
  const el = h('div', { class: 'table-wrap' },
    h('table', { id }, h('thead', null, h('tr', null, heads.map((x) => h('th', { scope: 'col' }, x)))), tbody));
  el.fill = (rows, empty) => {
    const list = rows.length ? rows : [h('tr', null, h('td', { colSpan: heads.length, class: 'muted' }, empty || 'None.'))];
    tbody.replaceChildren(...list);
  };
  return el;
}

// Hide what the role may not use: elements with data-role="operator".
export function applyRoles(root) {
  for (const el of root.querySelectorAll('[data-role]'))
    el.classList.toggle('hidden', !may(el.dataset.role));
}

const flashEl = () => document.getElementById('flash');
let flashTimer = null;
let carried = false; // the message survives the next page change
// carry: the message is about to be followed by a page change (a save
// that opens the saved job's page) and must still show on that page.
export function flash(text, kind, carry) {
  const el = flashEl();
  el.textContent = text;
  el.className = kind === 'info' ? 'info' : '';
  carried = !!carry;
  clearTimeout(flashTimer);
  if (kind === 'info') flashTimer = setTimeout(() => el.classList.add('hidden'), carry ? 8000 : 4000);
}
// Called on each page change: hides the message unless it is carried.
export function unflash() {
  if (carried) { carried = false; return; }
  flashEl().classList.add('hidden');
}

// Stacked bars: one per bucket, `parts` of {value, cls, label}. Drawn by
// hand in SVG (a few dozen lines; no charting library is packaged here).
export function bars(id, buckets, height = 140, slots = 30) {
  const w = 600, pad = 18;
  const max = Math.max(1, ...buckets.map((b) => b.parts.reduce((a, p) => a + p.value, 0)));
  // A few runs do not stretch into wide slabs: at least `slots` places.
  const bw = (w - pad) / Math.max(slots, buckets.length);
  const svg = h('svg', { id, class: 'chart', viewBox: `0 0 ${w} ${height}`, preserveAspectRatio: 'none', role: 'img' });
  svg.append(h('line', { class: 'axis', x1: pad, y1: height - pad, x2: w, y2: height - pad }));
  svg.append(h('text', { x: 0, y: 10 }, String(max)));
  buckets.forEach((b, i) => {
    let y = height - pad;
    for (const p of b.parts) {
      if (!p.value) continue;
      const bh = (p.value / max) * (height - pad - 12);
      y -= bh;
      svg.append(h('rect', { class: p.cls, x: pad + i * bw + 1, y, width: Math.max(1, bw - 2), height: bh },
        h('title', null, `${b.label}: ${p.value} ${p.label}`)));
    }
  });
  return svg;
}
