// The create and edit form: details, duration with the expiry it will give,
// type, and the custom permissions grouped by API and controller.
import { $, alertError, api, can, notify, showKey, state } from './ui.js';
import { DAY, dateTimeFmt, durationLabel } from './format.js';
import { confirmDelete } from './list.js';

// setupForm wires the edit view's delete button.
export function setupForm() {
  $('delete').addEventListener('click', () => {
    const t = state.token;
    confirmDelete(t, () => {
      state.pendingNotice = '“' + t.name + '” was deleted.';
      location.hash = '#/';
    });
  });
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

// renderPermissions builds the checkboxes: one group per API or plugin,
// one fieldset per controller with its own "select all".
function renderPermissions() {
  const box = $('permissions');
  box.replaceChildren();
  const apis = Object.keys(state.groups).sort();
  if (apis.length === 0) {
    const p = document.createElement('p');
    p.className = 'hint';
    p.textContent = 'No route declares an action yet, so there is nothing to grant to a custom token.';
    box.append(p);
    return;
  }
  for (const api of apis) {
    const details = document.createElement('details');
    details.className = 'perm-group';
    details.open = true;
    const summary = document.createElement('summary');
    summary.textContent = api.replace(/^(api|plugin)::/, '');
    const kind = document.createElement('span');
    kind.className = 'perm-kind';
    kind.textContent = api.startsWith('plugin::') ? 'plugin' : 'API';
    summary.append(' ', kind);
    details.append(summary);
    const controllers = state.groups[api].controllers || {};
    for (const ctrl of Object.keys(controllers).sort()) {
      const fs = document.createElement('fieldset');
      fs.className = 'perm-controller';
      // Controllers of different APIs may share a name ("content-api"):
      // the group's accessible name says which API it belongs to.
      fs.setAttribute('aria-label', summary.firstChild.textContent + ' › ' + ctrl);
      const legend = document.createElement('legend');
      legend.textContent = ctrl;
      fs.append(legend);
      const all = checkbox('Select all', 'select-all');
      all.input.setAttribute('aria-label', 'Select all ' + ctrl + ' actions of ' + api);
      fs.append(all.label);
      const list = document.createElement('div');
      list.className = 'perm-actions';
      for (const action of controllers[ctrl]) {
        const cb = checkbox(action, 'perm');
        cb.input.value = api + '.' + ctrl + '.' + action;
        cb.input.dataset.action = action;
        list.append(cb.label);
      }
      fs.append(list);
      all.input.addEventListener('change', () => {
        for (const i of list.querySelectorAll('input')) i.checked = all.input.checked;
        permissionTicked();
      });
      list.addEventListener('change', () => {
        permissionTicked();
      });
      details.append(fs);
    }
    box.append(details);
  }
}

function checkbox(text, cls) {
  const label = document.createElement('label');
  label.className = 'check ' + cls;
  const input = document.createElement('input');
  input.type = 'checkbox';
  label.append(input, ' ', text);
  return { label, input };
}

const permInputs = () => Array.from(document.querySelectorAll('#permissions .perm input'));

function syncSelectAll() {
  for (const fs of document.querySelectorAll('#permissions fieldset')) {
    const boxes = Array.from(fs.querySelectorAll('.perm input'));
    const checked = boxes.filter((b) => b.checked).length;
    const all = fs.querySelector('.select-all input');
    all.checked = checked === boxes.length && boxes.length > 0;
    all.indeterminate = checked > 0 && checked < boxes.length;
  }
}

// permissionTicked: choosing actions by hand makes the token custom.
function permissionTicked() {
  if ($('type').value !== 'custom') {
    $('type').value = 'custom';
    notify('Token type set to Custom.');
  }
  syncSelectAll();
}

// showTypeImplies ticks what a read-only or full-access token may call, so
// that the checkboxes always show what the token can do.
export function showTypeImplies() {
  const type = $('type').value;
  for (const i of permInputs()) {
    if (type === 'full-access') i.checked = true;
    if (type === 'read-only') i.checked = i.dataset.action === 'find' || i.dataset.action === 'findOne';
  }
  syncSelectAll();
}

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
    const input = $(field);
    if (input) input.setAttribute('aria-invalid', 'true');
    first = first || input || slot;
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
  const readOnly = editing && !can('update');
  $('form-title').textContent = editing ? t.name : 'Create API Token';
  $('name').value = editing ? t.name : '';
  $('description').value = editing ? t.description : '';
  $('type').value = editing ? t.type : 'read-only';
  durationOptions(editing ? t.lifespan : undefined);
  const def = state.durations.includes(30 * DAY) ? 30 * DAY : state.durations[0];
  $('lifespan').value = lifespanOption(editing ? t.lifespan : def);
  $('lifespan').dataset.initial = $('lifespan').value;
  $('lifespan-note').hidden = !editing;
  renderPermissions();
  if (editing && t.type === 'custom') {
    const granted = new Set(t.permissions || []);
    for (const i of permInputs()) i.checked = granted.has(i.value);
    syncSelectAll();
  } else {
    showTypeImplies();
  }
  $('form-fields').disabled = readOnly;
  $('save').hidden = readOnly;
  $('regenerate').hidden = !editing || !can('regenerate');
  $('delete').hidden = !editing || !can('delete');
  $('reveal').hidden = !editing || !state.canReveal || !can('read');
  clearFieldErrors();
  $('form-error').hidden = true;
  updateExpiryPreview();
}

export async function showForm(id) {
  $('form-view').hidden = false;
  if (id === null) {
    if (!can('create')) {
      $('form-view').hidden = true;
      alertError('You are not allowed to create API tokens.');
      return;
    }
    fillForm(null);
    $('name').focus();
    return;
  }
  let t;
  try {
    t = await api('GET', 'api-tokens/' + encodeURIComponent(id));
  } catch (e) {
    $('form-view').hidden = true;
    alertError(e.status === 404 ? 'This API token does not exist (any more).' : e.message);
    return;
  }
  fillForm(t);
}

export async function save(ev) {
  ev.preventDefault();
  clearFieldErrors();
  $('form-error').hidden = true;
  alertError('');
  const body = {
    name: $('name').value,
    description: $('description').value,
    type: $('type').value,
  };
  if (body.type === 'custom') body.permissions = permInputs().filter((i) => i.checked).map((i) => i.value);
  const editing = state.token !== null;
  // An edit sends the lifespan only when the duration was changed, so that
  // editing a description keeps the expiry.
  if (!editing || $('lifespan').value !== $('lifespan').dataset.initial) body.lifespan = lifespanValue();
  $('save').disabled = true;
  try {
    if (editing) {
      // If-Match: a save over someone else's edit is refused (412), not
      // silently undone.
      const t = await api('PUT', 'api-tokens/' + encodeURIComponent(state.token.id), body, state.token.etag);
      fillForm(t);
      notify('Saved.');
    } else {
      const t = await api('POST', 'api-tokens', body);
      const key = t.accessKey;
      const target = '#/tokens/' + encodeURIComponent(t.id);
      showKey(key, target);
      state.pendingNotice = '“' + t.name + '” was created.';
      location.replace(target);
    }
  } catch (e) {
    if (e.status === 400) {
      showFieldErrors(e);
    } else {
      alertError(e.message);
    }
  } finally {
    $('save').disabled = false;
  }
}

export function confirmRegenerate() {
  const d = $('regenerate-dialog');
  const t = state.token;
  $('regenerate-text').textContent = '“' + t.name + '” gets a new key, shown once. Applications that use the current key will need the new one.';
  $('overlap-now').checked = true; // the safe choice, every time
  d.onconfirm = async () => {
    const overlap = Number(document.querySelector('#regenerate-overlap input:checked').value);
    let r;
    try {
      r = await api('POST', 'api-tokens/' + encodeURIComponent(t.id) + '/regenerate', overlap > 0 ? { overlap } : undefined);
    } catch (e) {
      alertError(e.message);
      return;
    }
    showKey(r.accessKey);
    notify('A new key was generated for “' + t.name + '”; ' + (overlap > 0
      ? 'the old one keeps working until ' + dateTimeFmt.format(new Date(Date.now() + overlap)) + '.'
      : 'the old one no longer works.'));
  };
  d.showModal();
}

export async function reveal() {
  const t = state.token;
  try {
    const r = await api('GET', 'api-tokens/' + encodeURIComponent(t.id) + '/access-key');
    showKey(r.accessKey);
  } catch (e) {
    alertError(e.message);
  }
}
