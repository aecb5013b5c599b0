// The Settings > API Tokens screen. It talks only to the admin API next to
// it, through relative URLs, and writes every name and description with
// textContent, never as markup. A key is kept on screen only: reloading or
// navigating away loses it for good.
import { $, alertError, api, clearMessages, copyKey, hideKey, notify, state, wireDialog } from './ui.js';
import { renderRows, showList } from './list.js';
import { confirmRegenerate, reveal, save, setupForm, showForm, showTypeImplies, updateExpiryPreview } from './form.js';

async function route() {
  if (state.keyHash !== null && location.hash !== state.keyHash) hideKey();
  $('list-view').hidden = true;
  $('form-view').hidden = true;
  const hash = location.hash || '#/';
  let m;
  if (hash === '#/new') {
    await showForm(null);
  } else if ((m = /^#\/tokens\/([^/]+)$/.exec(hash))) {
    await showForm(decodeURIComponent(m[1]));
  } else {
    state.token = null;
    await showList();
  }
  if (state.pendingNotice) {
    notify(state.pendingNotice);
    state.pendingNotice = null;
  }
  document.body.dataset.ready = hash;
}

async function start() {
  wireDialog('delete');
  wireDialog('regenerate');
  setupForm();
  $('copy-key').addEventListener('click', copyKey);
  $('sort-name').addEventListener('click', () => {
    state.sortAsc = !state.sortAsc;
    renderRows();
  });
  $('token-form').addEventListener('submit', save);
  $('type').addEventListener('change', showTypeImplies);
  $('lifespan').addEventListener('change', updateExpiryPreview);
  $('regenerate').addEventListener('click', confirmRegenerate);
  $('reveal').addEventListener('click', reveal);
  window.addEventListener('hashchange', () => {
    clearMessages();
    route();
  });
  // A key must not survive in the back-forward cache either.
  window.addEventListener('pagehide', hideKey);

  try {
    const [me, groups] = await Promise.all([api('GET', 'me'), api('GET', 'content-api/permissions')]);
    state.perms = new Set(me.permissions);
    state.durations = me.durations;
    state.canReveal = me.canReveal;
    state.groups = groups || {};
  } catch (e) {
    alertError(e.message);
    document.body.dataset.ready = 'error';
    return;
  }
  await route();
}

start();
