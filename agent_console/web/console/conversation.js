// Opening a conversation (socket first, HTTP as the fallback) and the actions on it:
// claim, hand back, resolve, transfer.

import { api } from './api.js';
import { switchComposerDraft } from './composer.js';
import { renderConversationChrome, transferWarning } from './conversation_header.js';
import { renderCustomerPanel } from './customer_panel.js';
import { rememberOpenConversation } from './links.js';
import { openResolveDialog } from './resolve.js';
import { $, setHidden, showText } from './dom.js';
import { scheduleQueueRender } from './queue.js';
import { ackErrorText, callServer, emitAck } from './socket.js';
import { canActOnConversations, state } from './state.js';
import { storeMessages, upsertConversation } from './store.js';
import { renderTranscript, showCustomerTyping } from './transcript.js';
import { setView } from './views.js';

export async function openConversation(id) {
  if (state.view !== 'inbox') setView('inbox');
  if (state.current?.id !== id) switchComposerDraft(id);
  const seq = ++state.openSeq;
  rememberOpenConversation(id);
  state.current = state.conversations.get(id) || { id };
  state.currentContext = null;
  state.unread.delete(id);
  showCustomerTyping(false);
  showText($('action-error'), '');
  setHidden($('conversation-empty'), true);
  setHidden($('conversation'), false);
  renderConversationChrome();
  renderTranscript();
  renderCustomerPanel();
  scheduleQueueRender();

  const answer = await loadConversation(id);
  if (seq !== state.openSeq) return; // the agent already moved on
  if (!answer.ok) {
    showText($('action-error'), `Could not open the conversation: ${ackErrorText(answer)}`);
    return;
  }
  applyOpenedConversation(answer);
}

/** Socket `open` first; HTTP when the socket is down or refuses (e.g. trainers without context rights). */
async function loadConversation(id) {
  const answer = await emitAck('open', { conversation_id: id });
  if (answer.ok) return answer;
  try {
    const data = await api('GET', `/api/conversations/${encodeURIComponent(id)}`);
    return { ok: true, ...data, context: null };
  } catch (error) {
    return answer.error === 'disconnected' ? { ok: false, message: error.message, status: error.status } : answer;
  }
}

function applyOpenedConversation({ conversation, messages, context }) {
  storeMessages(messages);
  if (conversation) {
    if (conversation.status !== 'resolved') state.conversations.set(conversation.id, { ...state.conversations.get(conversation.id), ...conversation });
    state.current = { ...state.current, ...conversation };
  }
  renderConversationChrome();
  renderTranscript();
  if (context) {
    state.currentContext = context;
    renderCustomerPanel();
  } else {
    loadContextOverHttp(state.current.id, state.openSeq);
  }
  scheduleQueueRender();
}

async function loadContextOverHttp(id, seq) {
  if (!canActOnConversations()) return; // context is agent/admin only
  try {
    const context = await api('GET', `/api/conversations/${encodeURIComponent(id)}/context`);
    if (seq !== state.openSeq) return;
    state.currentContext = context;
    renderCustomerPanel();
  } catch { /* the panel keeps the basics from the summary */ }
}

/** After a reconnect: refresh status and context of what is on screen; messages merge by id. */
export async function refreshOpenConversation() {
  const id = state.current.id;
  const seq = state.openSeq;
  const answer = await loadConversation(id);
  if (seq === state.openSeq && answer.ok) applyOpenedConversation(answer);
}

async function runConversationAction(event, extra = {}) {
  const conv = state.current;
  if (!conv || !canActOnConversations()) return null;
  showText($('action-error'), '');
  const answer = await callServer(event, { conversation_id: conv.id, ...extra });
  if (!answer.ok) {
    showText($('action-error'), ackErrorText(answer));
    return null;
  }
  if (answer.conversation) upsertConversation(answer.conversation); // also refreshes the open view
  return answer;
}

export async function claimCurrent() {
  if ($('claim').hidden) return;
  const answer = await runConversationAction('claim');
  if (answer) $('composer').focus();
}

/** Step into a conversation the bot is handling: it becomes mine, the bot goes silent. */
export async function takeOverCurrent() {
  if ($('take-over').hidden) return;
  const answer = await runConversationAction('take_over');
  if (answer) $('composer').focus();
}

export function handBackCurrent() {
  if (!$('hand-back').hidden) runConversationAction('hand_back');
}

/** Resolve asks first: an optional closing message and the satisfaction question (resolve.js). */
export function resolveCurrent() {
  if (!$('resolve').hidden) openResolveDialog();
}

export async function transferCurrent() {
  const select = $('transfer');
  const agentId = Number(select.value);
  if (!agentId) return;
  const warning = transferWarning(state.agents.find((a) => a.id === agentId));
  if (warning && !window.confirm(`${warning}\n\nTransfer anyway?`)) {
    select.value = '';
    return;
  }
  select.disabled = true;
  await runConversationAction('transfer', { agent_id: agentId });
  select.disabled = false;
  select.value = '';
}
