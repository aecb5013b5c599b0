// Shared by the screen's modules: the state, the API client, notices, the
// key banner and the confirmation dialogs. A key is kept in one element's
// text while it is on screen and nowhere else.
import { kind } from './kind.js';

export const base = document.documentElement.dataset.base || './';
export const $ = (id) => document.getElementById(id);

export const state = {
  perms: new Set(), // admin permissions of the signed-in administrator
  me: '', // the signed-in administrator's id, when admin tokens are served
  grantable: [], // the admin permissions they may grant their admin tokens
  durations: [], // allowed lifespans in ms, null for unlimited
  canReveal: false,
  groups: {}, // content-API actions: {"api::article": {controllers: {article: ["find"]}}}
  tokens: [], // the page of the list on screen
  list: { page: 1, sort: 'name', dir: 'asc' },
  token: null, // the token being edited; null when creating
  keyHash: null, // the route the key banner belongs to
  pendingNotice: null, // shown once the next route has rendered
  retry: null, // what Try again repeats once the administrator has signed in again
  busy: false, // a save, delete or regenerate is under way
};

// can reports whether the administrator may do p (read, create, …) to the
// kind of token on this page.
export const can = (p) => state.perms.has(kind.perm + p);

// mine reports whether admin token t belongs to the signed-in
// administrator: only its owner may see or regenerate its key. Every
// content-API token is, in that sense, everyone's.
export const mine = (t) => !kind.admin || (state.me !== '' && t.owner === state.me);

// ownerName names an admin token's owner, saying when it is you.
export const ownerName = (id) => (id === state.me ? id + ' (you)' : id);

// api calls the admin API and returns its data, or throws an Error with
// the status and Strapi's field errors. The data carries the response's
// ETag, if any, as a property that JSON leaves out; ifMatch sends one back.
export async function api(method, path, body, ifMatch) {
  const opts = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' };
  if (ifMatch) opts.headers['If-Match'] = ifMatch;
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(base + path, opts);
  } catch (e) {
    const err = new Error('The server could not be reached. Check your connection and try again.');
    err.status = 0;
    err.fields = [];
    throw err;
  }
  let json = null;
  try {
    json = await res.json();
  } catch (e) {
    // not JSON: answered below by status
  }
  if (!res.ok) {
    const e = (json && json.error) || {};
    const err = new Error(messageFor(res.status, e.message));
    err.status = res.status;
    err.fields = (e.details && Array.isArray(e.details.errors)) ? e.details.errors : [];
    throw err;
  }
  const data = json ? json.data : null;
  const etag = res.headers.get('ETag');
  if (data && typeof data === 'object' && etag) Object.defineProperty(data, 'etag', { value: etag });
  if (data && typeof data === 'object' && json.meta) Object.defineProperty(data, 'meta', { value: json.meta });
  return data;
}

function messageFor(status, message) {
  switch (status) {
    case 401: return 'You are not signed in, or your session has ended.';
    case 403: return 'You are not allowed to do this.';
    case 503: return 'The token store cannot be reached right now, so nothing was changed. Try again in a moment.';
    default: return message || 'Something went wrong (' + status + '). Try again.';
  }
}


export function notify(text) {
  const n = $('notice');
  n.textContent = text;
  n.hidden = !text;
}

export function alertError(text) {
  const a = $('alert');
  a.textContent = text;
  a.hidden = !text;
}

export function clearMessages() {
  notify('');
  alertError('');
  hideSignIn();
}

// failed reports e. A session that ended (401) shows the sign-in state,
// whose Try again runs retry; the page is left as it is, so nothing typed is
// lost. Anything else goes to the alert.
export function failed(e, retry) {
  if (e.status === 401) {
    showSignIn(retry);
    return;
  }
  alertError(e.message);
}

function showSignIn(retry) {
  state.retry = retry || null;
  const url = document.documentElement.dataset.signIn;
  const link = $('signin-link');
  link.hidden = !url;
  if (url) link.href = url;
  $('signin-text').textContent = url
    ? 'Nothing was lost: what you typed is still here. Sign in again in the new tab, then come back and press Try again.'
    : 'Nothing was lost: what you typed is still here. Sign in again in another tab, then press Try again.';
  $('signin').hidden = false;
  $('signin').scrollIntoView({ block: 'nearest' });
  $('signin').focus();
}

export function hideSignIn() {
  $('signin').hidden = true;
}


// showKey shows key until the user leaves the route hash.
export function showKey(key, hash) {
  state.keyHash = hash || location.hash || '#/';
  $('key-value').textContent = key;
  $('copy-status').textContent = '';
  $('key-banner').hidden = false;
  $('key-banner').scrollIntoView({ block: 'nearest' });
  $('copy-key').focus();
}

export function hideKey() {
  state.keyHash = null;
  $('key-value').textContent = '';
  $('copy-status').textContent = '';
  $('key-banner').hidden = true;
}

export async function copyKey() {
  const key = $('key-value').textContent;
  const status = $('copy-status');
  try {
    if (!navigator.clipboard || !window.isSecureContext) throw new Error('no clipboard');
    await navigator.clipboard.writeText(key);
    status.textContent = 'Copied to the clipboard.';
    status.className = 'copy-status ok';
    return;
  } catch (e) {
    // fall back to selecting the key and the older copy command
  }
  const range = document.createRange();
  range.selectNodeContents($('key-value'));
  const sel = window.getSelection();
  sel.removeAllRanges();
  sel.addRange(range);
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch (e) {
    ok = false;
  }
  status.textContent = ok ? 'Copied to the clipboard.' : 'Could not copy: the key is selected, press Ctrl+C (⌘C) to copy it.';
  status.className = 'copy-status ' + (ok ? 'ok' : 'error');
}

// wireDialog makes a confirmation dialog run its onconfirm, which each
// opening sets afresh, only when its confirm button is pressed. Escape and
// Cancel close it without running anything.
export function wireDialog(name) {
  const d = $(name + '-dialog');
  $(name + '-cancel').addEventListener('click', () => d.close('cancel'));
  $(name + '-confirm').addEventListener('click', async () => {
    const run = d.onconfirm;
    d.onconfirm = null;
    d.close('confirm');
    if (run) await run();
  });
}
