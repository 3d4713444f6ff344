// app.js: the dashboard's shell: login, the page router (#/page/...),
// the refresh timer of the page shown, and the small pages (overview,
// runs, nodes, plug-ins, audit). Jobs live in jobs.js.
import { api, explain, may, session } from './api.js';
import { ago, applyRoles, bars, flash, h, status, table, unflash, when } from './ui.js';
import { jobDetail, jobForm, jobsList } from './jobs.js';
import { alertsPage } from './alerts.js';

const $ = (id) => document.getElementById(id);
let timer = null;
let gen = 0; // bumped on each navigation: a stale refresh draws nothing

// Each page: render(root, args, ctx) may call ctx.every(ms, fn) to refresh.
// Alerts live in alerts.js; a job's model and dependency graph in jobinfo.js.
const PAGES = {
  overview: overview, jobs: jobsList, 'jobs/new': jobForm, job: jobDetail, runs: runsPage,
  nodes: nodesPage, plugins: pluginsPage, audit: auditPage, alerts: alertsPage,
};

function route() {
  const hash = location.hash.replace(/^#\/?/, '') || 'overview';
  const parts = hash.split('/').map(decodeURIComponent);
  let name = parts[0], args = parts.slice(1);
  if (name === 'jobs' && args[0] === 'new') { name = 'jobs/new'; args = []; }
  return { name: PAGES[name] ? name : 'overview', args };
}

async function show() {
  clearInterval(timer);
  timer = null;
  const my = ++gen;
  const { name, args } = route();
  for (const a of document.querySelectorAll('#nav a'))
    a.classList.toggle('active', a.getAttribute('href') === '#/' + name.split('/')[0]);
  const root = $('page');
  root.replaceChildren();
  unflash();
  const ctx = {
    alive: () => my === gen,
    every(ms, fn) {
      clearInterval(timer);
      timer = setInterval(() => { if (my === gen && !document.hidden) fn().catch(report); }, ms);
    },
  };
  try {
    await PAGES[name](root, args, ctx);
    applyRoles(root);
  } catch (e) { report(e); }
}

export function report(e) { flash(explain(e)); }

async function login(token) {
  session.set(token);
  try {
    session.me = await api('/whoami');
  } catch (e) {
    session.clear();
    throw e;
  }
  $('whoami').textContent = `${session.me.name} (${session.me.role}${session.me.namespace ? ', ' + session.me.namespace : ''})`;
  $('login').classList.add('hidden');
  $('top').classList.remove('hidden');
  applyRoles(document.getElementById('top'));
  await show();
}

function logout() {
  session.clear();
  session.me = null;
  clearInterval(timer);
  $('page').replaceChildren();
  $('top').classList.add('hidden');
  $('login').classList.remove('hidden');
  $('token').value = '';
  $('token').focus();
}

/* ---- Overview ---------------------------------------------------------- */

async function overview(root, args, ctx) {
  const cluster = h('div', { class: 'stats', id: 'ov-cluster' });
  const masters = table('ov-masters', ['Master', 'Role', 'State', 'Epoch', 'API', 'Last heartbeat']);
  const nodes = h('div', { class: 'stats', id: 'ov-nodes' });
  const jobs = h('div', { class: 'stats', id: 'ov-jobs' });
  const chart = h('div', { id: 'ov-chart-box' }, bars('ov-chart', []));
  const failures = table('ov-failures', ['Job', 'Status', 'Node', 'Scheduled', 'Error']);
  const late = table('ov-late', ['Job', 'Node', 'Scheduled', 'Started', 'Late by']);
  root.append(h('h1', null, 'Overview'),
    h('div', { class: 'grid' },
      h('section', { class: 'card' }, h('h2', null, 'Masters'), cluster),
      h('section', { class: 'card' }, h('h2', null, 'Nodes'), nodes),
      h('section', { class: 'card' }, h('h2', null, 'Jobs'), jobs)),
    h('section', { class: 'card' }, h('h2', null, 'Leader and standbys'), masters),
    h('section', { class: 'card' }, h('h2', null, 'Runs per minute, last hour'),
      h('p', { class: 'muted' }, 'green: succeeded, red: failed, timed out, crashed or lost'), chart),
    h('div', { class: 'grid' },
      h('section', { class: 'card' }, h('h2', null, 'Latest failures'), failures),
      h('section', { class: 'card' }, h('h2', null, 'Late starts (over 1 s)'), late)));
  const stat = (id, label, v) => h('div', { class: 'stat' }, h('b', { id }, String(v)), label);
  // Jobs by status are COUNTs (most of a second at a million jobs): asked
  // for every 30 s, not on each 5 s refresh.
  let counts = null, countsAt = 0;
  const countJobs = () => Promise.all(['active', 'paused', 'completed'].map((s) =>
    api('/jobs', { query: { status: s, limit: 1 } }).then((b) => b.total)));
  const draw = async () => {
    const fresh = !counts || Date.now() - countsAt > 30000;
    const [health, masterList, nodeList, stats, newCounts] = await Promise.all([
      fetch('/healthz', { cache: 'no-store' }).then((r) => r.json()),
      api('/masters').then((b) => b.masters),
      api('/nodes').then((b) => b.nodes).catch((e) => (e.code === 'not_leader' ? null : Promise.reject(e))),
      api('/runs/stats', { query: { window: '1h' } }),
      fresh ? countJobs() : counts,
    ]);
    if (fresh) { counts = newCounts; countsAt = Date.now(); }
    if (!ctx.alive()) return;
    cluster.replaceChildren(
      stat('ov-role', 'this master', health.role || '?'),
      stat('ov-leader', 'leader', health.leader || 'unknown'),
      stat('ov-epoch', 'epoch', health.epoch ?? '?'),
      stat('ov-db', 'database', health.db));
    // Leader and standbys from their heartbeat rows; a silent one is down.
    masters.fill(masterList.map((m) => h('tr', { 'data-master': m.name, class: m.state === 'down' ? 'muted' : '' },
      h('td', null, m.name),
      h('td', { class: 'role' }, status(m.role)), h('td', { class: 'state' }, status(m.state)),
      h('td', { class: 'epoch' }, m.epoch ?? '—'),
      h('td', null, h('a', { href: m.api_url + '/' }, m.api_url)),
      h('td', null, when(m.last_heartbeat), ' ', h('span', { class: 'muted' }, ago(m.last_heartbeat))))), 'No master has reported yet.');
    if (nodeList === null) {
      nodes.replaceChildren(h('p', { class: 'muted' }, 'Standby: the node view is on the leader',
        health.leader_api ? [' (', h('a', { href: health.leader_api + '/' }, health.leader_api), ')'] : ''));
    } else {
      const by = {};
      for (const n of nodeList) by[n.state] = (by[n.state] || 0) + 1;
      nodes.replaceChildren(...['active', 'draining', 'lost', 'left'].map((s) => stat('ov-nodes-' + s, s, by[s] || 0)));
    }
    jobs.replaceChildren(...['active', 'paused', 'completed'].map((s, i) => stat('ov-jobs-' + s, s, counts[i])));
    const bad = ['failed', 'timeout', 'crashed', 'lost'];
    chart.replaceChildren(bars('ov-chart', stats.buckets.map((b) => ({
      label: new Date(b.at).toLocaleTimeString(),
      parts: [{ value: b.counts.success || 0, cls: 'ok', label: 'succeeded' },
        { value: bad.reduce((a, s) => a + (b.counts[s] || 0), 0), cls: 'bad', label: 'failed' }],
    }))));
    const jobLink = (r) => h('a', { href: `#/job/${encodeURIComponent(r.namespace || 'default')}/${encodeURIComponent(r.job)}` }, r.job);
    failures.fill(stats.failures.map((r) => h('tr', null, h('td', null, jobLink(r)), h('td', null, status(r.status)),
      h('td', null, r.node), h('td', null, when(r.scheduled_at)), h('td', { class: 'wrap' }, r.error || ''))), 'No failures in the last hour.');
    late.fill(stats.late.map((r) => h('tr', null, h('td', null, jobLink(r)), h('td', null, r.node), h('td', null, when(r.scheduled_at)),
      h('td', null, when(r.started_at)), h('td', null, ((new Date(r.started_at) - new Date(r.scheduled_at)) / 1000).toFixed(1) + ' s'))), 'No late starts in the last hour.');
  };
  await draw();
  ctx.every(5000, draw);
}

/* ---- Runs -------------------------------------------------------------- */

export function runRow(r, onpick) {
  return h('tr', { class: 'clickable', tabIndex: 0, 'data-run': r.run_id,
    onclick: () => onpick(r), onkeydown: (e) => { if (e.key === 'Enter') onpick(r); } },
  // The run's job in its namespace (GET /api/v1/runs names it; "default"
  // only for a run whose job is gone).
  h('td', null, h('a', { href: `#/job/${encodeURIComponent(r.namespace || 'default')}/${encodeURIComponent(r.job)}`,
    onclick: (e) => e.stopPropagation() }, r.job)),
  h('td', null, status(r.status)), h('td', null, r.node), h('td', null, when(r.scheduled_at)),
  h('td', null, r.duration_ms === null || r.duration_ms === undefined ? '—' : r.duration_ms + ' ms'),
  h('td', null, r.attempt), h('td', null, r.trigger));
}

export function runDetail(box, r) {
  box.replaceChildren(h('h2', null, `Run ${r.run_id}`),
    h('p', null, status(r.status), ` on ${r.node}, attempt ${r.attempt}, ${r.trigger}; scheduled `, when(r.scheduled_at),
      ', started ', when(r.started_at), ', finished ', when(r.finished_at),
      r.http_status ? `; HTTP ${r.http_status}` : '', r.exit_code !== null && r.exit_code !== undefined ? `; exit code ${r.exit_code}` : ''),
    r.error ? h('p', { class: 'error' }, r.error) : '',
    h('h2', null, 'Output, log lines and result'), h('pre', { id: 'run-output' }, r.output || '(none)'));
  box.classList.remove('hidden');
}

async function runsPage(root, args, ctx) {
  const f = {
    job: h('input', { id: 'runs-job', placeholder: 'job name' }),
    status: h('select', { id: 'runs-status' }, ['', 'running', 'success', 'failed', 'timeout', 'crashed', 'lost', 'skipped'].map((s) => h('option', { value: s }, s || 'any'))),
    since: h('input', { id: 'runs-since', type: 'datetime-local' }),
    until: h('input', { id: 'runs-until', type: 'datetime-local' }),
    node: h('input', { id: 'runs-node', placeholder: 'node name' }),
    follow: h('input', { id: 'runs-follow', type: 'checkbox', checked: true }),
  };
  const t = table('runs-table', ['Job', 'Status', 'Node', 'Scheduled', 'Duration', 'Attempt', 'Trigger']);
  const detail = h('section', { class: 'card hidden', id: 'run-detail' });
  const more = h('button', { class: 'secondary', id: 'runs-more', type: 'button' }, 'Older');
  let runs = [], next = null;
  const q = () => ({ job: f.job.value.trim(), status: f.status.value, node: f.node.value.trim(), limit: 50,
    since: f.since.value ? new Date(f.since.value).toISOString() : '', until: f.until.value ? new Date(f.until.value).toISOString() : '' });
  const paint = () => t.fill(runs.map((r) => runRow(r, (x) => runDetail(detail, x))), 'No runs.');
  const load = async () => {
    const b = await api('/runs', { query: q() });
    if (!ctx.alive()) return;
    runs = b.runs; next = b.next; more.disabled = !next;
    paint();
  };
  more.addEventListener('click', async () => {
    const b = await api('/runs', { query: { ...q(), before: next } }).catch(report);
    if (!b) return;
    runs = runs.concat(b.runs); next = b.next; more.disabled = !next; paint();
  });
  for (const el of [f.job, f.status, f.node, f.since, f.until]) el.addEventListener('change', () => load().catch(report));
  const lab = (text, el) => h('label', null, text, el);
  root.append(h('h1', null, 'Runs'), h('section', { class: 'card' },
    h('div', { class: 'toolbar' }, lab('Job', f.job), lab('Status', f.status), lab('Node', f.node), lab('Since', f.since),
      lab('Until', f.until), h('label', null, 'Follow live', f.follow)), t, h('div', { class: 'pager' }, more)), detail);
  await load();
  // Following live: the newest page is polled while "follow" is on.
  ctx.every(2000, async () => { if (f.follow.checked && !f.until.value) await load(); });
}

/* ---- Nodes ------------------------------------------------------------- */

async function nodesPage(root, args, ctx) {
  const t = table('nodes-table', ['Node', 'State', 'Labels', 'Jobs', 'Held', 'Running', 'Unacked', 'Last heartbeat', 'Version', '']);
  root.append(h('h1', null, 'Nodes'), h('section', { class: 'card' }, t));
  const act = async (n, drain) => {
    try {
      await api(`/nodes/${encodeURIComponent(n.name)}/${drain ? 'drain' : 'activate'}`, { method: 'POST' });
      flash(`${n.name}: ${drain ? 'draining' : 'active'}`, 'info');
      await draw();
    } catch (e) { report(e); }
  };
  const draw = async () => {
    const b = await api('/nodes');
    if (!ctx.alive()) return;
    t.fill(b.nodes.map((n) => h('tr', { 'data-node': n.name },
      h('td', null, n.name), h('td', { class: 'state' }, status(n.state)),
      h('td', { class: 'wrap' }, Object.entries(n.labels || {}).map(([k, v]) => `${k}=${v}`).join(', ')),
      h('td', null, n.jobs), h('td', null, n.held), h('td', null, n.running), h('td', null, n.unacked),
      h('td', null, when(n.last_heartbeat), ' ', h('span', { class: 'muted' }, ago(n.last_heartbeat))), h('td', null, n.version),
      h('td', null, n.drained || n.state === 'draining'
        ? h('button', { class: 'secondary activate', type: 'button', 'data-role': 'operator', onclick: () => act(n, false) }, 'Activate')
        : h('button', { class: 'secondary drain', type: 'button', 'data-role': 'operator', onclick: () => act(n, true) }, 'Drain')))), 'No nodes.');
    applyRoles(t);
  };
  await draw();
  ctx.every(3000, draw);
}

/* ---- Plug-ins ---------------------------------------------------------- */

async function pluginsPage(root, args, ctx) {
  const t = table('plugins-table', ['Name', 'Version', 'SHA-256', 'Size', 'Arch', 'Uploaded', '']);
  const file = h('input', { id: 'pl-file', type: 'file', required: true });
  const name = h('input', { id: 'pl-name', required: true, placeholder: 'name' });
  const version = h('input', { id: 'pl-version', required: true, placeholder: '1.0.0' });
  const replace = h('input', { id: 'pl-replace', type: 'checkbox' });
  const form = h('form', { class: 'toolbar', 'data-role': 'admin', id: 'pl-form' },
    h('label', null, 'Shared object', file), h('label', null, 'Name', name), h('label', null, 'Version', version),
    h('label', null, 'Replace', replace), h('button', { id: 'pl-upload', type: 'submit' }, 'Push'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!file.files[0]) return;
    try {
      const p = await api('/plugins', { method: 'POST', raw: await file.files[0].arrayBuffer(),
        query: { name: name.value.trim(), version: version.value.trim(), replace: replace.checked ? 'true' : '' } });
      flash(`Pushed ${p.name} ${p.version}`, 'info');
      await draw();
    } catch (err) { report(err); }
  });
  root.append(h('h1', null, 'Plug-ins'), h('section', { class: 'card' }, form, t));
  const del = async (p) => {
    if (!confirm(`Delete plug-in ${p.name} ${p.version} (${p.sha256.slice(0, 12)}...)?`)) return;
    try { await api('/plugins/' + p.sha256, { method: 'DELETE' }); await draw(); } catch (e) { report(e); }
  };
  const draw = async () => {
    const b = await api('/plugins');
    if (!ctx.alive()) return;
    t.fill(b.plugins.map((p) => h('tr', null, h('td', null, p.name), h('td', null, p.version),
      h('td', { class: 'mono', title: p.sha256 }, p.sha256.slice(0, 16) + '…'), h('td', null, p.size), h('td', null, p.arch),
      h('td', null, when(p.uploaded_at)),
      h('td', null, h('button', { class: 'danger', type: 'button', 'data-role': 'admin', onclick: () => del(p) }, 'Delete')))), 'No plug-ins stored.');
    applyRoles(t);
  };
  await draw();
}

/* ---- Audit ------------------------------------------------------------- */

async function auditPage(root, args, ctx) {
  const t = table('audit-table', ['When', 'Token', 'Role', 'Action', 'Object', 'Address', 'Status']);
  const since = h('select', { id: 'audit-since' }, ['1h', '24h', '168h', '720h'].map((s) => h('option', { value: s }, s)));
  root.append(h('h1', null, 'Audit log'), h('section', { class: 'card' },
    h('div', { class: 'toolbar' }, h('label', null, 'Since', since)), t));
  const draw = async () => {
    const b = await api('/audit', { query: { since: since.value, limit: 200 } });
    if (!ctx.alive()) return;
    t.fill(b.audit.map((a) => h('tr', null, h('td', null, when(a.at)), h('td', null, a.token), h('td', null, a.role),
      h('td', null, a.action), h('td', { class: 'wrap' }, a.object), h('td', null, a.address), h('td', null, a.status))), 'Nothing recorded.');
  };
  since.value = '24h';
  since.addEventListener('change', () => draw().catch(report));
  await draw();
  ctx.every(10000, draw);
}

/* ---- Start ------------------------------------------------------------- */

$('login').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('login-error').textContent = '';
  try { await login($('token').value.trim()); } catch (err) {
    $('login-error').textContent = err.status === 401 ? 'This token is unknown, expired or revoked.' : explain(err);
  }
});
$('logout').addEventListener('click', logout);
window.addEventListener('hashchange', () => { if (session.me) show(); });
window.addEventListener('hg-unauthorized', logout);
if (session.token()) login(session.token()).catch(() => logout());
else logout();
