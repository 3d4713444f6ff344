// jobs.js: the jobs list (keyset pages of GET /api/v1/jobs), the create
// and edit form with a live schedule explain, and a job's detail page.
import { api, explain, may } from './api.js';
import { applyRoles, bars, flash, h, status, table, when } from './ui.js';
import { report, runDetail, runRow } from './app.js';
import { depGraph, jobModel } from './jobinfo.js';
import { scanPager } from './scan.js';

const jobHref = (j) => `#/job/${encodeURIComponent(j.namespace)}/${encodeURIComponent(j.name)}`;
const lab = (text, el, extra) => h('label', extra || null, text, el);

/* ---- List -------------------------------------------------------------- */

export async function jobsList(root, args, ctx) {
  const f = {
    ns: h('input', { id: 'jobs-ns', placeholder: 'all', size: 10 }),
    prefix: h('input', { id: 'jobs-prefix', type: 'search', placeholder: 'name starts with' }),
    status: h('select', { id: 'jobs-status' }, ['', 'active', 'paused', 'completed'].map((s) => h('option', { value: s }, s || 'any'))),
    kind: h('select', { id: 'jobs-kind' }, ['', 'http', 'plugin'].map((s) => h('option', { value: s }, s || 'any'))),
    node: h('input', { id: 'jobs-node', placeholder: 'any', size: 10 }),
    last: h('select', { id: 'jobs-last' }, ['', 'success', 'failed', 'timeout', 'crashed', 'lost', 'running', 'skipped', 'cancelled']
      .map((s) => h('option', { value: s }, s || 'any'))),
  };
  const t = table('jobs-table', ['Name', 'Namespace', 'Status', 'Kind', 'Schedule', 'Node', 'Last run', 'Next fire']);
  const prev = h('button', { class: 'secondary', id: 'jobs-prev', type: 'button' }, 'Previous');
  const next = h('button', { class: 'secondary', id: 'jobs-next', type: 'button' }, 'Next');
  const where = h('span', { class: 'muted', id: 'jobs-page' });
  // Keyset paging: the cursors of the pages seen, to go back. A filter the
  // server checks row by row may come back partial (its walk stopped at a
  // cursor, docs/api.md): scan.js keeps what was found and searches further.
  let cursors = [''], page = 0;
  const query = (after, limit) => ({ query: { after, limit, namespace: f.ns.value.trim(),
    prefix: f.prefix.value.trim(), status: f.status.value, kind: f.kind.value, node: f.node.value.trim(),
    last_run: f.last.value } });
  const row = (j) => h('tr', { 'data-name': j.name },
    h('td', null, h('a', { href: jobHref(j) }, j.name)), h('td', null, j.namespace),
    h('td', { class: 'wrap' }, status(j.status), j.pause_note ? h('span', { class: 'muted note', title: 'Pause note' }, ` (${j.pause_note})`) : ''),
    h('td', null, j.kind), h('td', { class: 'mono' }, j.schedule), h('td', null, j.node || '—'),
    h('td', null, j.last_run ? [status(j.last_run.status), ' ', when(j.last_run.scheduled_at)] : '—'),
    h('td', null, when(j.next_fire)));
  const scan = scanPager({
    fetch: (after, limit) => api('/jobs', query(after, limit)), alive: ctx.alive, report,
    draw(s) {
      prev.disabled = page === 0;
      next.disabled = !s.next || s.short;
      const n = s.jobs.length;
      where.textContent = `page ${page + 1}` + (n ? `, ${n} job${n === 1 ? '' : 's'}` : '') + s.note;
      t.fill(s.jobs.map(row), s.short ? s.empty : 'No jobs match.');
      if (s.short === false && document.activeElement === s.button) next.focus();
    },
  });
  const load = () => scan.load(cursors[page]);
  const restart = () => { cursors = ['']; page = 0; load().catch(report); };
  let typing = null;
  f.prefix.addEventListener('input', () => { clearTimeout(typing); typing = setTimeout(restart, 250); });
  for (const el of [f.ns, f.status, f.kind, f.node, f.last]) el.addEventListener('change', restart);
  next.addEventListener('click', () => { if (!scan.next()) return; cursors[++page] = scan.next(); load().catch(report); });
  prev.addEventListener('click', () => { if (page > 0) { page--; load().catch(report); } });
  root.append(h('div', { class: 'actions' }, h('h1', null, 'Jobs'),
    h('a', { href: '#/jobs/new', id: 'job-new', 'data-role': 'editor' }, h('button', { type: 'button', tabIndex: -1 }, 'New job'))),
  h('section', { class: 'card' }, h('div', { class: 'toolbar' }, lab('Name', f.prefix), lab('Namespace', f.ns),
    lab('Status', f.status), lab('Kind', f.kind), lab('Node', f.node), lab('Last run', f.last)), t,
  h('div', { class: 'pager' }, prev, next, scan.button, where)));
  await load();
  ctx.every(10000, scan.refresh);
}

/* ---- Create / edit form ------------------------------------------------ */

const FIELDS = ['name', 'namespace', 'kind', 'schedule', 'timezone', 'misfire', 'timeout',
  'http.method', 'http.url', 'http.headers', 'http.body', 'plugin.name', 'plugin.version', 'params'];

function jsonField(text, field) {
  if (!text.trim()) return {};
  try { const v = JSON.parse(text); if (v && typeof v === 'object' && !Array.isArray(v)) return v; } catch { /* below */ }
  throw Object.assign(new Error(`${field}: must be a JSON object, e.g. {"key": "value"}`), { field });
}

// args: [] to create, or [namespace, name] to edit.
export async function jobForm(root, args, ctx) {
  const editing = args.length === 2;
  const old = editing ? await api(`/jobs/${encodeURIComponent(args[1])}`, { query: { namespace: args[0] } }) : null;
  const el = {};
  const input = (f, attrs) => (el[f] = h(attrs.tag || 'input', { id: 'f-' + f.replace('.', '-'), name: f, ...attrs, tag: undefined }));
  const errs = {};
  const field = (label, f, attrs, cls) => h('div', { class: cls || '' },
    lab(label, input(f, attrs)), (errs[f] = h('div', { class: 'field-error', id: 'err-' + f.replace('.', '-') })));
  const explainBox = h('div', { id: 'f-explain', class: 'muted', 'aria-live': 'polite' });
  const formErr = h('p', { class: 'error', id: 'f-error', role: 'alert' });
  const form = h('form', { class: 'job card', id: 'job-form', novalidate: true },
    field('Name', 'name', { required: true, readOnly: editing }), field('Namespace', 'namespace', { placeholder: 'default', readOnly: editing }),
    field('Kind', 'kind', { tag: 'select' }), field('Schedule', 'schedule', { required: true, placeholder: '0 */5 * * * ?  or  @every 30s' }),
    field('Time zone', 'timezone', { placeholder: 'UTC' }), field('Misfire', 'misfire', { tag: 'select' }),
    field('Timeout', 'timeout', { placeholder: '30s' }),
    h('div', { class: 'full' }, h('h2', null, 'Next fires'), explainBox),
    field('HTTP method', 'http.method', { tag: 'select' }, 'http'), field('URL', 'http.url', { placeholder: 'https://...' }, 'http full'),
    field('Headers (JSON object)', 'http.headers', { tag: 'textarea' }, 'http full'), field('Body', 'http.body', { tag: 'textarea' }, 'http full'),
    field('Plug-in', 'plugin.name', {}, 'plugin'), field('Plug-in version', 'plugin.version', { placeholder: 'any' }, 'plugin'),
    field('Parameters (JSON object)', 'params', { tag: 'textarea' }, 'full'),
    h('div', { class: 'full actions' }, h('button', { id: 'f-submit', type: 'submit' }, editing ? 'Save' : 'Create'),
      h('a', { href: editing ? jobHref(old) : '#/jobs' }, 'Cancel'), formErr));
  el.kind.append(...['http', 'plugin'].map((k) => h('option', { value: k }, k)));
  el.misfire.append(...['fire_once', 'skip', 'fire_all'].map((k) => h('option', { value: k }, k)));
  el['http.method'].append(...['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'].map((k) => h('option', { value: k }, k)));
  const showKind = () => {
    for (const n of form.querySelectorAll('.http')) n.classList.toggle('hidden', el.kind.value !== 'http');
    for (const n of form.querySelectorAll('.plugin')) n.classList.toggle('hidden', el.kind.value !== 'plugin');
  };
  if (old) {
    for (const f of ['name', 'namespace', 'kind', 'schedule', 'timezone', 'misfire', 'timeout']) if (old[f] !== undefined && old[f] !== null) el[f].value = old[f];
    if (old.http) { el['http.method'].value = old.http.method; el['http.url'].value = old.http.url;
      el['http.headers'].value = old.http.headers && Object.keys(old.http.headers).length ? JSON.stringify(old.http.headers, null, 1) : '';
      el['http.body'].value = old.http.body || ''; }
    if (old.plugin) { el['plugin.name'].value = old.plugin.name || ''; el['plugin.version'].value = old.plugin.version || ''; }
    el.params.value = old.params && Object.keys(old.params).length ? JSON.stringify(old.params, null, 1) : '';
  }
  showKind();
  el.kind.addEventListener('change', showKind);
  const clearErrs = () => { for (const e of Object.values(errs)) e.textContent = ''; formErr.textContent = ''; };
  const showErr = (err) => {
    const f = err.field && (errs[err.field] ? err.field : err.field.split('.').slice(0, 2).join('.'));
    if (f && errs[f]) { errs[f].textContent = err.message; el[f].focus(); } else if (f && errs[f.split('.')[0]]) errs[f.split('.')[0]].textContent = err.message;
    else formErr.textContent = explain(err);
  };
  // Live explain: the API parses the schedule as a creation would.
  let typing = null;
  const explainNow = async () => {
    const schedule = el.schedule.value.trim();
    errs.schedule.textContent = ''; errs.timezone.textContent = '';
    if (!schedule) { explainBox.textContent = ''; return; }
    try {
      const x = await api('/schedule/explain', { query: { schedule, timezone: el.timezone.value.trim(), count: 5 } });
      const tz = x.timezone;
      const fmt = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', weekday: 'short',
        hour: '2-digit', minute: '2-digit', second: '2-digit', timeZone: tz, timeZoneName: 'short' });
      explainBox.replaceChildren(h('p', null, x.description), x.next.length
        ? h('ul', null, x.next.map((t) => h('li', null, h('time', { datetime: t, title: 'UTC: ' + t }, fmt.format(new Date(t))))))
        : h('p', null, x.fixed_delay ? 'Each run starts a fixed delay after the previous one ends.' : 'No further fire.'));
    } catch (err) {
      explainBox.textContent = '';
      if (err.field && errs[err.field]) errs[err.field].textContent = err.message; else report(err);
    }
  };
  for (const f of ['schedule', 'timezone']) el[f].addEventListener('input', () => { clearTimeout(typing); typing = setTimeout(explainNow, 300); });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrs();
    let job;
    try {
      job = { name: el.name.value.trim(), kind: el.kind.value, schedule: el.schedule.value.trim(), misfire: el.misfire.value };
      const ns = el.namespace.value.trim(); if (ns) job.namespace = ns;
      const tz = el.timezone.value.trim(); if (tz) job.timezone = tz;
      const to = el.timeout.value.trim(); if (to) job.timeout = to;
      if (job.kind === 'http') {
        job.http = { method: el['http.method'].value, url: el['http.url'].value.trim(), headers: jsonField(el['http.headers'].value, 'http.headers') };
        if (el['http.body'].value) job.http.body = el['http.body'].value;
      } else {
        job.plugin = { name: el['plugin.name'].value.trim() };
        if (el['plugin.version'].value.trim()) job.plugin.version = el['plugin.version'].value.trim();
      }
      job.params = jsonField(el.params.value, 'params');
    } catch (err) { showErr(err); return; }
    try {
      let saved;
      if (editing) {
        // The whole job and the version it was read at. A PUT replaces the
        // job, so what the form does not show (retry, overlap, executor,
        // depends_on, ...) goes back as read; redacted secrets ("***") the
        // master restores from the stored job. What GET adds is left out.
        const keep = { ...old };
        for (const k of ['placement', 'last_fire', 'next_fires', 'last_run', 'node']) delete keep[k];
        saved = await api(`/jobs/${encodeURIComponent(old.name)}`, { method: 'PUT', query: { namespace: old.namespace },
          body: { ...keep, ...job, version: old.version } });
      } else {
        saved = await api('/jobs', { method: 'POST', body: job });
      }
      flash(`${editing ? 'Saved' : 'Created'} ${saved.name}`, 'info', true);
      location.hash = jobHref(saved);
    } catch (err) { showErr(err); }
  });
  root.append(h('h1', null, editing ? `Edit ${old.namespace}/${old.name}` : 'New job'), form);
  if (old) explainNow();
  el.name.focus();
}

/* ---- Detail ------------------------------------------------------------ */

export async function jobDetail(root, args, ctx) {
  const [ns, name] = args.length >= 2 ? args : ['default', args[0]];
  if (args[2] === 'edit') return jobForm(root, [ns, name], ctx);
  const path = `/jobs/${encodeURIComponent(name)}`, q = { namespace: ns };
  let job = await api(path, { query: q });
  const head = h('div', { class: 'actions' });
  const def = h('pre', { id: 'jd-def' });
  const next = h('div', { id: 'jd-next' });
  const chartBox = h('div', { id: 'jd-chart-box' });
  const model = h('div', { id: 'jd-model' });
  const deps = h('div', { id: 'jd-deps' });
  const runs = table('jd-runs', ['Job', 'Status', 'Node', 'Scheduled', 'Duration', 'Attempt', 'Trigger']);
  const detail = h('section', { class: 'card hidden', id: 'run-detail' });
  const note = h('input', { id: 'jd-note', placeholder: 'why (optional note)', 'aria-label': 'Pause note' });
  const params = h('input', { id: 'jd-params', placeholder: '{"key": "value"} (optional)', 'aria-label': 'Trigger parameters' });
  const act = async (what, opts, msg) => {
    try {
      const r = await api(`${path}/${what}`, { method: 'POST', query: q, ...opts });
      flash(msg, 'info');
      if (r && r.name) job = r;
      await draw();
    } catch (e) { report(e); }
  };
  const buttons = {
    trigger: h('button', { id: 'jd-trigger', type: 'button', 'data-role': 'operator', onclick: () => {
      let body;
      try { body = params.value.trim() ? { params: jsonField(params.value, 'params') } : undefined; } catch (e) { flash(e.message); return; }
      act('trigger', { body }, 'Triggered');
    } }, 'Trigger'),
    pause: h('button', { id: 'jd-pause', type: 'button', class: 'secondary', 'data-role': 'operator',
      // The note goes with the request (the run-control lane records it).
      onclick: () => act('pause', note.value.trim() ? { body: { note: note.value.trim() } } : {}, 'Paused') }, 'Pause'),
    resume: h('button', { id: 'jd-resume', type: 'button', class: 'secondary', 'data-role': 'operator', onclick: () => act('resume', {}, 'Resumed') }, 'Resume'),
    edit: h('a', { id: 'jd-edit', href: jobHref(job) + '/edit', 'data-role': 'editor' }, 'Edit'),
    del: h('button', { id: 'jd-delete', type: 'button', class: 'danger', 'data-role': 'editor', onclick: async () => {
      if (!confirm(`Delete job ${ns}/${name}? Its runs stay in the history.`)) return;
      try { await api(path, { method: 'DELETE', query: q }); flash(`Deleted ${name}`, 'info', true); location.hash = '#/jobs'; } catch (e) { report(e); }
    } }, 'Delete'),
  };
  head.append(h('h1', null, `${ns}/${name} `, h('span', { id: 'jd-status' })), buttons.trigger, params, buttons.pause, note,
    buttons.resume, buttons.edit, buttons.del);
  root.append(head,
    h('div', { class: 'grid' }, h('section', { class: 'card' }, h('h2', null, 'Definition'), def),
      h('section', { class: 'card' }, h('h2', null, 'Next fires'), next,
        h('h2', null, 'Dependencies'), deps)),
    h('section', { class: 'card' }, h('h2', null, 'Retries, overlap and placement'), model),
    h('section', { class: 'card' }, h('h2', null, 'Recent runs: duration (green/red) and lateness (amber), ms'), chartBox),
    h('section', { class: 'card' }, h('h2', null, 'Runs'), runs), detail);
  let explained = '', drawnTree = '';
  const draw = async () => {
    const [j, r, tree] = await Promise.all([api(path, { query: q }), api('/runs', { query: { job: name, namespace: ns, limit: 50 } }),
      api(`${path}/tree`, { query: q })]);
    if (!ctx.alive()) return;
    job = j;
    jobModel(model, job);
    const shape = JSON.stringify(tree);
    if (shape !== drawnTree) { drawnTree = shape; depGraph(deps, tree, ns, jobHref); }
    head.querySelector('#jd-status').replaceChildren(status(job.status));
    buttons.pause.classList.toggle('gone', job.status !== 'active');
    buttons.resume.classList.toggle('gone', job.status !== 'paused');
    for (const [b, show] of [[buttons.pause, job.status === 'active'], [buttons.resume, job.status === 'paused'], [note, job.status === 'active']])
      b.style.display = show ? '' : 'none';
    def.textContent = JSON.stringify(job, null, 2);
    const key = job.schedule + '|' + job.timezone + '|' + job.status;
    if (key !== explained) {
      explained = key;
      const x = await api('/schedule/explain', { query: { schedule: job.schedule, timezone: job.timezone, start_at: job.start_at || '', end_at: job.end_at || '', count: 5 } });
      next.replaceChildren(h('p', null, x.description, job.status !== 'active' ? ` (the job is ${job.status})` : ''),
        h('ul', null, x.next.map((t) => h('li', null, when(t)))));
    }
    const list = r.runs.slice().reverse();
    chartBox.replaceChildren(bars('jd-chart', list.map((x) => {
      const late = x.started_at ? Math.max(0, new Date(x.started_at) - new Date(x.scheduled_at)) : 0;
      return { label: `${new Date(x.scheduled_at).toLocaleTimeString()} ${x.status}`,
        parts: [{ value: x.duration_ms || 0, cls: x.status === 'success' ? 'ok' : 'bad', label: 'ms run' }, { value: late, cls: 'late', label: 'ms late' }] };
    })));
    runs.fill(r.runs.map((x) => runRow({ namespace: ns, ...x }, (y) => runDetail(detail, y))), 'No runs yet.');
    applyRoles(root);
  };
  await draw();
  ctx.every(3000, draw);
}

export { may };
