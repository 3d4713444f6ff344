// alerts.js: the alerts page (issue 12's API, issue 13's page): the
// rules (GET /api/v1/alerts), a form to create a webhook rule (editor),
// delete (confirmed) and "send test" per rule, and the delivery history of
// every rule or of one. Secrets are never shown: the API answers
// "<redacted>", and the form's secret field is write-only (type password,
// cleared after a save).
import { api, explain } from './api.js';
import { applyRoles, flash, h, status, table, when } from './ui.js';
import { report } from './app.js';

const EVENTS = ['failed', 'timeout', 'crashed', 'lost', 'skipped', 'late', 'recovered', 'missed'];
const lab = (text, el) => h('label', null, text, el);

function channelText(c) {
  if (!c) return '—';
  if (c.type === 'webhook') return `webhook ${c.url}`;
  if (c.type === 'email') return `e-mail to ${(c.to || []).join(', ')}`;
  return c.type;
}

// The create form: its inputs are named as the API's error fields are
// (name, job, events, channel.url, ...), so an error lands next to its field.
function ruleForm(onsaved) {
  const el = {}, errs = {};
  const field = (label, f, attrs) => h('div', null,
    lab(label, (el[f] = h(attrs.tag || 'input', { id: 'a-' + f.replace('.', '-'), name: f, ...attrs, tag: undefined }))),
    (errs[f] = h('div', { class: 'field-error', id: 'err-a-' + f.replace('.', '-') })));
  const boxes = EVENTS.map((e) => h('label', { class: 'check' }, h('input', { type: 'checkbox', value: e, defaultChecked: e === 'failed', 'data-event': e }), e));
  const formErr = h('p', { class: 'error', id: 'a-error', role: 'alert' });
  const form = h('form', { class: 'job card', id: 'alert-form', novalidate: true, 'data-role': 'editor' },
    h('h2', { class: 'full' }, 'New webhook rule'),
    field('Name', 'name', { required: true, placeholder: 'backups-failing' }),
    field('Namespace', 'namespace', { placeholder: 'every namespace' }),
    field('Job (name or glob)', 'job', { placeholder: '*' }),
    field('Webhook URL', 'channel.url', { required: true, placeholder: 'https://hooks.example/...' }),
    field('Signing secret (16-512 bytes)', 'channel.secret', { type: 'password', autocomplete: 'new-password' }),
    field('Threshold', 'threshold', { type: 'number', min: 1, placeholder: '1' }),
    field('Window', 'window', { placeholder: '10m' }), field('Silence', 'silence', { placeholder: '30m' }),
    field('Late after', 'late', { placeholder: '2m (late event)' }), field('Missed after', 'missed', { placeholder: '1h (missed event)' }),
    h('div', { class: 'full' }, h('span', { class: 'muted' }, 'Events '), h('span', { id: 'a-events' }, boxes),
      (errs.events = h('div', { class: 'field-error', id: 'err-a-events' }))),
    h('div', { class: 'full' }, formErr, h('button', { id: 'a-submit', type: 'submit' }, 'Create rule')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    for (const x of Object.values(errs)) x.textContent = '';
    formErr.textContent = '';
    const rule = { name: el.name.value.trim(), events: boxes.map((b) => b.firstChild).filter((c) => c.checked).map((c) => c.value),
      channel: { type: 'webhook', url: el['channel.url'].value.trim() } };
    if (el['channel.secret'].value) rule.channel.secret = el['channel.secret'].value;
    for (const f of ['namespace', 'job', 'window', 'silence', 'late', 'missed']) if (el[f].value.trim()) rule[f] = el[f].value.trim();
    if (el.threshold.value.trim()) rule.threshold = Number(el.threshold.value);
    try {
      const saved = await api('/alerts', { method: 'POST', body: rule });
      flash(`Created rule ${saved.name}`, 'info');
      form.reset();
      await onsaved();
    } catch (err) {
      // channel.secret's error names the field; a deeper one (channel.to[0]) its first two parts.
      const f = err.field && (errs[err.field] ? err.field : err.field.split(/[.[]/).slice(0, 2).join('.'));
      if (f && errs[f]) { errs[f].textContent = err.message; if (el[f]) el[f].focus(); } else formErr.textContent = explain(err);
    }
  });
  return form;
}

export async function alertsPage(root, args, ctx) {
  const rules = table('alerts-table', ['Name', 'Namespace', 'Job', 'Events', 'Channel', '']);
  const pick = h('select', { id: 'ah-rule' }, h('option', { value: '' }, 'every rule'));
  const hist = table('alerts-history', ['When', 'Rule', 'Event', 'Job', 'Status', 'Attempts', 'Sent', 'Error']);
  const loadHistory = async () => {
    const rule = pick.value;
    const b = await api(rule ? `/alerts/${encodeURIComponent(rule)}/history` : '/alerts:history', { query: { limit: 100 } });
    if (!ctx.alive()) return;
    hist.fill(b.deliveries.map((d) => h('tr', { 'data-delivery': d.id },
      h('td', null, when(d.created_at)), h('td', null, d.rule), h('td', null, d.event), h('td', null, d.job || '—'),
      h('td', { class: 'a-status' }, d.status),
      h('td', null, d.attempts), h('td', null, when(d.sent_at)), h('td', { class: 'wrap' }, d.last_error || ''))), 'No deliveries.');
  };
  const act = async (r, what) => {
    try {
      if (what === 'delete') {
        if (!confirm(`Delete alert rule ${r.name}? Its pending deliveries are dropped.`)) return;
        await api(`/alerts/${encodeURIComponent(r.name)}`, { method: 'DELETE' });
        flash(`Deleted rule ${r.name}`, 'info');
      } else {
        flash(`Sending a test message for ${r.name}...`, 'info');
        await api(`/alerts/${encodeURIComponent(r.name)}/test`, { method: 'POST' });
        flash(`Test message for ${r.name} delivered`, 'info');
      }
      await draw();
    } catch (e) { report(e); await loadHistory().catch(() => {}); }
  };
  const draw = async () => {
    const b = await api('/alerts');
    if (!ctx.alive()) return;
    rules.fill(b.alerts.map((r) => h('tr', { 'data-rule': r.name },
      h('td', null, r.name), h('td', null, r.namespace || 'all'), h('td', null, r.job || '*'),
      h('td', { class: 'wrap' }, (r.events || []).join(', ')), h('td', { class: 'wrap' }, channelText(r.channel)),
      h('td', null, h('div', { class: 'actions' },
        h('button', { class: 'secondary a-test', type: 'button', 'data-role': 'editor', onclick: () => act(r, 'test') }, 'Send test'),
        h('button', { class: 'danger a-delete', type: 'button', 'data-role': 'editor', onclick: () => act(r, 'delete') }, 'Delete'))))),
    'No alert rules.');
    const keep = pick.value;
    pick.replaceChildren(h('option', { value: '' }, 'every rule'), ...b.alerts.map((r) => h('option', { value: r.name }, r.name)));
    pick.value = b.alerts.some((r) => r.name === keep) ? keep : '';
    applyRoles(rules);
    await loadHistory();
  };
  pick.addEventListener('change', () => loadHistory().catch(report));
  root.append(h('h1', null, 'Alerts'), h('section', { class: 'card' }, h('h2', null, 'Rules'), rules),
    ruleForm(draw),
    h('section', { class: 'card' }, h('div', { class: 'toolbar' }, h('h2', null, 'Deliveries'), lab('Rule', pick)), hist));
  await draw();
  ctx.every(5000, draw);
}
