// The customer's wait as agents see it: an e-mail address the customer left for an answer
// (when nobody was in, or the wait grew long), and the place in the queue they were told.

import { el } from './dom.js';
import { formatDate } from './format.js';

/** "✉ ada@example.com left a message" with a mailto link, or null. */
export function renderLeftMessage(conv) {
  if (!conv?.contact_email) return null;
  const email = String(conv.contact_email);
  const link = el('a', { href: `mailto:${encodeURIComponent(email).replace(/%40/g, '@')}`, 'data-testid': 'contact-email' }, email);
  return el('span', {
    class: 'meta-item left-message', 'data-testid': 'left-message',
    title: conv.left_message_at ? `Left ${formatDate(conv.left_message_at)}` : null,
  }, '✉ ', link, ' left a message — answer by e-mail if they are gone');
}

/** A small badge for the queue list. */
export function leftMessageBadge(conv) {
  if (!conv?.contact_email) return null;
  return el('span', { class: 'badge badge-left-message', 'data-testid': 'left-message-badge',
    title: `Left a message: ${conv.contact_email}` }, '✉ message');
}

/** "told #2": the place the customer was last told (they hear when it gets worse). */
export function renderStatedPosition(conv) {
  if (conv?.status !== 'queued' || !conv.stated_position) return null;
  return el('span', { class: 'meta-item', 'data-testid': 'stated-position',
    title: 'The place in the queue the customer was last told' }, `told #${conv.stated_position}`);
}
