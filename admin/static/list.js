// The list of tokens, a page at a time from the server: searched, filtered
// and sorted there, with edit, regenerate and delete per row and an empty
// state. Names and descriptions are written as text, never markup. Admin
// tokens show their owner and permissions instead of a type, and only their
// owner's rows offer Regenerate.
import { $, api, can, failed, mine, notify, ownerName, state } from './ui.js';
import { DAY, dateFmt, relative, timeEl } from './format.js';
import { confirmRegenerate } from './keys.js';
import { kind } from './kind.js';
import { summary } from './adminperms.js';

export const typeLabels = { 'read-only': 'Read-only', 'full-access': 'Full access', custom: 'Custom' };

// The columns that sort, with the direction a first click gives.
const sorts = { name: 'asc', createdAt: 'desc', lastUsedAt: 'desc', expiresAt: 'asc' };

// setupList wires the toolbar, the sort buttons and the pager.
export function setupList() {
  let timer;
  $('search').addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => reload(1), 250);
  });
  $('filter-type').addEventListener('change', () => reload(1));
  $('filter-status').addEventListener('change', () => reload(1));
  $('filter-idle').addEventListener('change', () => reload(1));
  $('page-size').addEventListener('change', () => reload(1));
  $('page-prev').addEventListener('click', () => reload(state.list.page - 1));
  $('page-next').addEventListener('click', () => reload(state.list.page + 1));
  for (const b of document.querySelectorAll('#tokens button.sort')) {
    b.addEventListener('click', () => {
      const field = b.dataset.sort;
      const l = state.list;
      l.dir = l.sort === field ? (l.dir === 'asc' ? 'desc' : 'asc') : sorts[field];
      l.sort = field;
      reload(1, b);
    });
  }
}

async function reload(page, focus) {
  state.list.page = Math.max(1, page);
  await showList();
  if (focus && focus.isConnected) focus.focus();
}

function query() {
  const l = state.list;
  const p = new URLSearchParams({ page: l.page, pageSize: $('page-size').value, sort: l.sort + ':' + l.dir });
  const q = $('search').value.trim();
  if (q) p.set('q', q);
  if ($('filter-type').value) p.set('type', $('filter-type').value);
  if ($('filter-status').value) p.set('status', $('filter-status').value);
  if ($('filter-idle').value) p.set('idle', $('filter-idle').value);
  return p;
}

const filtered = () => $('search').value.trim() !== '' || ['filter-type', 'filter-status', 'filter-idle'].some((id) => $(id).value !== '');

// latest numbers the list's requests, so that an answer overtaken by a
// later request (quick clicks on Next, a filter changed twice) is dropped
// rather than drawn over the newer one.
let latest = 0;

export async function showList() {
  $('list-view').hidden = false;
  $('create-link').hidden = !can('create');
  for (const a of document.querySelectorAll('#empty [data-needs="create"]')) a.hidden = !can('create');
  $('no-read').hidden = can('read');
  if (!can('read')) {
    $('empty').hidden = true;
    $('list-body').hidden = true;
    return;
  }
  let tokens;
  const seq = ++latest;
  try {
    tokens = await api('GET', kind.path + '?' + query());
  } catch (e) {
    if (seq === latest) failed(e, showList);
    return;
  }
  if (seq !== latest) return;
  const p = (tokens.meta && tokens.meta.pagination) || { page: 1, pageCount: 1, total: tokens.length, pageSize: tokens.length };
  if (p.page > 1 && tokens.length === 0 && p.total > 0) { // the last page emptied: go back one
    state.list.page = p.pageCount;
    return showList();
  }
  state.tokens = tokens;
  const none = p.total === 0 && !filtered();
  $('empty').hidden = !none;
  $('list-body').hidden = none;
  $('no-match').hidden = p.total > 0 || none;
  $('table-wrap').hidden = p.total === 0;
  renderRows();
  const first = (p.page - 1) * p.pageSize + 1;
  $('list-count').textContent = p.total === 0 ? 'No token matches.'
    : first + '–' + (first + tokens.length - 1) + ' of ' + p.total.toLocaleString('en') + ' token' + (p.total === 1 ? '' : 's');
  $('pager').hidden = p.pageCount <= 1;
  $('page-status').textContent = 'Page ' + p.page + ' of ' + p.pageCount;
  $('page-prev').disabled = p.page <= 1;
  $('page-next').disabled = p.page >= p.pageCount;
}

export function renderRows() {
  const rows = $('token-rows');
  rows.replaceChildren();
  for (const th of document.querySelectorAll('#tokens thead th[data-sort]')) {
    const on = th.dataset.sort === state.list.sort;
    if (on) th.setAttribute('aria-sort', state.list.dir === 'asc' ? 'ascending' : 'descending');
    else th.removeAttribute('aria-sort');
    th.querySelector('.sort-arrow').textContent = on ? (state.list.dir === 'asc' ? '▲' : '▼') : '';
  }
  $('tokens-caption').textContent = kind.many + ', sorted by ' + document.querySelector('#tokens thead th[data-sort="' + state.list.sort + '"] .sort-label').textContent.toLowerCase() +
    (state.list.dir === 'asc' ? ', ascending' : ', descending');
  for (const t of state.tokens) rows.append(row(t));
}

function cell(label, ...content) {
  const td = document.createElement('td');
  td.dataset.label = label;
  td.append(...content);
  return td;
}

// clipped is text cut to the space it has, shown whole on hover (its
// title) and when its row has the focus (the style sheet).
function clipped(text, cls) {
  const s = document.createElement('span');
  s.className = cls;
  s.textContent = text;
  if (text) s.title = text;
  return s;
}

function badge(text, cls) {
  const b = document.createElement('span');
  b.className = 'badge ' + cls;
  b.textContent = text;
  return b;
}

// expiryCell says when t expires: an Expired badge once it has, a warning
// within a week of it.
export function expiryContent(t) {
  if (!t.expiresAt) return ['never'];
  const at = new Date(t.expiresAt).getTime();
  const left = at - Date.now();
  const date = timeEl(t.expiresAt, dateFmt.format(new Date(at)));
  if (left <= 0) return [badge('Expired', 'danger'), ' ', date];
  if (left <= 7 * DAY) {
    const days = Math.ceil(left / DAY);
    return [badge(days <= 1 ? 'expires within a day' : 'expires in ' + days + ' days', 'warn'), ' ', date];
  }
  return [date];
}

function row(t) {
  const tr = document.createElement('tr');
  tr.dataset.id = t.id;

  const name = document.createElement('th');
  name.scope = 'row';
  name.className = 'token-name';
  name.append(clipped(t.name, 'truncate'));
  if (t.disabled) name.append(badge('Disabled', 'muted'));
  tr.append(name);

  tr.append(cell('Description', clipped(t.description, 'clamp')));
  if (kind.admin) {
    tr.append(cell('Owner', clipped(ownerName(t.owner || ''), 'truncate')));
    const perms = cell('Permissions', clipped(summary(t.permissions), 'clamp'));
    perms.dataset.count = (t.permissions || []).length;
    tr.append(perms);
  } else {
    tr.append(cell('Type', typeLabels[t.type] || t.type));
  }
  const hint = document.createElement('code');
  hint.className = 'key-hint';
  hint.textContent = t.keyHint || '—';
  if (!t.keyHint) hint.title = 'Made before key hints were kept';
  tr.append(cell('Key', hint));
  tr.append(cell('Created', timeEl(t.createdAt, dateFmt.format(new Date(t.createdAt)))));
  tr.append(cell('Last used', t.lastUsedAt ? timeEl(t.lastUsedAt, relative(t.lastUsedAt)) : 'never'));
  const exp = cell('Expires', ...expiryContent(t));
  exp.className = 'expires';
  tr.append(exp);
  tr.append(cell('Actions', actions(t)));
  return tr;
}

function actions(t) {
  const box = document.createElement('div');
  box.className = 'row-actions';
  const edit = document.createElement('a');
  edit.className = 'button small';
  edit.href = '#/tokens/' + encodeURIComponent(t.id);
  const editable = can('update') && mine(t);
  edit.textContent = editable ? 'Edit' : 'View';
  edit.setAttribute('aria-label', (editable ? 'Edit ' : 'View ') + t.name);
  box.append(edit);
  if (can('regenerate') && mine(t)) {
    const regen = document.createElement('button');
    regen.type = 'button';
    regen.className = 'button small regenerate';
    regen.textContent = 'Regenerate';
    regen.setAttribute('aria-label', 'Regenerate ' + t.name);
    regen.addEventListener('click', () => confirmRegenerate(t, () => showList()));
    box.append(regen);
  }
  if (can('delete')) {
    const del = document.createElement('button');
    del.type = 'button';
    del.className = 'button small danger-outline delete';
    del.textContent = 'Delete';
    del.setAttribute('aria-label', 'Delete ' + t.name);
    del.addEventListener('click', () => confirmDelete(t, () => deletedFromList(t)));
    box.append(del);
  }
  return box;
}

// confirmDelete asks before deleting t, then runs after. The list and the
// edit view both offer it.
export function confirmDelete(t, after) {
  const d = $('delete-dialog');
  $('delete-text').textContent = '“' + t.name + '” will be deleted, and applications that use its key will be refused.';
  d.onconfirm = () => remove(t, after);
  d.showModal();
}

async function remove(t, after) {
  try {
    await api('DELETE', kind.path + '/' + encodeURIComponent(t.id));
  } catch (e) {
    failed(e, () => remove(t, after));
    return;
  }
  await after();
}

async function deletedFromList(t) {
  await showList();
  notify('“' + t.name + '” was deleted.');
  $('list-title').focus(); // its row, and the button that had the focus, are gone
}
