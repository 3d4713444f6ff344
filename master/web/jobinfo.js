// jobinfo.js: the job detail page's job-model card (retry policy,
// overlap, jitter, remaining runs, executor and placement) and the SVG
// graph of its dependencies (GET /api/v1/jobs/{name}/tree). Kept out of
// jobs.js so that page stays a list, a form and a detail.
import { h, status } from './ui.js';

const NS = 'http://www.w3.org/2000/svg';
const dash = (v) => (v === undefined || v === null || v === '' ? '—' : String(v));

function svg(tag, attrs, ...kids) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  for (const kid of kids.flat()) if (kid !== null && kid !== undefined) el.append(kid instanceof Node ? kid : String(kid));
  return el;
}

function retryText(r) {
  if (!r) return 'none';
  const parts = [`${r.max_attempts} attempts`];
  if (r.backoff) parts.push(`${r.backoff} backoff`);
  if (r.initial) parts.push(`from ${r.initial}`);
  if (r.factor && r.backoff === 'exponential') parts.push(`x${r.factor}`);
  if (r.max_delay) parts.push(`up to ${r.max_delay}`);
  if (r.jitter && r.jitter !== 'none') parts.push(`${r.jitter} jitter`);
  if (Array.isArray(r.on)) parts.push(`on ${r.on.join(', ')}`);
  return parts.join(', ');
}

function executorText(x) {
  x = x || {};
  const labels = Object.entries(x.labels || {}).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return [
    ['Pinned nodes', x.nodes && x.nodes.length ? x.nodes.join(', ') : 'any'],
    ['Labels', labels.length ? labels.join(', ') : 'any'],
    ['Strategy', dash(x.strategy || 'least_loaded')],
    ['Mode', dash(x.mode || 'single')],
    ['Shards', dash(x.shards || 1)],
  ];
}

// The members of the job model a person checks before asking "why did it
// (not) run": each row an id'd <dd> so tests and screen readers find it.
export function jobModel(box, job) {
  const p = job.placement;
  const rows = [
    ['retry', 'Retry', retryText(job.retry)],
    ['overlap', 'Overlap', dash(job.overlap || 'allow')],
    ['jitter', 'Jitter', dash(job.jitter)],
    ['remaining', 'Remaining runs', job.remaining_runs === null || job.remaining_runs === undefined ? 'unlimited' : job.remaining_runs],
    ...executorText(job.executor).map(([label, v]) => ['exec-' + label.split(' ').pop().toLowerCase(), label, v]),
    ['placement', 'Placement', p ? [status(p.state), p.nodes && p.nodes.length ? ` on ${p.nodes.join(', ')}` : ''] : `— (the job is ${job.status})`],
    ['reason', 'Why', p && p.reason ? p.reason : '—'],
  ];
  if (job.pause_note) rows.unshift(['pause-note', 'Pause note', job.pause_note]);
  box.replaceChildren(h('dl', { class: 'model' }, rows.flatMap(([id, label, v]) =>
    [h('dt', null, label), h('dd', { id: 'jd-m-' + id }, v)])));
}

// Flatten a tree side ({job, on, parents|children}) into levels: level 1
// is the direct parents (or children), level 2 theirs, and so on. A job
// reached twice keeps its first (nearest) place.
function levels(list, key, seen) {
  const out = [];
  let cur = list || [];
  while (cur.length) {
    const row = [], next = [];
    for (const n of cur) {
      if (seen.has(n.job)) continue;
      seen.add(n.job);
      row.push(n);
      next.push(...(n[key] || []));
    }
    if (row.length) out.push(row);
    cur = next;
  }
  return out;
}

// The dependency graph: parents above, the job in the middle, children
// below; each node a link to its job's page, each edge labelled with its
// `on` condition (success, failure, always) in its title.
export function depGraph(box, tree, ns, href) {
  const seen = new Set([tree.job]);
  const ups = levels(tree.parents, 'parents', seen).reverse();
  const downs = levels(tree.children, 'children', seen);
  if (!ups.length && !downs.length) {
    box.replaceChildren(h('p', { class: 'muted', id: 'jd-deps-none' }, 'No dependencies: no parent starts this job, it starts no child.'));
    return;
  }
  const rows = [...ups, [{ job: tree.job, self: true }], ...downs];
  const W = 160, H = 28, GX = 20, GY = 36;
  const width = Math.max(...rows.map((r) => r.length)) * (W + GX) + GX;
  const height = rows.length * (H + GY) + GY - 16;
  const pos = new Map();
  rows.forEach((r, y) => r.forEach((n, x) => {
    const off = (width - r.length * (W + GX) + GX) / 2;
    pos.set(n.job, { x: off + x * (W + GX), y: 8 + y * (H + GY), n });
  }));
  const g = svg('svg', { id: 'jd-graph', class: 'deps', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img',
    'aria-label': `Dependencies of ${tree.job}` });
  const edge = (from, to, on) => {
    const a = pos.get(from), b = pos.get(to);
    if (!a || !b) return;
    g.append(svg('line', { class: 'edge on-' + (on || 'success'), x1: a.x + W / 2, y1: a.y + H, x2: b.x + W / 2, y2: b.y },
      svg('title', null, `${from} → ${to} on ${on || 'success'}`)));
  };
  const walk = (list, key, child) => {
    for (const n of list || []) {
      if (key === 'parents') edge(n.job, child, n.on); else edge(child, n.job, n.on);
      walk(n[key], key, n.job);
    }
  };
  walk(tree.parents, 'parents', tree.job);
  walk(tree.children, 'children', tree.job);
  for (const { x, y, n } of pos.values()) {
    const label = n.job.length > 22 ? n.job.slice(0, 21) + '…' : n.job;
    const parts = [svg('rect', { x, y, width: W, height: H, rx: 4, class: n.self ? 'self' : 'node' }),
      svg('text', { x: x + W / 2, y: y + H / 2 + 4, 'text-anchor': 'middle' }, label), svg('title', null, n.job)];
    g.append(n.self ? svg('g', { class: 'dep-self' }, parts)
      : svg('a', { href: href({ namespace: ns, name: n.job }), class: 'dep-node', 'data-job': n.job }, parts));
  }
  box.replaceChildren(g, tree.truncated ? h('p', { class: 'muted' }, 'The graph is cut short (too many jobs).') : '');
}
