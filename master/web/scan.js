// scan.js: the jobs list's page when the server's walk stops short. A
// filter the server checks row by row (kind, node, last run) may answer
// "partial": true with the cursor it reached and how many jobs it read
// (docs/api.md, Job pages). The jobs found so far stay on the page;
// "Search further" follows the cursor and adds what it finds, until the
// page is full or the jobs end, and the line under the table says how
// many jobs were searched. The button keeps its place (hidden, never
// removed), so nothing moves as it comes and goes, and it keeps the focus
// for the next press of Enter.
import { h } from './ui.js';

export const PAGE = 50;

// fetch(after, limit) -> a GET /api/v1/jobs answer; alive() false once the
// page is left; draw({jobs, next, short, note, empty, button}) shows them;
// report(error) for a failed search.
export function scanPager({ fetch, alive, draw, report }) {
  const button = h('button', { class: 'secondary invisible', id: 'jobs-further', type: 'button', disabled: true },
    'Search further');
  let after = '', jobs = [], next = null, stopped = null, searched = 0;
  let extended = false, busy = false, seq = 0;
  const take = (b) => {
    next = b.next;
    stopped = b.partial ? b.next : null;
    if (b.partial) searched += b.scanned || 0;
  };
  const show = () => {
    const short = !!stopped && jobs.length < PAGE;
    button.classList.toggle('invisible', !short);
    button.disabled = !short;
    const n = searched.toLocaleString('en-US');
    draw({
      jobs, next, short, button,
      note: short ? `${jobs.length ? ' so far' : ''}; searched ${n} jobs${jobs.length ? '' : ', no match yet'}` : '',
      empty: `Searched ${n} jobs, no match yet.`,
    });
  };
  // The page from cursor `from`: what a refresh, a filter or Next asks.
  const load = async (from) => {
    const my = ++seq;
    after = from;
    const b = await fetch(from, PAGE);
    if (!alive() || my !== seq) return;
    jobs = b.jobs;
    searched = 0;
    extended = false;
    take(b);
    show();
  };
  const further = async () => {
    if (busy || !stopped || jobs.length >= PAGE) return;
    const my = ++seq;
    busy = true;
    extended = true;
    button.setAttribute('aria-busy', 'true');
    try {
      const b = await fetch(stopped, PAGE - jobs.length);
      if (!alive() || my !== seq) return;
      jobs = jobs.concat(b.jobs);
      take(b);
      show();
    } finally {
      busy = false;
      button.removeAttribute('aria-busy');
    }
  };
  button.addEventListener('click', () => further().catch(report));
  return {
    button,
    load,
    next: () => next,
    // A search carried further is the user's: the periodic refresh would
    // start it over, so it leaves that page alone.
    refresh: () => (extended || busy ? Promise.resolve() : load(after)),
  };
}
