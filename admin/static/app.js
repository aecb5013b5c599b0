// The Settings > API Tokens screen. It talks only to the admin API next to
// it, through relative URLs, and writes every name and description with
// textContent, never as markup. A key is kept in one variable while it is on
// screen and nowhere else: reloading or navigating away loses it for good.
'use strict';

(() => {
  const base = document.documentElement.dataset.base || './';
  const $ = (id) => document.getElementById(id);

  const state = {
    perms: new Set(), // admin permissions of the signed-in administrator
    durations: [], // allowed lifespans in ms, null for unlimited
    canReveal: false,
    groups: {}, // content-API actions: {"api::article": {controllers: {article: ["find"]}}}
    tokens: [],
    sortAsc: true,
    token: null, // the token being edited; null when creating
    keyHash: null, // the route the key banner belongs to
    pendingNotice: null, // shown once the next route has rendered
  };

  const can = (p) => state.perms.has('admin::api-tokens.' + p);

  // api calls the admin API and returns its data, or throws an Error with
  // the status and Strapi's field errors.
  async function api(method, path, body) {
    const opts = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' };
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
    return json ? json.data : null;
  }

  function messageFor(status, message) {
    switch (status) {
      case 401: return 'You are not signed in, or your session has ended. Sign in again and reload this page.';
      case 403: return 'You are not allowed to do this.';
      default: return message || 'Something went wrong (' + status + '). Try again.';
    }
  }

  // --- notices ---------------------------------------------------------

  function notify(text) {
    const n = $('notice');
    n.textContent = text;
    n.hidden = !text;
  }

  function alertError(text) {
    const a = $('alert');
    a.textContent = text;
    a.hidden = !text;
  }

  function clearMessages() {
    notify('');
    alertError('');
  }

  // --- the key banner ----------------------------------------------------

  // showKey shows key until the user leaves the route hash.
  function showKey(key, hash) {
    state.keyHash = hash || location.hash || '#/';
    $('key-value').textContent = key;
    $('copy-status').textContent = '';
    $('key-banner').hidden = false;
    $('key-banner').scrollIntoView({ block: 'nearest' });
    $('copy-key').focus();
  }

  function hideKey() {
    state.keyHash = null;
    $('key-value').textContent = '';
    $('copy-status').textContent = '';
    $('key-banner').hidden = true;
  }

  async function copyKey() {
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

  // --- formatting --------------------------------------------------------

  const DAY = 86400000;
  const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
  const dateTimeFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });
  const relFmt = new Intl.RelativeTimeFormat('en', { numeric: 'always' });

  function durationLabel(ms) {
    if (ms === null) return 'Unlimited';
    const units = [[DAY, 'day'], [3600000, 'hour'], [60000, 'minute']];
    for (const [size, name] of units) {
      if (ms % size === 0) {
        const n = ms / size;
        return n + ' ' + name + (n === 1 ? '' : 's');
      }
    }
    return Math.round(ms / 1000) + ' seconds';
  }

  function relative(iso) {
    if (!iso) return 'never';
    const diff = (new Date(iso).getTime() - Date.now()) / 1000;
    const abs = Math.abs(diff);
    if (abs < 45) return 'just now';
    const steps = [[60, 'second'], [3600, 'minute'], [86400, 'hour'], [86400 * 30, 'day'], [86400 * 365, 'month']];
    let unit = 'year';
    let size = 86400 * 365;
    for (let i = 0; i < steps.length; i++) {
      if (abs < steps[i][0]) {
        unit = steps[i][1];
        size = i === 0 ? 1 : steps[i - 1][0];
        break;
      }
    }
    return relFmt.format(Math.round(diff / size), unit);
  }

  // timeCell returns a <time> element showing text, with the exact moment
  // for machines and as a tooltip.
  function timeEl(iso, text) {
    const t = document.createElement('time');
    t.dateTime = iso;
    t.title = dateTimeFmt.format(new Date(iso));
    t.textContent = text;
    return t;
  }

  function expiryText(expiresAt) {
    if (!expiresAt) return 'Unlimited';
    const d = new Date(expiresAt);
    return (d.getTime() <= Date.now() ? 'Expired ' : '') + dateFmt.format(d);
  }

  // --- list view ---------------------------------------------------------

  async function showList() {
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

  function renderRows() {
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
    const exp = cell('Expires', t.expiresAt ? timeEl(t.expiresAt, expiryText(t.expiresAt)) : 'Unlimited');
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
      del.addEventListener('click', () => confirmDelete(t));
      actions.append(del);
    }
    tr.append(cell('Actions', actions));
    return tr;
  }

  function confirmDelete(t) {
    const d = $('delete-dialog');
    $('delete-text').textContent = '“' + t.name + '” will be deleted, and applications that use its key will be refused.';
    d.onconfirm = async () => {
      try {
        await api('DELETE', 'api-tokens/' + encodeURIComponent(t.id));
      } catch (e) {
        alertError(e.message);
        return;
      }
      if (location.hash !== '#/' && location.hash !== '') {
        location.hash = '#/';
      } else {
        route();
      }
      notify('“' + t.name + '” was deleted.');
    };
    d.showModal();
  }

  // --- form view ---------------------------------------------------------

  function durationOptions(current) {
    const select = $('lifespan');
    select.replaceChildren();
    const values = state.durations.slice();
    if (current !== undefined && !values.includes(current)) values.push(current);
    for (const ms of values) {
      const o = document.createElement('option');
      o.value = ms === null ? 'unlimited' : String(ms);
      o.textContent = durationLabel(ms) + (state.durations.includes(ms) ? '' : ' (no longer offered)');
      select.append(o);
    }
  }

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
  function showTypeImplies() {
    const type = $('type').value;
    for (const i of permInputs()) {
      if (type === 'full-access') i.checked = true;
      if (type === 'read-only') i.checked = i.dataset.action === 'find' || i.dataset.action === 'findOne';
    }
    syncSelectAll();
  }

  function updateExpiryPreview() {
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
      preview.textContent = 'Expiration date: never (unlimited)';
    } else {
      preview.textContent = 'Expiration date: ' + dateTimeFmt.format(new Date(expires));
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
    if (editing) {
      $('lifespan').value = t.lifespan === null ? 'unlimited' : String(t.lifespan);
    } else {
      const def = state.durations.includes(30 * DAY) ? 30 * DAY : state.durations[0];
      $('lifespan').value = def === null || def === undefined ? 'unlimited' : String(def);
    }
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
    $('reveal').hidden = !editing || !state.canReveal || !can('read');
    clearFieldErrors();
    $('form-error').hidden = true;
    updateExpiryPreview();
  }

  async function showForm(id) {
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

  async function save(ev) {
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
        const t = await api('PUT', 'api-tokens/' + encodeURIComponent(state.token.id), body);
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

  function confirmRegenerate() {
    const d = $('regenerate-dialog');
    const t = state.token;
    d.onconfirm = async () => {
      let r;
      try {
        r = await api('POST', 'api-tokens/' + encodeURIComponent(t.id) + '/regenerate');
      } catch (e) {
        alertError(e.message);
        return;
      }
      showKey(r.accessKey);
      notify('A new key was generated for “' + t.name + '”; the old one no longer works.');
    };
    d.showModal();
  }

  async function reveal() {
    const t = state.token;
    try {
      const r = await api('GET', 'api-tokens/' + encodeURIComponent(t.id) + '/access-key');
      showKey(r.accessKey);
    } catch (e) {
      alertError(e.message);
    }
  }

  // --- dialogs -----------------------------------------------------------

  // wireDialog makes a confirmation dialog run its onconfirm, which each
  // opening sets afresh, only when its confirm button is pressed. Escape and
  // Cancel close it without running anything.
  function wireDialog(name) {
    const d = $(name + '-dialog');
    $(name + '-cancel').addEventListener('click', () => d.close('cancel'));
    $(name + '-confirm').addEventListener('click', async () => {
      const run = d.onconfirm;
      d.onconfirm = null;
      d.close('confirm');
      if (run) await run();
    });
  }

  // --- routing -----------------------------------------------------------

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
})();
