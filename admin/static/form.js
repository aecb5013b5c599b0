// The create and edit form: details, duration with the expiry it will give,
// type and permissions, and saving them. An admin token has no type (it is
// always custom), admin permissions, and an owner.
import { $, alertError, api, can, failed, mine, notify, ownerName, showKey, state } from './ui.js';
import { DAY, dateTimeFmt, durationLabel } from './format.js';
import { confirmDelete } from './list.js';
import { renderPermissions, showTypeImplies, tick, ticked, typeChanged, typeWarning } from './perms.js';
import { renderAdminPermissions } from './adminperms.js';
import { kind } from './kind.js';
import { showKeyState } from './keys.js';
import { fillPolicy, policyChanges } from './policy.js';

// setupForm wires the form's controls.
export function setupForm() {
  $('delete').addEventListener('click', () => {
    const t = state.token;
    confirmDelete(t, () => {
      state.pendingNotice = '“' + t.name + '” was deleted.';
      location.hash = '#/';
    });
  });
  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    save();
  });
  $('type').addEventListener('change', typeChanged);
  $('lifespan').addEventListener('change', updateExpiryPreview);
  for (const id of ['name', 'description']) $(id).addEventListener('input', () => counter(id));
  const d = $('custom-empty-dialog');
  $('custom-empty-cancel').addEventListener('click', () => d.close('cancel'));
  $('custom-empty-confirm').addEventListener('click', () => {
    d.close('confirm');
    save(true);
  });
  d.addEventListener('close', () => {
    if (d.returnValue !== 'confirm') $('save').focus();
  });
}

// length counts characters as the server does (code points, not UTF-16 units).
const length = (s) => [...s].length;

// counter shows how much of its limit a field uses, and says so plainly
// when the text is over it: the input never cuts what was typed or pasted.
function counter(id) {
  const input = $(id);
  const max = Number(input.dataset.max);
  const n = length(input.value);
  const c = $(id + '-count');
  c.textContent = n > max ? n + ' / ' + max + ' characters: ' + (n - max) + ' too many' : n + ' / ' + max + ' characters';
  c.classList.toggle('over', n > max);
}

function durationOptions(current) {
  const select = $('lifespan');
  select.replaceChildren();
  const values = state.durations.slice();
  if (current !== undefined && !values.includes(current)) values.push(current);
  for (const ms of values) {
    const o = document.createElement('option');
    o.value = lifespanOption(ms);
    o.textContent = durationLabel(ms) + (state.durations.includes(ms) ? '' : ' (no longer offered)');
    select.append(o);
  }
}

// A lifespan is its milliseconds in the duration select, and "unlimited"
// for null (or, with no durations offered, undefined); lifespanValue reads
// the chosen one back.
const lifespanOption = (ms) => (ms === null || ms === undefined ? 'unlimited' : String(ms));
const lifespanValue = () => ($('lifespan').value === 'unlimited' ? null : Number($('lifespan').value));

export function updateExpiryPreview() {
  const preview = $('expiry-preview');
  const t = state.token;
  const chosen = lifespanValue();
  let expires; // ISO string or null
  if (t && $('lifespan').value === $('lifespan').dataset.initial) {
    expires = t.expiresAt;
  } else {
    expires = chosen === null ? null : new Date(Date.now() + chosen).toISOString();
  }
  if (!expires) {
    preview.textContent = 'Never expires';
  } else {
    const d = new Date(expires);
    preview.textContent = (d.getTime() <= Date.now() ? 'Expired on ' : 'Expires on ') + dateTimeFmt.format(d);
  }
  preview.dataset.expires = expires || '';
  $('lifespan-warning').hidden = $('lifespan').value !== 'unlimited';
}

function clearFieldErrors() {
  for (const p of document.querySelectorAll('#token-form .field-error')) {
    p.textContent = '';
    p.hidden = true;
  }
  for (const i of document.querySelectorAll('#token-form [aria-invalid]')) i.removeAttribute('aria-invalid');
}

// showFieldErrors puts each of Strapi's field errors next to its field,
// leaving what the user typed alone.
function showFieldErrors(err) {
  let first = null;
  const general = [];
  for (const fe of err.fields) {
    const field = Array.isArray(fe.path) && fe.path.length ? fe.path[0] : '';
    const slot = field && $(field + '-error');
    if (!slot) {
      general.push(fe.message);
      continue;
    }
    slot.textContent = fe.message;
    slot.hidden = false;
    // A field that is one control is marked invalid and takes the focus;
    // the permissions, many boxes, give it to their message.
    const input = $(field);
    const control = input && input.matches('input, select, textarea') ? input : null;
    if (control) control.setAttribute('aria-invalid', 'true');
    first = first || control || slot;
  }
  if (general.length || !err.fields.length) {
    $('form-error').textContent = general.length ? general.join(' ') : err.message;
    $('form-error').hidden = false;
  }
  if (first && first.focus) first.focus();
}

function fillForm(t) {
  state.token = t;
  const editing = t !== null;
  // Another administrator's admin token is theirs to change (the server
  // answers 403): shown, not edited.
  const readOnly = editing && (!can('update') || !mine(t));
  $('form-title').textContent = editing ? t.name : 'Create ' + kind.one;
  $('form-title').title = editing ? t.name : '';
  $('name').value = editing ? t.name : '';
  $('description').value = editing ? t.description : '';
  $('type').value = kind.admin ? 'custom' : editing ? t.type : 'read-only';
  durationOptions(editing ? t.lifespan : undefined);
  const def = state.durations.includes(30 * DAY) ? 30 * DAY : state.durations[0];
  $('lifespan').value = lifespanOption(editing ? t.lifespan : def);
  $('lifespan').dataset.initial = $('lifespan').value;
  $('lifespan-note').hidden = !editing;
  fillPolicy(t);
  if (kind.admin) {
    renderAdminPermissions(editing ? t.permissions || [] : []);
  } else {
    renderPermissions();
    if (editing && t.type === 'custom') tick(t.permissions || []);
    else showTypeImplies();
  }
  typeWarning();
  $('form-fields').disabled = readOnly;
  $('save').hidden = readOnly;
  if (readOnly && kind.admin) $('permissions-kept').hidden = true; // nothing is saved here
  $('regenerate').hidden = !editing || !can('regenerate') || !mine(t);
  $('delete').hidden = !editing || !can('delete');
  $('reveal').hidden = !editing || !state.canReveal || !can('read') || !mine(t);
  showOwner(t);
  clearFieldErrors();
  $('form-error').hidden = true;
  counter('name');
  counter('description');
  updateExpiryPreview();
  showKeyState(t);
}

// showOwner says whose admin token t is (a new one is yours) and, on
// another administrator's, that its key is theirs alone.
function showOwner(t) {
  if (!kind.admin) return;
  const owner = t ? t.owner || '' : state.me;
  $('owner').textContent = ownerName(owner);
  const theirs = t !== null && !mine(t);
  $('owner-note').hidden = !theirs;
  if (theirs) {
    $('owner-note').textContent = 'This admin token belongs to ' + owner + ': it acts for ' + owner + ', within ' + owner +
      "'s permissions. Only " + owner + ' can see its key, regenerate or change it.';
  }
}

// showForm shows the create form (id null) or a token's edit form. It
// returns the element to focus, or null when the token cannot be shown.
export async function showForm(id) {
  if (id === null) {
    if (!can('create')) {
      alertError('You are not allowed to create ' + kind.noun + 's.');
      return null;
    }
    $('form-view').hidden = false;
    fillForm(null);
    return $('name');
  }
  let t;
  try {
    t = await api('GET', kind.path + '/' + encodeURIComponent(id));
  } catch (e) {
    if (e.status === 404) {
      $('missing-view').hidden = false;
      return $('missing-title');
    }
    failed(e, () => showForm(id).then((el) => el && el.focus()));
    return null;
  }
  $('form-view').hidden = false;
  fillForm(t);
  return $('form-title');
}

// tooLong refuses, before sending, a field over its limit, saying so next
// to it: what was typed stays for the user to shorten.
function tooLong() {
  let first = null;
  for (const id of ['name', 'description']) {
    const max = Number($(id).dataset.max);
    const n = length($(id).value);
    if (n <= max) continue;
    $(id + '-error').textContent = (id === 'name' ? 'Name' : 'Description') + ' must be at most ' + max + ' characters; it has ' + n + '.';
    $(id + '-error').hidden = false;
    $(id).setAttribute('aria-invalid', 'true');
    first = first || $(id);
  }
  if (first) first.focus();
  return first !== null;
}

// save sends the form. A custom token without any permission is saved only
// once the user has confirmed it (emptyOK). The Save button keeps the focus
// throughout: it is marked busy, never disabled, which would drop it.
export async function save(emptyOK) {
  if (state.busy) return;
  clearFieldErrors();
  $('form-error').hidden = true;
  alertError('');
  notify(''); // an earlier "Saved." must not stand beside this save's errors
  if (tooLong()) return;
  const editing = state.token !== null;
  const policy = policyChanges(state.token);
  if (policy.errors.length) {
    showFieldErrors({ fields: policy.errors, message: '' });
    return;
  }
  const body = {
    name: $('name').value,
    description: $('description').value,
  };
  if (!kind.admin) body.type = $('type').value;
  // An admin token's permissions are sent when they changed only: an edit
  // of its description asks nobody's permissions. Ticks the viewer cannot
  // change are sent as they are (see adminperms.js).
  if (body.type === 'custom' || (kind.admin && (!editing || !sameSet(ticked(), state.token.permissions || [])))) {
    body.permissions = ticked();
    if (body.permissions.length === 0 && emptyOK !== true) {
      $('custom-empty-dialog').showModal();
      return;
    }
  }
  Object.assign(body, policy.body);
  // An edit sends the lifespan only when the duration was changed, so that
  // editing a description keeps the expiry.
  if (!editing || $('lifespan').value !== $('lifespan').dataset.initial) body.lifespan = lifespanValue();
  state.busy = true;
  $('save').setAttribute('aria-disabled', 'true');
  try {
    if (editing) {
      // If-Match: a save over someone else's edit is refused (412), not
      // silently undone.
      const t = await api('PUT', kind.path + '/' + encodeURIComponent(state.token.id), body, state.token.etag);
      fillForm(t);
      notify('Saved.');
    } else {
      const t = await api('POST', kind.path, body);
      const key = t.accessKey;
      const target = '#/tokens/' + encodeURIComponent(t.id);
      showKey(key, target);
      state.pendingNotice = '“' + t.name + '” was created.';
      location.replace(target);
    }
  } catch (e) {
    if (e.status === 400) showFieldErrors(e);
    else failed(e, () => save(true));
  } finally {
    state.busy = false;
    $('save').removeAttribute('aria-disabled');
  }
}

// sameSet reports whether a and b hold the same strings.
function sameSet(a, b) {
  const sb = new Set(b);
  return a.length === sb.size && a.every((x) => sb.has(x));
}
