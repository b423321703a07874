// The trainer's review inbox: customer messages to label, with what the bot predicted.

import { api } from './api.js';
import { $, OPENS_CONVERSATION, el, setChildren, setHidden, showText } from './dom.js';
import { renderLabelControl, renderNluChips } from './labels.js';
import { state } from './state.js';

export async function loadReview() {
  showText($('review-error'), '');
  try {
    const { items } = await api('GET', '/api/review');
    renderReview(Array.isArray(items) ? items : []);
  } catch (error) {
    showText($('review-error'), error.message);
  }
}

function renderReview(items) {
  setChildren($('review-list'), ...items.map(renderReviewItem));
  setHidden($('review-empty'), items.length > 0);
}

function renderReviewItem(item) {
  const message = { ...(item.message || {}), label: item.label ?? item.message?.label ?? null };
  // The server sends `predicted` as the intent name plus a sibling `confidence`; objects are accepted too.
  const predicted = item.predicted;
  const nlu = {
    ...(message.nlu || {}),
    intent: typeof predicted === 'string' ? predicted : (predicted?.intent ?? predicted?.name ?? message.nlu?.intent),
    confidence: item.confidence ?? predicted?.confidence ?? message.nlu?.confidence,
  };
  if (typeof message.id === 'number') state.messages.set(message.id, { ...state.messages.get(message.id), ...message });
  return el('li', { class: 'review-item', 'data-testid': 'review-item', 'data-message-id': message.id ?? '' },
    el('div', { class: 'review-text' }, message.text ?? ''),
    renderNluChips(nlu),
    renderLabelControl(message),
    item.conversation_id != null ? el('button', {
      type: 'button', class: 'btn btn-small btn-link', [OPENS_CONVERSATION]: item.conversation_id,
    }, `Open conversation #${item.conversation_id}`) : null);
}
