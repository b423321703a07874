// The open conversation's messages, in id order, and the customer's typing indicator.

import { api } from './api.js';
import { handoffReasonLabel } from './config.js';
import { $, el, safeHttpUrl, setChildren, setHidden } from './dom.js';
import { agentName, customerName, formatClock, formatDate } from './format.js';
import { renderLabelControl, renderNluChips } from './labels.js';
import { messagesOf, state } from './state.js';
import { renderRatingRequest } from './ratings.js';

const CUSTOMER_TYPING_MAX_MS = 8000; // hide the indicator if the "stop" event got lost

export function renderTranscript() {
  const conv = state.current;
  const transcript = $('transcript');
  if (!conv) {
    setChildren(transcript);
    return;
  }
  const messages = messagesOf(conv.id);
  const pending = state.pending.filter((p) => p.conversationId === conv.id);
  setChildren(transcript, ...messages.map(renderMessage), ...pending.map(renderPendingMessage));
  scrollTranscriptToBottom();
}

/** Keep id order even when `sync` delivers older messages; pending replies stay last. */
export function insertMessageNode(message) {
  const transcript = $('transcript');
  const nearBottom = isTranscriptNearBottom();
  const before = [...transcript.children].find((node) =>
    node.dataset.pending === 'true' || Number(node.dataset.messageId) > message.id);
  transcript.insertBefore(renderMessage(message), before || null);
  if (nearBottom || message.agent?.id === state.me?.id) scrollTranscriptToBottom();
}

export function replaceMessageNode(message) {
  const node = $('transcript').querySelector(`[data-message-id="${CSS.escape(String(message.id))}"]`);
  if (node) node.replaceWith(renderMessage(message));
  else if (!state.pending.some((p) => p.echo === message.id)) insertMessageNode(message); // echoes wait for their ack
}

function isTranscriptNearBottom() {
  const t = $('transcript');
  return t.scrollHeight - t.scrollTop - t.clientHeight < 80;
}

export function scrollTranscriptToBottom() {
  const t = $('transcript');
  t.scrollTop = t.scrollHeight;
}

function authorOf(message) {
  switch (message.sender) {
    case 'customer': return customerName(state.current);
    case 'bot': return 'Bot';
    case 'agent': return agentName(message.agent);
    case 'note': return `${agentName(message.agent)} · note`;
    default: return 'System';
  }
}

/** A customer's tap on a button reads as its title ("Track my order"), not the payload ("/order_status"). */
function tappedTitle(message) {
  const title = message.sender === 'customer' ? message.payload?.display_text : null;
  return typeof title === 'string' && title ? title : null;
}

function isHandoffTrigger(message) {
  return Boolean(message.is_handoff_trigger)
    || (state.current?.handoff_message_id != null && message.id === state.current.handoff_message_id);
}

function renderMessage(message) {
  const sender = ['customer', 'bot', 'agent', 'system', 'note'].includes(message.sender) ? message.sender : 'system';
  const trigger = isHandoffTrigger(message);
  return el('li', {
    class: `msg msg-${sender}${trigger ? ' msg-handoff' : ''}`,
    'data-testid': 'message',
    'data-message-id': message.id,
    'data-sender': message.sender,
  },
  el('div', { class: 'msg-head' },
    el('span', { class: 'msg-author' }, authorOf(message)),
    el('time', { class: 'msg-time', datetime: message.created_at || null, title: formatDate(message.created_at) },
      formatClock(message.created_at))),
  sender === 'note' ? el('div', { class: 'note-flag' }, "Internal note – customer can't see") : null,
  el('div', { class: 'msg-text' }, tappedTitle(message) ?? message.text ?? ''),
  tappedTitle(message) ? el('span', { class: 'chip chip-button', 'data-testid': 'tapped-payload',
    title: 'The customer tapped a button; this is what the bot received' }, `tapped: ${message.text ?? ''}`) : null,
  message.sender === 'customer' ? null : renderPayload(message.payload),
  renderDelivery(message),
  sender === 'customer' ? renderNluChips(message.nlu) : null,
  sender === 'customer' ? renderLabelControl(message) : null,
  trigger ? renderHandoffFlag() : null);
}

/** Whether a message reached the customer's channel; a failed one can be sent again. */
function renderDelivery(message) {
  const delivery = message.delivery;
  if (!delivery || !delivery.status) return null;
  if (delivery.status === 'sent') {
    // What the provider reported after accepting it (Twilio, Messenger), where it reports anything.
    const reported = delivery.provider_status || '';
    const label = { read: 'Read', delivered: 'Delivered', sent: 'Sent', accepted: 'Sent' }[reported] || 'Delivered';
    return el('div', { class: 'delivery delivery-sent', 'data-testid': 'delivery', 'data-status': 'sent',
      'data-provider-status': reported }, label);
  }
  if (delivery.status !== 'failed') {
    const retrying = delivery.attempts > 0 && delivery.error;
    return el('div', { class: 'delivery delivery-pending', 'data-testid': 'delivery', 'data-status': 'pending' },
      retrying ? `Sending… (retrying: ${delivery.error})` : 'Sending…');
  }
  const error = el('span', { class: 'delivery-error' });
  const retry = el('button', { class: 'btn btn-small', type: 'button', 'data-testid': 'retry-delivery' }, 'Retry');
  retry.addEventListener('click', async () => {
    retry.disabled = true;
    try {
      await api('POST', `/api/messages/${encodeURIComponent(message.id)}/retry_delivery`);
      error.textContent = '';
    } catch (failure) {
      error.textContent = ` ${failure.message}`;
      retry.disabled = false;
    }
  });
  return el('div', { class: 'delivery delivery-failed', 'data-testid': 'delivery', 'data-status': 'failed', role: 'alert' },
    `Not delivered: ${delivery.error || 'unknown error'} `, retry, error);
}

function renderHandoffFlag() {
  const conv = state.current;
  return el('div', { class: 'handoff-flag', 'data-testid': 'handoff-trigger', role: 'note' },
    el('strong', {}, `Handed off here: ${handoffReasonLabel(conv?.handoff_reason) || 'handoff'}`),
    conv?.handoff_detail ? el('span', { class: 'handoff-detail' }, ` — ${conv.handoff_detail}`) : null);
}

/** Rich bot output, shown for context only: buttons are chips, not clickable. */
function renderPayload(payload) {
  if (!payload || typeof payload !== 'object') return null;
  const parts = [];
  if (Array.isArray(payload.buttons) && payload.buttons.length) {
    parts.push(el('div', { class: 'bot-buttons', 'aria-label': 'Buttons offered to the customer' },
      ...payload.buttons.map((b) => el('span', { class: 'chip chip-button', 'data-testid': 'bot-button', title: b.payload || '' },
        b.title ?? b.payload ?? ''))));
  }
  if (payload.image) {
    const src = safeHttpUrl(payload.image);
    parts.push(src
      ? el('img', { class: 'msg-image', src, alt: 'Image sent in the conversation', loading: 'lazy' })
      : el('div', { class: 'muted' }, '[image]'));
  }
  if (payload.custom !== undefined && payload.custom !== null) {
    parts.push(el('pre', { class: 'msg-custom' }, JSON.stringify(payload.custom, null, 1)));
  }
  const rating = renderRatingRequest(payload);
  if (rating) parts.push(rating);
  return parts.length ? el('div', { class: 'msg-payload' }, ...parts) : null;
}

export function renderPendingMessage(pending) {
  const sender = pending.kind === 'note' ? 'note' : 'agent';
  return el('li', {
    class: `msg msg-${sender} msg-pending`,
    'data-testid': 'message-pending',
    'data-pending': 'true',
    'data-pending-id': pending.tempId,
    'data-sender': sender,
    'aria-busy': 'true',
  },
  el('div', { class: 'msg-head' },
    el('span', { class: 'msg-author' }, agentName(state.me)),
    el('span', { class: 'msg-time' }, 'sending…')),
  sender === 'note' ? el('div', { class: 'note-flag' }, "Internal note – customer can't see") : null,
  el('div', { class: 'msg-text' }, pending.text));
}

/** The label selects need the list of intents the model knows. */
export async function loadIntents() {
  try {
    const { intents } = await api('GET', '/api/intents');
    state.intents = Array.isArray(intents) ? intents : [];
    if (state.current) renderTranscript();
  } catch { /* labels still work for intents already saved */ }
}

export function onTypingEvent(data) {
  if (data?.who !== 'customer' || data.conversation_id !== state.current?.id) return;
  showCustomerTyping(Boolean(data.typing));
}

export function showCustomerTyping(on) {
  clearTimeout(state.customerTypingTimer);
  setHidden($('customer-typing'), !on);
  if (on) state.customerTypingTimer = setTimeout(() => showCustomerTyping(false), CUSTOMER_TYPING_MAX_MS);
}
