// The conversation store: every conversation summary and message, from whichever source
// (snapshot, event, sync, ack), goes through here; ids deduplicate, and what is on screen
// is updated to match.

import { renderConversationChrome } from './conversation_header.js';
import { parseTime } from './format.js';
import { scheduleQueueRender, updateTitle } from './queue.js';
import { insertMessageNode, renderTranscript, replaceMessageNode, showCustomerTyping } from './transcript.js';
import { isHumanHandled, state } from './state.js';

export function onQueueSnapshot(data) {
  state.queueSnapshotSeen = true;
  state.conversations.clear(); // the snapshot is the full open list
  for (const conv of data?.conversations || []) upsertConversation(conv);
  scheduleQueueRender();
}

export function upsertConversation(summary) {
  if (!summary || summary.id === undefined || summary.id === null) return;
  const previous = state.conversations.get(summary.id);
  const merged = previous ? { ...previous, ...summary } : summary;
  if (merged.status === 'resolved') state.conversations.delete(merged.id);
  else state.conversations.set(merged.id, merged);
  if (state.current?.id === merged.id) updateCurrentConversation(merged);
  scheduleQueueRender();
}

function updateCurrentConversation(summary) {
  const before = state.current;
  state.current = { ...before, ...summary };
  renderConversationChrome();
  // The handoff highlight depends on the summary: redraw if the trigger changed.
  if (before?.handoff_message_id !== state.current.handoff_message_id) renderTranscript();
}

/** Every message from any source (event, sync, ack) goes through here; ids dedupe. */
export function ingestMessage(message) {
  if (!message || typeof message.id !== 'number') return;
  const known = state.messages.get(message.id);
  state.messages.set(message.id, known ? { ...known, ...message } : message);
  state.maxMessageId = Math.max(state.maxMessageId, message.id);
  if (known) {
    if (message.conversation_id === state.current?.id) replaceMessageNode(state.messages.get(message.id));
    return;
  }
  if (attachEchoToPending(message)) return; // our own reply: stays "sending…" until its ack
  updateLastMessagePreview(message);
  if (message.conversation_id === state.current?.id) {
    insertMessageNode(message);
    if (message.sender === 'customer') showCustomerTyping(false);
  } else if (message.sender === 'customer' && isHumanHandled(state.conversations.get(message.conversation_id))) {
    // Conversations the bot is handling are not counted: that would be noise, not work.
    state.unread.set(message.conversation_id, (state.unread.get(message.conversation_id) || 0) + 1);
    updateTitle();
  }
  scheduleQueueRender();
}

/** Store messages from an `open` answer without counting them as unread. */
export function storeMessages(messages) {
  for (const message of messages || []) {
    if (!message || typeof message.id !== 'number') continue;
    state.messages.set(message.id, { ...state.messages.get(message.id), ...message });
    state.maxMessageId = Math.max(state.maxMessageId, message.id);
  }
}

/** Our own reply or note, confirmed by its ack. */
export function ingestOwnMessage(message) {
  const existed = state.messages.has(message.id);
  state.messages.set(message.id, { ...state.messages.get(message.id), ...message });
  state.maxMessageId = Math.max(state.maxMessageId, message.id);
  updateLastMessagePreview(message);
  if (message.conversation_id === state.current?.id) {
    if (existed) replaceMessageNode(message);
    else insertMessageNode(message);
  }
  scheduleQueueRender();
}

function updateLastMessagePreview(message) {
  if (message.sender === 'note') return; // notes are internal; the preview shows the conversation
  const conv = state.conversations.get(message.conversation_id);
  if (!conv) return;
  const lastAt = parseTime(conv.last_message?.created_at) || 0;
  if ((parseTime(message.created_at) || Date.now()) >= lastAt) {
    conv.last_message = { text: message.text, sender: message.sender, created_at: message.created_at };
  }
}

/** Our own reply can come back as a `message` event before its ack: hold it until the ack. */
function attachEchoToPending(message) {
  if (message.agent?.id !== state.me?.id) return false;
  const wantedSender = (p) => (p.kind === 'note' ? 'note' : 'agent');
  const pending = state.pending.find((p) => p.echo === null && p.conversationId === message.conversation_id
    && wantedSender(p) === message.sender && p.text === message.text);
  if (!pending) return false;
  pending.echo = message.id;
  return true;
}
