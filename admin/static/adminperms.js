// The permissions of an admin token: admin permission strings such as
// "admin::api-tokens.read", one fieldset per resource (API tokens, admin
// tokens, …) with the actions in Strapi's order and human labels.
//
// The boxes are the permissions the administrator may grant (/me
// adminPermissions). A permission the token holds beyond them (another
// administrator's token, say) stays on screen, ticked and disabled, and a
// save keeps it: nobody grants or takes away what they may not do
// themselves, and nothing is dropped unseen.
import { $, state } from './ui.js';
import { checkbox, syncSelectAll } from './perms.js';

const groupNames = { 'admin::api-tokens': 'API tokens', 'admin::admin-tokens': 'Admin tokens' };
const actionOrder = ['access', 'read', 'create', 'update', 'regenerate', 'delete'];

// parse splits a permission into its resource and action:
// "admin::api-tokens.read" is api-tokens' read.
function parse(p) {
  const dot = p.lastIndexOf('.');
  return dot > 0 ? { group: p.slice(0, dot), action: p.slice(dot + 1) } : { group: p, action: p };
}

const words = (s) => s.replace(/^[a-z]+::/, '').replace(/[-_.]+/g, ' ').trim();
const capital = (s) => s.charAt(0).toUpperCase() + s.slice(1);
const groupLabel = (g) => groupNames[g] || capital(words(g));
const rank = (a) => (actionOrder.includes(a) ? actionOrder.indexOf(a) : actionOrder.length);

// grouped returns perms by resource: resources in the order first met,
// actions in Strapi's order (others after them, as they came).
function grouped(perms) {
  const groups = new Map();
  for (const p of new Set(perms)) {
    const { group, action } = parse(p);
    if (!groups.has(group)) groups.set(group, []);
    groups.get(group).push({ perm: p, action });
  }
  for (const list of groups.values()) list.sort((x, y) => rank(x.action) - rank(y.action));
  return groups;
}

// summary says in a line which permissions a token holds, for the list:
// "API tokens: read, create; Admin tokens: read".
export function summary(perms) {
  if (!perms || perms.length === 0) return 'none';
  return Array.from(grouped(perms), ([g, list]) => groupLabel(g) + ': ' + list.map((x) => words(x.action)).join(', ')).join('; ');
}

// renderAdminPermissions draws the boxes of a token that holds held
// (nothing, for a new one) and ticks those.
export function renderAdminPermissions(held) {
  const box = $('permissions');
  box.replaceChildren();
  const grantable = new Set(state.grantable);
  const kept = held.filter((p) => !grantable.has(p));
  $('permissions-kept').hidden = kept.length === 0;
  const all = [...state.grantable, ...kept];
  if (all.length === 0) {
    const p = document.createElement('p');
    p.className = 'hint';
    p.textContent = 'You hold no admin permission that you could grant, so there is nothing to tick.';
    box.append(p);
    return;
  }
  const wrap = document.createElement('div');
  wrap.className = 'perm-group perm-admin';
  const ticked = new Set(held);
  for (const [g, list] of grouped(all)) wrap.append(resource(g, list, grantable, ticked));
  box.append(wrap);
  syncSelectAll();
}

function resource(group, list, grantable, ticked) {
  const label = groupLabel(group);
  const fs = document.createElement('fieldset');
  fs.className = 'perm-controller';
  const legend = document.createElement('legend');
  legend.textContent = label;
  fs.append(legend);
  const all = checkbox('Select all', 'select-all');
  all.input.setAttribute('aria-label', 'Select all ' + label + ' permissions');
  fs.append(all.label);
  const actions = document.createElement('div');
  actions.className = 'perm-actions';
  for (const { perm, action } of list) {
    const cb = checkbox(capital(words(action)), 'perm');
    cb.input.value = perm;
    cb.input.checked = ticked.has(perm);
    cb.label.title = perm;
    if (!grantable.has(perm)) {
      // Held, but not the viewer's to grant: shown as it is, and kept.
      cb.input.disabled = true;
      cb.input.setAttribute('aria-describedby', 'permissions-kept');
      cb.label.classList.add('kept');
      const note = document.createElement('span');
      note.className = 'perm-note';
      note.textContent = 'not yours to grant';
      cb.label.append(' ', note);
    }
    actions.append(cb.label);
  }
  fs.append(actions);
  all.input.addEventListener('change', () => {
    for (const i of actions.querySelectorAll('input:not(:disabled)')) i.checked = all.input.checked;
    syncSelectAll();
  });
  actions.addEventListener('change', syncSelectAll);
  return fs;
}
