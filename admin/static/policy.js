// A token's restrictions on the form: enabled or disabled, the addresses
// its key is accepted from, its rate limit and its usage quota; what the
// edit page says of them (the disabled banner, the uses left); and which of
// them a save sends: only what changed, so that saving a description
// neither refills a quota nor touches anything else.
import { $, api, can, failed, mine, notify, state } from './ui.js';
import { DAY, durationLabel } from './format.js';
import { kind } from './kind.js';

// The rate limit's windows offered, in ms, and how "requests per" reads.
const windows = { 1000: 'second', 60000: 'minute', 3600000: 'hour', [DAY]: 'day' };
const maxRequests = 1000000000; // the Service's bounds
const maxQuota = 9007199254740992n;

// setupPolicy wires the disabled banner's Enable button.
export function setupPolicy() {
  $('enable').addEventListener('click', enable);
  $('enabled').addEventListener('change', switched);
}

// switched says plainly what a switch turned off means.
function switched() {
  $('enabled-off').hidden = $('enabled').checked;
  $('enabled-off').textContent = state.token && state.token.disabled ? 'Off: the key is refused (401).' : 'Off: once saved, the key is refused (401).';
}

// address shows a single-address network as the address alone.
const address = (p) => p.replace(p.includes(':') ? /\/128$/ : /\/32$/, '');

// lines reads the addresses typed, one a line, blank lines aside.
const lines = (text) => text.split('\n').map((l) => l.trim()).filter((l) => l !== '');

// initial is t's policy as the form shows it (t null: a new token's).
function initial(t) {
  const p = t || {};
  return {
    enabled: !p.disabled,
    ips: (p.allowedIPs || []).map(address),
    requests: p.rateLimit ? String(p.rateLimit.requests) : '',
    window: String(p.rateLimit ? p.rateLimit.window : 60000),
    limit: p.quota ? String(p.quota.limit) : '',
    refill: p.quota ? p.quota.refill || '' : '',
  };
}

function windowOptions(current) {
  const select = $('rateLimit-window');
  select.replaceChildren();
  const values = Object.keys(windows);
  if (!values.includes(current)) values.push(current); // set through the API: kept, and named
  for (const ms of values) {
    const o = document.createElement('option');
    o.value = ms;
    o.textContent = windows[ms] || durationLabel(Number(ms));
    select.append(o);
  }
}

// fillPolicy shows t's restrictions in the form.
export function fillPolicy(t) {
  const v = initial(t);
  $('enabled').checked = v.enabled;
  $('allowedIPs').value = v.ips.join('\n');
  $('allowedIPs').rows = Math.min(Math.max(3, v.ips.length + 1), 10);
  switched();
  windowOptions(v.window);
  $('rateLimit').value = v.requests;
  $('rateLimit-window').value = v.window;
  $('quota').value = v.limit;
  $('quota-refill').value = v.refill;
  showPolicyState(t);
}

// showPolicyState shows the disabled banner and the uses left of t.
export function showPolicyState(t) {
  $('disabled-banner').hidden = !(t && t.disabled);
  $('enable').hidden = !can('update') || (t != null && !mine(t));
  const q = t && t.quota;
  $('quota-status').hidden = !q;
  $('quota-note').hidden = !q;
  if (q) $('quota-status').textContent = usesLeft(q, Date.now());
}

// usesLeft says "N of M uses left, refilled daily". A quota last refilled
// before the current period is full again: its next use refills it.
export function usesLeft(q, now) {
  const d = new Date(now);
  const start = q.refill === 'daily' ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())
    : q.refill === 'monthly' ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) : -Infinity;
  const left = new Date(q.refilledAt).getTime() < start ? q.limit : q.remaining;
  return left.toLocaleString('en') + ' of ' + q.limit.toLocaleString('en') + ' uses left, ' +
    (q.refill ? 'refilled ' + q.refill : 'never refilled');
}

// policyChanges returns what of the restrictions differs from t's (t null:
// from none), as fields of a create or update body, and the fields typed
// wrongly, as Strapi's field errors are, for the form to show.
export function policyChanges(t) {
  const was = initial(t);
  const body = {};
  const errors = [];
  if ($('enabled').checked !== was.enabled) body.disabled = !$('enabled').checked;
  const ips = lines($('allowedIPs').value);
  if (ips.join('\n') !== was.ips.join('\n')) body.allowedIPs = ips;

  const requests = $('rateLimit').value.trim();
  const window = $('rateLimit-window').value;
  if (requests !== was.requests || (requests !== '' && window !== was.window)) {
    const n = /^[0-9]{1,10}$/.test(requests) ? Number(requests) : 0;
    if (requests === '') body.rateLimit = { requests: 0 };
    else if (n < 1 || n > maxRequests) errors.push({ path: ['rateLimit'], message: 'The rate limit must be a whole number of requests from 1 to 1,000,000,000; leave it empty for no limit.' });
    else body.rateLimit = { requests: n, window: Number(window) };
  }

  const limit = $('quota').value.trim();
  const refill = $('quota-refill').value;
  if (limit !== was.limit || (limit !== '' && refill !== was.refill)) {
    const ok = /^[0-9]{1,16}$/.test(limit) && BigInt(limit) >= 1n && BigInt(limit) <= maxQuota;
    if (limit === '') body.quota = { limit: 0 };
    else if (!ok) errors.push({ path: ['quota'], message: 'The quota must be a whole number of uses from 1 to 9,007,199,254,740,992; leave it empty for unlimited uses.' });
    else body.quota = { limit: Number(limit), refill };
  }
  return { body, errors };
}

// enable enables the token on the edit page at once, leaving whatever else
// was typed in the form alone for Save.
async function enable() {
  const t = state.token;
  let u;
  try {
    u = await api('PUT', kind.path + '/' + encodeURIComponent(t.id), { disabled: false }, t.etag);
  } catch (e) {
    failed(e, enable);
    return;
  }
  state.token = u;
  $('enabled').checked = true;
  switched();
  showPolicyState(u);
  notify('“' + u.name + '” is enabled: its key works again.');
  $('form-title').focus(); // the banner, and the button that had the focus, are gone
}
