// Conversation tags: what agents do with them (× removes one, Enter in the field adds one) and
// the tags in use as suggestions. Rules (intent → tag) add them too; search filters by them.
// The chips and the field are drawn by tag_chips.js; bindTagEditing() listens on the header
// that holds them, so a redraw never loses a listener.

import { api } from './api.js';
import { $, el, showText } from './dom.js';
import { ackErrorText, callServer } from './socket.js';
import { state } from './state.js';
import { upsertConversation } from './store.js';

export async function loadKnownTags() {
  try {
    const { tags } = await api('GET', '/api/tags');
    const list = $('known-tags');
    if (list) list.replaceChildren(...(tags || []).map((t) => el('option', { value: t.tag })));
  } catch { /* no suggestions */ }
}

async function changeTag(conv, tag, remove) {
  showText($('action-error'), '');
  const answer = await callServer('tag', { conversation_id: conv.id, tag, remove });
  if (!answer.ok) {
    showText($('action-error'), ackErrorText(answer));
    return false;
  }
  if (answer.conversation) upsertConversation(answer.conversation);
  if (!remove) loadKnownTags();
  return true;
}

/** The chips are always the open conversation's: the header is redrawn whenever it changes. */
function onTagRemoveClick(event) {
  const button = event.target instanceof Element ? event.target.closest('.tag-remove') : null;
  if (!button || !state.current) return;
  changeTag(state.current, button.closest('[data-tag]').dataset.tag, true);
}

async function onTagInputKeydown(event) {
  const input = event.target;
  if (!(input instanceof Element) || !input.classList.contains('tag-input') || !state.current) return;
  if (event.key !== 'Enter' || !input.value.trim()) return;
  event.preventDefault();
  event.stopPropagation();
  const tag = input.value.trim();
  input.value = '';   // cleared before the redraw the answer causes
  if (!(await changeTag(state.current, tag, false))) input.value = tag;
}

export function bindTagEditing() {
  $('conv-meta').addEventListener('click', onTagRemoveClick);
  $('conv-meta').addEventListener('keydown', onTagInputKeydown);
}
