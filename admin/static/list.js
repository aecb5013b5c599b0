// The list of tokens: sortable by name, with edit and delete per row and an
// empty state. Names and descriptions are written as text, never markup.
import { $, api, alertError, can, notify, state } from './ui.js';
import { dateFmt, expiryText, relative, timeEl } from './format.js';

export async function showList() {
  $('list-view').hidden = false;
  $('create-link').hidden = !can('create');
  for (const a of document.querySelectorAll('#empty [data-needs="create"]')) a.hidden = !can('create');
  $('no-read').hidden = can('read');
  $('empty').hidden = true;
  $('table-wrap').hidden = true;
  if (!can('read')) return;
  try {
    state.tokens = await api('GET', 'api-tokens');
  } catch (e) {
    alertError(e.message);
    return;
  }
  renderRows();
}

export function renderRows() {
  const rows = $('token-rows');
  rows.replaceChildren();
  const tokens = state.tokens.slice().sort((a, b) => {
    const c = a.name.localeCompare(b.name, undefined, { sensitivity: 'base', numeric: true });
    return state.sortAsc ? c : -c;
  });
  $('empty').hidden = tokens.length > 0;
  $('table-wrap').hidden = tokens.length === 0;
  $('name-header').setAttribute('aria-sort', state.sortAsc ? 'ascending' : 'descending');
  $('name-header').querySelector('.sort-arrow').textContent = state.sortAsc ? '▲' : '▼';
  for (const t of tokens) rows.append(row(t));
}

function cell(label, ...content) {
  const td = document.createElement('td');
  td.dataset.label = label;
  td.append(...content);
  return td;
}

function row(t) {
  const tr = document.createElement('tr');
  tr.dataset.id = t.id;

  const name = document.createElement('th');
  name.scope = 'row';
  name.className = 'token-name';
  name.textContent = t.name;
  tr.append(name);

  const desc = cell('Description', t.description);
  desc.className = 'description';
  tr.append(desc);
  tr.append(cell('Created', timeEl(t.createdAt, dateFmt.format(new Date(t.createdAt)))));
  tr.append(cell('Last used', t.lastUsedAt ? timeEl(t.lastUsedAt, relative(t.lastUsedAt)) : 'never'));
  const exp = cell('Expires', t.expiresAt ? timeEl(t.expiresAt, expiryText(t.expiresAt)) : 'never');
  if (t.expiresAt && new Date(t.expiresAt).getTime() <= Date.now()) exp.classList.add('expired');
  tr.append(exp);

  const actions = document.createElement('div');
  actions.className = 'row-actions';
  const edit = document.createElement('a');
  edit.className = 'button small';
  edit.href = '#/tokens/' + encodeURIComponent(t.id);
  edit.textContent = can('update') ? 'Edit' : 'View';
  edit.setAttribute('aria-label', (can('update') ? 'Edit ' : 'View ') + t.name);
  actions.append(edit);
  if (can('delete')) {
    const del = document.createElement('button');
    del.type = 'button';
    del.className = 'button small danger-outline';
    del.textContent = 'Delete';
    del.setAttribute('aria-label', 'Delete ' + t.name);
    del.addEventListener('click', () => confirmDelete(t, () => deletedFromList(t)));
    actions.append(del);
  }
  tr.append(cell('Actions', actions));
  return tr;
}

// confirmDelete asks before deleting t, then runs after. The list and the
// edit view both offer it.
export function confirmDelete(t, after) {
  const d = $('delete-dialog');
  $('delete-text').textContent = '“' + t.name + '” will be deleted, and applications that use its key will be refused.';
  d.onconfirm = async () => {
    try {
      await api('DELETE', 'api-tokens/' + encodeURIComponent(t.id));
    } catch (e) {
      alertError(e.message);
      return;
    }
    await after();
  };
  d.showModal();
}

async function deletedFromList(t) {
  await showList();
  notify('“' + t.name + '” was deleted.');
  $('main').focus(); // its row, and the button that had the focus, are gone
}
