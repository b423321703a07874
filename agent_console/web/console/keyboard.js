// Keyboard shortcuts (j k c b r n / ? Esc) and the help overlay that lists them. On the review
// screen the keys are the review inbox's own (review.js).

import { closeCanned, setNoteMode } from './composer.js';
import { claimCurrent, handBackCurrent, openConversation, resolveCurrent } from './conversation.js';
import { $, isEditableTarget, setHidden } from './dom.js';
import { neighbourInList, scrollQueueItemIntoView } from './queue.js';
import { onReviewKeydown } from './review.js';
import { state } from './state.js';

export function openHelp() {
  state.helpReturnFocus = document.activeElement;
  setHidden($('help-overlay'), false);
  $('help-overlay').querySelector('.dialog').focus();
}

export function closeHelp() {
  if ($('help-overlay').hidden) return;
  setHidden($('help-overlay'), true);
  state.helpReturnFocus?.focus?.();
}

/** j / k: walk the visible list and open the neighbour. */
function moveSelection(step) {
  const id = neighbourInList(step);
  if (id === null) return;
  openConversation(id);
  requestAnimationFrame(() => scrollQueueItemIntoView(id));
}

export function onGlobalKeydown(event) {
  // A workbench dialog (confirmation, intent picker) handles its own keys.
  if (document.querySelector('.overlay:not(#help-overlay):not([hidden])')) return;
  if (event.key === 'Escape') {
    const helpWasOpen = !$('help-overlay').hidden;
    closeHelp();
    closeCanned();
    if (!helpWasOpen && state.view === 'review' && !isEditableTarget(event.target)) onReviewKeydown(event);
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey || !state.me) return;
  if (isEditableTarget(event.target)) return;
  if (event.key === '?') {
    event.preventDefault();
    if ($('help-overlay').hidden) openHelp(); else closeHelp();
    return;
  }
  if (!$('help-overlay').hidden) return;
  if (state.view === 'review') {
    onReviewKeydown(event);
    return;
  }
  if (state.view !== 'inbox') return;
  const actions = {
    j: () => moveSelection(1),
    k: () => moveSelection(-1),
    c: claimCurrent,
    b: handBackCurrent,
    r: resolveCurrent,
    n: () => {
      if (!state.current || $('composer-box').hidden) return;
      setNoteMode(!state.noteMode);
      $('composer').focus();
    },
    '/': () => { if (state.current && !$('composer-box').hidden) $('composer').focus(); },
  };
  const action = actions[event.key];
  if (action) {
    event.preventDefault(); // e.g. "/" must not be typed into the composer it focuses
    action();
  }
}
