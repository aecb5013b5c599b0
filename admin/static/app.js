// The Settings > API Tokens screen, and Settings > Admin Tokens (see
// kind.js). It talks only to the admin API next to it, through relative
// URLs, and writes every name and description with textContent, never as
// markup. A key is kept on screen only: reloading or navigating away loses
// it for good.
import { $, api, clearMessages, copyKey, failed, hideKey, hideSignIn, notify, state, wireDialog } from './ui.js';
import { kind } from './kind.js';
import { setupList, showList } from './list.js';
import { save, setupForm, showForm, updateExpiryPreview } from './form.js';
import { confirmRegenerate, reveal, showKeyState } from './keys.js';
import { setupPolicy } from './policy.js';

// route shows the view the hash names, scrolled to the top, and moves the
// focus to where the view starts: its heading, the create form's first
// field, or a key just made.
async function route() {
  if (state.keyHash !== null && location.hash !== state.keyHash) hideKey();
  for (const v of ['list-view', 'form-view', 'missing-view']) $(v).hidden = true;
  const hash = location.hash || '#/';
  let m;
  let focus = null;
  if (hash === '#/new') {
    focus = await showForm(null);
  } else if ((m = /^#\/tokens\/([^/]+)$/.exec(hash))) {
    focus = await showForm(decodeURIComponent(m[1]));
  } else {
    state.token = null;
    await showList();
    focus = $('list-title');
  }
  if (state.pendingNotice) {
    notify(state.pendingNotice);
    state.pendingNotice = null;
  }
  window.scrollTo(0, 0);
  if (!$('key-banner').hidden) focus = $('copy-key');
  if (!$('signin').hidden) focus = $('signin');
  if (focus) focus.focus({ preventScroll: true });
  document.body.dataset.ready = hash;
}

// regenerated brings the edit page up to date with the token's new key,
// leaving what was typed in the form alone.
async function regenerated() {
  try {
    const t = await api('GET', kind.path + '/' + encodeURIComponent(state.token.id));
    state.token = t;
    showKeyState(t);
    updateExpiryPreview();
  } catch (e) {
    failed(e, regenerated);
  }
}

async function start() {
  wireDialog('delete');
  wireDialog('regenerate');
  setupForm();
  setupPolicy();
  setupList();
  $('copy-key').addEventListener('click', copyKey);
  $('regenerate').addEventListener('click', () => confirmRegenerate(state.token, regenerated));
  $('expired-regenerate').addEventListener('click', () => confirmRegenerate(state.token, regenerated));
  $('reveal').addEventListener('click', reveal);
  $('signin-retry').addEventListener('click', async () => {
    const retry = state.retry;
    state.retry = null;
    hideSignIn();
    if (retry) await retry();
    else await route();
  });
  const signOut = document.documentElement.dataset.signOut;
  if (signOut) {
    $('sign-out').href = signOut;
    $('sign-out').hidden = false;
  }
  window.addEventListener('hashchange', () => {
    clearMessages();
    route();
  });
  // A key must not survive in the back-forward cache either.
  window.addEventListener('pagehide', hideKey);

  await load();
}

// load reads who the administrator is and which actions exist (the
// content API's, or with admin tokens the admin permissions they may
// grant), then shows the route; after a failure, Try again (or a reload)
// comes back here.
async function load() {
  try {
    const [me, groups] = await Promise.all([api('GET', 'me'), kind.admin ? {} : api('GET', 'content-api/permissions')]);
    state.perms = new Set(me.permissions);
    state.durations = me.durations;
    state.canReveal = me.canReveal;
    state.groups = groups || {};
    state.me = me.id || '';
    state.grantable = me.adminPermissions || [];
    showNav(me.adminTokens === true);
  } catch (e) {
    failed(e, load);
    document.body.dataset.ready = 'error';
    return;
  }
  await route();
}

// showNav offers the way between API tokens and admin tokens, when both
// are served and the administrator may open both pages.
function showNav(adminTokens) {
  const nav = $('kind-nav');
  if (!nav) return; // the server serves no admin tokens
  nav.hidden = !(adminTokens && state.perms.has('admin::api-tokens.access') && state.perms.has('admin::admin-tokens.access'));
}

start();
