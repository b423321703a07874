// The composer: replies and internal notes, drafts per conversation, "sending…" bubbles
// settled by their ack, the length limit the server enforces, canned responses, and the
// "agent is typing" signal to the customer.

import { api } from './api.js';
import { maxAgentMessageChars } from './config.js';
import { updateComposerHint } from './conversation_header.js';
import { $, el, setChildren, setHidden, showGlobalError, showText } from './dom.js';
import { charCount } from './format.js';
import { ackErrorText, callServer, emitAck } from './socket.js';
import { canActOnConversations, isMine, state } from './state.js';
import { ingestOwnMessage } from './store.js';
import { renderPendingMessage, scrollTranscriptToBottom } from './transcript.js';

const TYPING_THROTTLE_MS = 2000; // re-send "typing: true" at most this often
const TYPING_IDLE_MS = 3000;     // send "typing: false" after this much silence

export function switchComposerDraft(nextId) {
  stopAgentTyping();
  closeCanned();
  showText($('composer-error'), '');
  const composer = $('composer');
  if (state.current?.id !== undefined) {
    if (composer.value) state.drafts.set(state.current.id, composer.value);
    else state.drafts.delete(state.current.id);
  }
  composer.value = state.drafts.get(nextId) || '';
}

/** "/note text" always means an internal note, whatever the toggle says. */
function parseComposerText(raw) {
  const match = raw.match(/^\/note(?:\s|$)/i);
  if (match) return { kind: 'note', text: raw.slice(match[0].length).trim() };
  return { kind: state.noteMode ? 'note' : 'reply', text: raw.trim() };
}

/** The server refuses longer texts (bot/takeover.py); saying so before sending keeps the draft intact. */
function tooLongText(text) {
  const limit = maxAgentMessageChars();
  const length = charCount(text);
  return length > limit ? `Too long: ${length} characters, the limit is ${limit}.` : '';
}

export function setNoteMode(on) {
  state.noteMode = on;
  $('note-toggle').setAttribute('aria-pressed', String(on));
  $('composer-box').classList.toggle('note-mode', on);
  $('composer').placeholder = on
    ? "Internal note — the customer can't see this (Enter to save)"
    : 'Reply to the customer… (Enter to send, Shift+Enter for a new line, / for canned responses)';
  $('send').textContent = on ? 'Add note' : 'Send';
  if (on) stopAgentTyping(); // the customer must not see "agent is typing" for a note
  updateComposerHint();
}

export async function sendComposer() {
  const conv = state.current;
  const composer = $('composer');
  const raw = composer.value;
  const { kind, text } = parseComposerText(raw);
  if (!conv || !text || !canActOnConversations()) return;
  const tooLong = tooLongText(text);
  showText($('composer-error'), tooLong);
  if (tooLong) return;
  closeCanned();
  stopAgentTyping();

  const pending = { tempId: `p${++state.pendingSeq}`, conversationId: conv.id, kind, text, echo: null };
  state.pending.push(pending);
  $('transcript').append(renderPendingMessage(pending));
  scrollTranscriptToBottom();
  composer.value = '';
  state.drafts.delete(conv.id);

  const answer = await callServer(kind, { conversation_id: conv.id, text });
  settlePending(pending, answer, raw);
}

/** Turn a "sending…" bubble into the real message, or give the text back with the error. */
function settlePending(pending, answer, raw) {
  state.pending = state.pending.filter((p) => p !== pending);
  document.querySelector(`[data-pending-id="${pending.tempId}"]`)?.remove();
  const confirmed = (answer.ok && answer.message) || (pending.echo !== null && state.messages.get(pending.echo));
  if (confirmed) {
    ingestOwnMessage(confirmed);
    return;
  }
  if (answer.ok) return; // ok without a message: the `message` event will show it
  restoreComposerText(pending.conversationId, raw);
  if (state.current?.id === pending.conversationId) {
    showText($('composer-error'), `Not sent: ${ackErrorText(answer)}`);
  } else {
    showGlobalError(`A message to another conversation was not sent: ${ackErrorText(answer)}`);
  }
}

function restoreComposerText(conversationId, raw) {
  if (state.current?.id === conversationId) {
    const composer = $('composer');
    composer.value = composer.value ? `${raw}\n${composer.value}` : raw;
    composer.focus();
  } else {
    const draft = state.drafts.get(conversationId);
    state.drafts.set(conversationId, draft ? `${raw}\n${draft}` : raw);
  }
}

// ---- typing ------------------------------------------------------------------------------

function noteAgentTyping() {
  const conv = state.current;
  if (!conv || !isMine(conv) || parseComposerText($('composer').value).kind === 'note') {
    stopAgentTyping();
    return;
  }
  const typing = state.typing;
  const now = Date.now();
  if (!typing.active || typing.conversationId !== conv.id || now - typing.sentAt > TYPING_THROTTLE_MS) {
    if (typing.active && typing.conversationId !== conv.id) stopAgentTyping();
    emitAck('typing', { conversation_id: conv.id, typing: true });
    Object.assign(typing, { active: true, conversationId: conv.id, sentAt: now });
  }
  clearTimeout(typing.idleTimer);
  typing.idleTimer = setTimeout(stopAgentTyping, TYPING_IDLE_MS);
}

export function stopAgentTyping() {
  const typing = state.typing;
  clearTimeout(typing.idleTimer);
  if (typing.active) emitAck('typing', { conversation_id: typing.conversationId, typing: false });
  typing.active = false;
}

// ---- canned responses --------------------------------------------------------------------

export async function loadCanned() {
  try {
    const { canned } = await api('GET', '/api/canned');
    state.canned = Array.isArray(canned) ? canned : [];
  } catch { state.canned = []; }
  return state.canned;
}

/** The "/word" the caret is in, if any: that is what the canned popup filters on. */
function cannedQueryAtCaret() {
  const composer = $('composer');
  const before = composer.value.slice(0, composer.selectionStart);
  const match = before.match(/(?:^|\s)\/([\w-]*)$/);
  return match ? { query: match[1].toLowerCase(), start: before.length - match[1].length - 1 } : null;
}

function updateCannedPopup() {
  const found = cannedQueryAtCaret();
  if (!found || !state.canned.length) {
    closeCanned();
    return;
  }
  const q = found.query;
  const byShortcut = state.canned.filter((c) => String(c.shortcut).toLowerCase().includes(q));
  const byText = q.length >= 2
    ? state.canned.filter((c) => !byShortcut.includes(c) && String(c.text).toLowerCase().includes(q)) : [];
  const startsFirst = (a, b) => Number(!String(a.shortcut).toLowerCase().startsWith(q)) - Number(!String(b.shortcut).toLowerCase().startsWith(q));
  state.cannedMatches = [...byShortcut.sort(startsFirst), ...byText].slice(0, 8);
  state.cannedIndex = 0;
  if (!state.cannedMatches.length) closeCanned();
  else renderCannedPopup();
}

function renderCannedPopup() {
  const popup = $('canned-popup');
  setChildren(popup, ...state.cannedMatches.map((c, i) => el('div', {
    id: `canned-option-${i}`,
    class: `canned-option${i === state.cannedIndex ? ' is-active' : ''}`,
    role: 'option',
    'aria-selected': String(i === state.cannedIndex),
    'data-testid': 'canned-option',
    onmousedown: (event) => { event.preventDefault(); insertCanned(c); }, // keep composer focus
  }, el('span', { class: 'canned-shortcut' }, `/${c.shortcut}`), el('span', { class: 'canned-text' }, c.text))));
  setHidden(popup, false);
  $('composer').setAttribute('aria-expanded', 'true');
  $('composer').setAttribute('aria-activedescendant', `canned-option-${state.cannedIndex}`);
  popup.querySelector('.is-active')?.scrollIntoView({ block: 'nearest' });
}

export function closeCanned() {
  state.cannedMatches = [];
  setHidden($('canned-popup'), true);
  $('composer').setAttribute('aria-expanded', 'false');
  $('composer').removeAttribute('aria-activedescendant');
}

function insertCanned(canned) {
  const composer = $('composer');
  const found = cannedQueryAtCaret();
  const caret = composer.selectionStart;
  const start = found ? found.start : caret;
  composer.value = composer.value.slice(0, start) + canned.text + composer.value.slice(caret);
  const position = start + String(canned.text).length;
  composer.setSelectionRange(position, position);
  closeCanned();
  composer.focus();
  noteAgentTyping();
}

// ---- keyboard and input ------------------------------------------------------------------

export function onComposerKeydown(event) {
  const popupOpen = !$('canned-popup').hidden && state.cannedMatches.length > 0;
  if (popupOpen) {
    const count = state.cannedMatches.length;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      state.cannedIndex = (state.cannedIndex + (event.key === 'ArrowDown' ? 1 : -1) + count) % count;
      renderCannedPopup();
      return;
    }
    if ((event.key === 'Enter' && !event.shiftKey) || event.key === 'Tab') {
      event.preventDefault();
      insertCanned(state.cannedMatches[state.cannedIndex]);
      return;
    }
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      closeCanned();
      return;
    }
  }
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    sendComposer();
  } else if (event.key === 'Escape') {
    event.stopPropagation();
    $('composer').blur(); // hand the keyboard back to the shortcuts
  }
}

export function onComposerInput() {
  showText($('composer-error'), tooLongText(parseComposerText($('composer').value).text));
  updateCannedPopup();
  noteAgentTyping();
}
