// The open conversation's header: who, status, badges, and what this agent may do with it
// now (buttons, transfer list, whether the composer shows and what its hint says).

import { handoffReasonLabel } from './config.js';
import { conversationLink } from './links.js';
import { $, badge, el, renderWaitingTime, setChildren, setHidden, showText } from './dom.js';
import { agentName, customerName } from './format.js';
import { canActOnConversations, isAdmin, isMine, state } from './state.js';
import { currentTagsFocused, renderTags, restoreTagInput } from './tag_chips.js';
import { renderLeftMessage, renderStatedPosition } from './waiting.js';

export function renderConversationChrome() {
  const conv = state.current;
  if (!conv) return;
  const typing = currentTagsFocused();   // a tag being typed survives a live update of the summary
  $('conv-customer').textContent = conv.customer ? customerName(conv) : `Conversation #${conv.id}`;
  setChildren($('conv-meta'),
    el('a', { class: 'meta-item conv-number', 'data-testid': 'conv-number', href: conversationLink(conv.id),
      title: 'A link to this conversation' }, `#${conv.id}`),
    badge(conv.status || '…', `status-${conv.status}`, 'conv-status'),
    conv.channel ? badge(conv.channel, `channel-${conv.channel}`, 'conv-channel') : null,
    conv.assignee ? el('span', { class: 'meta-item', 'data-testid': 'conv-assignee' }, `Assigned to ${agentName(conv.assignee)}`) : null,
    conv.handoff_reason ? el('span', { class: 'meta-item' }, handoffReasonLabel(conv.handoff_reason)) : null,
    conv.status === 'queued' && conv.queued_at ? renderWaitingTime(conv.queued_at) : null,
    renderStatedPosition(conv),
    renderLeftMessage(conv),
    renderTags(conv),
  );
  if (typing) restoreTagInput(typing);
  renderActions(conv);
}

function renderActions(conv) {
  const act = canActOnConversations();
  const open = conv.status && conv.status !== 'resolved';
  // Someone else's conversation offers nothing but notes (admins may still act on any).
  const owns = conv.status !== 'assigned' || isMine(conv) || isAdmin();
  setHidden($('claim'), !(act && conv.status === 'queued'));
  setHidden($('take-over'), !(act && conv.status === 'bot'));
  setHidden($('hand-back'), !(act && conv.status === 'assigned' && owns));
  setHidden($('resolve'), !(act && open && owns));
  setHidden($('transfer').parentElement, !(act && owns && (conv.status === 'queued' || conv.status === 'assigned')));
  setHidden($('composer-box'), !(act && open));
  renderTransferOptions();
  updateComposerHint();
}

export function updateComposerHint() {
  const conv = state.current;
  let hint = '';
  if (!canActOnConversations()) hint = 'Read-only: trainers can label messages but not reply.';
  else if (conv && !isMine(conv) && !state.noteMode) {
    hint = conv.status === 'queued'
      ? 'Claim this conversation (c) to reply. Internal notes are always possible.'
      : 'Only the assigned agent can reply. Internal notes are always possible.';
  }
  showText($('composer-hint'), hint);
}

export function renderTransferOptions() {
  const select = $('transfer');
  if (document.activeElement === select) return; // don't reset a choice being made
  const candidates = state.agents.filter((a) =>
    a.id !== state.me?.id && a.id !== state.current?.assignee?.id && a.active !== false
    && (a.role === 'agent' || a.role === 'admin'));
  setChildren(select,
    el('option', { value: '' }, 'Transfer to…'),
    ...candidates.map((a) => el('option', { value: a.id }, `${agentName(a)} · ${a.presence || 'offline'}${
      atCapacity(a) ? ' · full' : ''}`)),
  );
  select.value = '';
}

export function atCapacity(agent) {
  return Boolean(agent?.capacity) && (agent.active_conversations ?? 0) >= agent.capacity;
}

/** Why a transfer to this agent may leave the customer waiting (offline, away, full), or ''. */
export function transferWarning(agent) {
  if (!agent) return '';
  const name = agentName(agent);
  const reasons = [];
  if ((agent.presence || 'offline') !== 'online') reasons.push(`${name} is ${agent.presence || 'offline'}`);
  if (atCapacity(agent)) reasons.push(`${name} is at capacity (${agent.active_conversations}/${agent.capacity})`);
  return reasons.length ? `${reasons.join(' and ')}. The customer is told about the transfer only when ${name} opens it.` : '';
}
