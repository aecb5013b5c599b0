// Dates, times and durations as the screen shows them.

export const DAY = 86400000;
export const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
export const dateTimeFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });
const relFmt = new Intl.RelativeTimeFormat('en', { numeric: 'always' });

export function durationLabel(ms) {
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

export function relative(iso) {
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

// timeEl returns a <time> element showing text, with the exact moment
// for machines and as a tooltip.
export function timeEl(iso, text) {
  const t = document.createElement('time');
  t.dateTime = iso;
  t.title = dateTimeFmt.format(new Date(iso));
  t.textContent = text;
  return t;
}

export function expiryText(expiresAt) {
  if (!expiresAt) return 'never';
  const d = new Date(expiresAt);
  return (d.getTime() <= Date.now() ? 'Expired ' : '') + dateFmt.format(d);
}
