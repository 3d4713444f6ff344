// api.js: the dashboard's only way to the master: the public REST API
// (/api/v1) with the bearer token kept in this tab's session storage.
const KEY = 'hourglass.token';
const RANKS = { viewer: 1, operator: 2, editor: 3, admin: 4 };

export const session = {
  token: () => sessionStorage.getItem(KEY),
  set: (t) => sessionStorage.setItem(KEY, t),
  clear: () => sessionStorage.removeItem(KEY),
  me: null, // GET /api/v1/whoami
};

// True when the logged-in role is at least `role`.
export function may(role) {
  return !!session.me && (RANKS[session.me.role] || 0) >= (RANKS[role] || 99);
}

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || 'http_' + status;
    this.field = e.field || null;
    this.role = e.role || null;
    this.leader = e.leader || null;
  }
}

// Call the API; resolves to the parsed body, rejects with ApiError.
// opts: {method, body (JSON-able), raw (Blob/ArrayBuffer), query (object)}.
export async function api(path, opts = {}) {
  let url = '/api/v1' + path;
  if (opts.query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
    else if (k === 'after' && v === '') q.set(k, '');
    const s = q.toString();
    if (s) url += (url.includes('?') ? '&' : '?') + s;
  }
  // On a standby, writes are passed to the leader by the standby itself
  // (master/forward.h): a browser would drop the token on a redirect.
  const headers = { Authorization: 'Bearer ' + (session.token() || ''), 'Hourglass-Forward': 'leader' };
  let body;
  if (opts.raw !== undefined) {
    body = opts.raw;
    headers['Content-Type'] = 'application/octet-stream';
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['Content-Type'] = 'application/json';
  }
  const resp = await fetch(url, { method: opts.method || 'GET', headers, body, cache: 'no-store' });
  let data = null;
  const text = await resp.text();
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!resp.ok) {
    const err = new ApiError(resp.status, data);
    if (resp.status === 401 && session.token()) window.dispatchEvent(new CustomEvent('hg-unauthorized'));
    throw err;
  }
  return data;
}

// One sentence a person can act on, for an ApiError.
export function explain(err) {
  if (!(err instanceof ApiError)) return String(err && err.message ? err.message : err);
  if (err.status === 403)
    return `Not allowed: ${err.message}` + (err.role ? ` (needs the ${err.role} role)` : '');
  if (err.code === 'bad_gateway')
    return 'This master is a standby and could not reach the leader' + (err.leader ? ` at ${err.leader}` : '') +
      `: ${err.message}. Retry shortly.`;
  if (err.code === 'gateway_timeout')
    return 'This master is a standby; the leader' + (err.leader ? ` at ${err.leader}` : '') +
      ' did not answer in time and may still carry the change out. Reload before trying again.';
  if (err.code === 'not_leader')
    return 'This master is a standby: it serves reads only. ' +
      (err.leader ? `Writes go to the leader at ${err.leader}; open the dashboard there.` : err.message);
  return err.message;
}
