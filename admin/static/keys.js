// A token's key on the edit page: which key it holds, the old key's
// overlap after a graceful regeneration, the expired banner, and the
// actions that make or show a key (regenerate, show key).
import { $, api, failed, mine, notify, showKey, state } from './ui.js';
import { dateTimeFmt, durationLabel } from './format.js';
import { kind } from './kind.js';

// showKeyState shows what the edit page says about t's key (t null: the
// create form, which says nothing).
export function showKeyState(t) {
  const expired = t && t.expiresAt && new Date(t.expiresAt).getTime() <= Date.now();
  $('expired-banner').hidden = !expired;
  if (expired) {
    $('expired-text').textContent = 'This token expired on ' + dateTimeFmt.format(new Date(t.expiresAt)) + ': its key is refused. ' +
      (mine(t) ? 'Regenerate it to get a new key' + (t.lifespan ? ' that expires ' + durationLabel(t.lifespan) + ' from now.' : ' that never expires.')
        : 'Only its owner, ' + t.owner + ', can regenerate it.');
    $('expired-regenerate').hidden = $('regenerate').hidden;
  }
  const until = t && t.previousKeyExpiresAt && new Date(t.previousKeyExpiresAt);
  const overlapping = until && until.getTime() > Date.now();
  $('overlap-note').hidden = !overlapping;
  if (overlapping) {
    $('overlap-note').textContent = 'The old key works until ' + dateTimeFmt.format(until) +
      '. Applications that still use it must switch to the new key before then.';
  }
  $('key-hint-line').hidden = !(t && t.keyHint);
  if (t && t.keyHint) $('key-hint').textContent = t.keyHint;
}

// confirmRegenerate asks before giving t a new key, then shows it; after,
// if given, runs with the token as it now is. An expired token's old key
// is dead already, so there is no overlap to choose.
export function confirmRegenerate(t, after) {
  const d = $('regenerate-dialog');
  const expired = t.expiresAt && new Date(t.expiresAt).getTime() <= Date.now();
  $('regenerate-text').textContent = '“' + t.name + '” gets a new key, shown once. Applications that use the current key will need the new one.';
  $('regenerate-overlap').hidden = expired;
  $('overlap-now').checked = true; // the safe choice, every time
  d.onconfirm = () => regenerate(t, Number(document.querySelector('#regenerate-overlap input:checked').value), after);
  d.showModal();
}

async function regenerate(t, overlap, after) {
  let r;
  try {
    r = await api('POST', kind.path + '/' + encodeURIComponent(t.id) + '/regenerate', overlap > 0 ? { overlap } : undefined);
  } catch (e) {
    failed(e, () => regenerate(t, overlap, after));
    return;
  }
  if (after) await after(r);
  showKey(r.accessKey);
  notify('A new key was generated for “' + t.name + '”; ' + (overlap > 0
    ? 'the old one keeps working until ' + dateTimeFmt.format(new Date(r.previousKeyExpiresAt || Date.now() + overlap)) + '.'
    : 'the old one no longer works.'));
}

// reveal shows the key again from the token read for the edit page, which
// carries it when keys are recoverable (as Strapi 5's does), or else asks
// for it.
export async function reveal() {
  const t = state.token;
  if (t.accessKey) {
    showKey(t.accessKey);
    return;
  }
  try {
    const r = await api('GET', kind.path + '/' + encodeURIComponent(t.id) + '/access-key');
    showKey(r.accessKey);
  } catch (e) {
    failed(e, reveal);
  }
}
