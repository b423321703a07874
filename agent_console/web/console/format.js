// Plain text formatting: times, durations, money, names. No DOM, no state.

/** ISO timestamp -> epoch ms. Naive timestamps are taken as UTC; extra fraction digits are trimmed. */
export function parseTime(value) {
  if (!value) return null;
  let text = String(value).replace(/(\.\d{3})\d+/, '$1');
  if (/T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text)) text += 'Z';
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}

export function formatDuration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const pad = (n) => String(n).padStart(2, '0');
  if (hours) return `${hours}h ${pad(minutes)}m`;
  if (minutes) return `${minutes}m ${pad(seconds)}s`;
  return `${seconds}s`;
}

export function formatClock(value) {
  const ms = parseTime(value);
  return ms === null ? '' : new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export function formatDate(value) {
  const ms = parseTime(value);
  return ms === null ? '' : new Date(ms).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}

export function formatMoney(amount, currency) {
  if (amount === null || amount === undefined || amount === '') return '';
  const number = Number(amount);
  if (Number.isNaN(number)) return String(amount);
  try {
    if (currency) return new Intl.NumberFormat([], { style: 'currency', currency }).format(number);
  } catch { /* unknown currency code: fall through to a plain number */ }
  return number.toFixed(2);
}

export function customerName(conv) {
  return conv?.customer?.name || conv?.customer?.email || `Customer #${conv?.customer?.id ?? '?'}`;
}

export function agentName(agent) {
  return agent?.display_name || agent?.name || agent?.username || 'Agent';
}

export function labelText(label) {
  if (!label) return '';
  const by = label.by ? ` (by ${label.by})` : '';
  return label.out_of_scope ? `Label: out of scope${by}` : `Label: ${label.intent}${by}`;
}

/** Characters as the server counts them (Python's len): an emoji is one, not two UTF-16 units. */
export function charCount(text) {
  return [...text].length;
}
