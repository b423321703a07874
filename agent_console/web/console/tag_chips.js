// Conversation tags as shown: chips on the open conversation (× removes) with a field to add
// one, and small chips in the queue list. Drawing only: the header and the queue draw tags, and
// the store redraws both, so this module imports nothing that leads back to the store. What a
// click or Enter does is tags.js's, through listeners that main.js binds.

import { el } from './dom.js';
import { canActOnConversations, state } from './state.js';

/** The open conversation's tags, editable by agents. */
export function renderTags(conv) {
  const act = canActOnConversations();
  const chips = (conv.tags || []).map((tag) => el('span', { class: 'tag', 'data-testid': 'tag', 'data-tag': tag },
    `#${tag}`,
    act ? el('button', { type: 'button', class: 'tag-remove', 'aria-label': `Remove tag ${tag}`, 'data-testid': 'tag-remove' },
      '×') : null));
  const input = act ? el('input', { class: 'tag-input', 'data-testid': 'tag-input', list: 'known-tags',
    placeholder: '+ tag', 'aria-label': 'Add a tag', maxlength: 40 }) : null;
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
