// The open conversation's header: who, status, badges, and what this agent may do with it
// now (buttons, transfer list, whether the composer shows and what its hint says).

import { handoffReasonLabel } from './config.js';
import { $, badge, el, renderWaitingTime, setChildren, setHidden, showText } from './dom.js';
import { agentName, customerName } from './format.js';
import { canActOnConversations, isMine, state } from './state.js';

export function renderConversationChrome() {
  const conv = state.current;
  if (!conv) return;
  $('conv-customer').textContent = conv.customer ? customerName(conv) : `Conversation #${conv.id}`;
  setChildren($('conv-meta'),
    el('span', { class: 'meta-item', 'data-testid': 'conv-number' }, `#${conv.id}`),
    badge(conv.status || '…', `status-${conv.status}`, 'conv-status'),
    conv.channel ? badge(conv.channel, `channel-${conv.channel}`, 'conv-channel') : null,
    conv.assignee ? el('span', { class: 'meta-item', 'data-testid': 'conv-assignee' }, `Assigned to ${agentName(conv.assignee)}`) : null,
    conv.handoff_reason ? el('span', { class: 'meta-item' }, handoffReasonLabel(conv.handoff_reason)) : null,
    conv.status === 'queued' && conv.queued_at ? renderWaitingTime(conv.queued_at) : null,
  );
  renderActions(conv);
}

function renderActions(conv) {
  const act = canActOnConversations();
  const open = conv.status && conv.status !== 'resolved';
  setHidden($('claim'), !(act && conv.status === 'queued'));
  setHidden($('hand-back'), !(act && conv.status === 'assigned'));
  setHidden($('resolve'), !(act && open));
  setHidden($('transfer').parentElement, !(act && (conv.status === 'queued' || conv.status === 'assigned')));
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
    ...candidates.map((a) => el('option', { value: a.id }, `${agentName(a)} · ${a.presence || 'offline'}`)),
  );
  select.value = '';
}
