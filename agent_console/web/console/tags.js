// Conversation tags: chips on the open conversation (× removes), a field to add one, and the
// tags in use as suggestions. Rules (intent → tag) add them too; search filters by them.

import { api } from './api.js';
import { $, el, showText } from './dom.js';
import { ackErrorText, callServer } from './socket.js';
import { canActOnConversations, state } from './state.js';
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

/** The open conversation's tags, editable by agents. */
export function renderTags(conv) {
  const act = canActOnConversations();
  const chips = (conv.tags || []).map((tag) => el('span', { class: 'tag', 'data-testid': 'tag', 'data-tag': tag },
    `#${tag}`,
    act ? el('button', { type: 'button', class: 'tag-remove', 'aria-label': `Remove tag ${tag}`, 'data-testid': 'tag-remove',
      onclick: () => changeTag(conv, tag, true) }, '×') : null));
  const input = act ? el('input', { class: 'tag-input', 'data-testid': 'tag-input', list: 'known-tags',
    placeholder: '+ tag', 'aria-label': 'Add a tag', maxlength: 40 }) : null;
  input?.addEventListener('keydown', async (event) => {
    if (event.key !== 'Enter' || !input.value.trim()) return;
    event.preventDefault();
    event.stopPropagation();
    const tag = input.value.trim();
    input.value = '';   // cleared before the redraw the answer causes
    if (!(await changeTag(conv, tag, false))) input.value = tag;
  });
  return el('span', { class: 'tags', 'data-testid': 'tags' }, ...chips, input);
}

/** Small chips for the queue list. */
export function tagChips(conv) {
  const tags = conv.tags || [];
  return tags.length ? el('span', { class: 'qi-tags', 'data-testid': 'queue-tags' }, tags.map((t) => `#${t}`).join(' ')) : null;
}

/** What is being typed into the tag field, if it has focus (so a redraw can give it back). */
export function currentTagsFocused() {
  const input = document.activeElement;
  return input?.classList?.contains('tag-input') && state.current ? { value: input.value } : null;
}

export function restoreTagInput({ value }) {
  const input = document.querySelector('#conv-meta .tag-input');
  if (!input) return;
  input.value = value;
  input.focus();
}
