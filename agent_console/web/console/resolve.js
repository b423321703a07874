// Resolving a conversation: an optional last word to the customer, and the one-question
// satisfaction rating (shown in the web widget). The dialog opens from the Resolve button or "r".

import { $, setHidden, showText } from './dom.js';
import { callServer, ackErrorText } from './socket.js';
import { canActOnConversations, state } from './state.js';
import { upsertConversation } from './store.js';

let returnFocus = null;

export function openResolveDialog() {
  const conv = state.current;
  if (!conv || !canActOnConversations() || $('resolve').hidden) return;
  returnFocus = document.activeElement;
  $('resolve-closing').value = '';
  $('resolve-rating').checked = true;
  showText($('resolve-error'), '');
  $('resolve-confirm').disabled = false;
  setHidden($('resolve-overlay'), false);
  $('resolve-closing').focus();
}

export function closeResolveDialog() {
  if ($('resolve-overlay').hidden) return;
  setHidden($('resolve-overlay'), true);
  returnFocus?.focus?.();
}

export async function confirmResolve(event) {
  event?.preventDefault();
  const conv = state.current;
  if (!conv) return;
  const closing = $('resolve-closing').value.trim();
  $('resolve-confirm').disabled = true;
  const answer = await callServer('resolve', {
    conversation_id: conv.id, closing_message: closing || null, ask_rating: $('resolve-rating').checked,
  });
  $('resolve-confirm').disabled = false;
  if (!answer.ok) {
    showText($('resolve-error'), ackErrorText(answer));
    return;
  }
  if (answer.conversation) upsertConversation(answer.conversation);
  closeResolveDialog();
}

export function bindResolveDialog() {
  $('resolve-form').addEventListener('submit', confirmResolve);
  $('resolve-cancel').addEventListener('click', closeResolveDialog);
  $('resolve-overlay').addEventListener('click', (event) => { if (event.target === $('resolve-overlay')) closeResolveDialog(); });
  $('resolve-overlay').addEventListener('keydown', (event) => {
    if (event.key === 'Escape') { event.stopPropagation(); closeResolveDialog(); }
    // Ctrl/Cmd+Enter resolves from the textarea (Enter alone is a new line of the closing message).
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) confirmResolve(event);
  });
}
