// The permissions of a custom token: one group per API or plugin, one
// fieldset per controller with its own "select all", and the token type
// they follow.
import { $, notify, state } from './ui.js';

// renderPermissions builds the checkboxes.
export function renderPermissions() {
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
      details.append(controller(api, summary.firstChild.textContent, ctrl, controllers[ctrl]));
    }
    box.append(details);
  }
}

function controller(api, apiLabel, ctrl, actions) {
  const fs = document.createElement('fieldset');
  fs.className = 'perm-controller';
  // Controllers of different APIs may share a name ("content-api"): the
  // group's accessible name says which API it belongs to.
  fs.setAttribute('aria-label', apiLabel + ' › ' + ctrl);
  const legend = document.createElement('legend');
  legend.textContent = ctrl;
  fs.append(legend);
  const all = checkbox('Select all', 'select-all');
  all.input.setAttribute('aria-label', 'Select all ' + ctrl + ' actions of ' + api);
  fs.append(all.label);
  const list = document.createElement('div');
  list.className = 'perm-actions';
  for (const action of actions) {
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
  list.addEventListener('change', permissionTicked);
  return fs;
}

export function checkbox(text, cls) {
  const label = document.createElement('label');
  label.className = 'check ' + cls;
  const input = document.createElement('input');
  input.type = 'checkbox';
  label.append(input, ' ', text);
  return { label, input };
}

export const permInputs = () => Array.from(document.querySelectorAll('#permissions .perm input'));
export const ticked = () => permInputs().filter((i) => i.checked).map((i) => i.value);

export function tick(values) {
  const granted = new Set(values);
  for (const i of permInputs()) i.checked = granted.has(i.value);
  syncSelectAll();
}

// syncSelectAll ticks each "select all" whose boxes are all ticked, and
// half-ticks it when some are. It speaks for the boxes it can change: a
// disabled one (an admin token's permission the viewer does not hold) is
// left out.
export function syncSelectAll() {
  for (const fs of document.querySelectorAll('#permissions fieldset')) {
    const boxes = Array.from(fs.querySelectorAll('.perm input')).filter((b) => !b.disabled);
    const checked = boxes.filter((b) => b.checked).length;
    const all = fs.querySelector('.select-all input');
    all.checked = checked === boxes.length && boxes.length > 0;
    all.indeterminate = checked > 0 && checked < boxes.length;
    all.disabled = boxes.length === 0;
  }
}

// permissionTicked: choosing actions by hand makes the token custom, with
// the ticks as they are (read-only's, say, plus the one just ticked), as
// Strapi does.
function permissionTicked() {
  if ($('type').value !== 'custom') {
    $('type').value = 'custom';
    notify('Token type set to Custom.');
    typeWarning();
  }
  syncSelectAll();
}

// typeChanged follows the type select: read-only and full access tick what
// they may call, so that the boxes always show what the token can do;
// choosing Custom starts from no permission at all.
export function typeChanged() {
  const type = $('type').value;
  if (type === 'custom') tick([]);
  else showTypeImplies();
  typeWarning();
}

export function showTypeImplies() {
  const type = $('type').value;
  for (const i of permInputs()) {
    if (type === 'full-access') i.checked = true;
    if (type === 'read-only') i.checked = i.dataset.action === 'find' || i.dataset.action === 'findOne';
  }
  syncSelectAll();
}

// typeWarning says what a full-access key can do.
export function typeWarning() {
  const w = $('type-warning');
  if (w) w.hidden = $('type').value !== 'full-access';
}
