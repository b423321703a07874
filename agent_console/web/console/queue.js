// The inbox list: tabs, order, counts, unread badges, and the page title's count.

import { renderAgents } from './agents.js';
import { handoffReasonLabel } from './config.js';
import { $, OPENS_CONVERSATION, badge, el, renderWaitingTime, setChildren, setHidden } from './dom.js';
import { agentName, customerName, parseTime } from './format.js';
import { isMine, state } from './state.js';
import { updateTabBadge } from './tab_badge.js';
import { tagChips } from './tag_chips.js';
import { leftMessageBadge } from './waiting.js';

function waitStart(conv) {
  return parseTime(conv.queued_at) ?? parseTime(conv.created_at) ?? Number.MAX_SAFE_INTEGER;
}

/** Highest priority first, then whoever has waited longest. */
function compareQueueOrder(a, b) {
  return (b.priority || 0) - (a.priority || 0) || waitStart(a) - waitStart(b) || a.id - b.id;
}

export function conversationsForTab(tab) {
  const open = [...state.conversations.values()].filter((c) => c.status !== 'resolved');
  const filters = {
    queued: (c) => c.status === 'queued',
    mine: (c) => c.status === 'assigned' && c.assignee?.id === state.me?.id,
    bot: (c) => c.status === 'bot',
    all: () => true,
  };
  return open.filter(filters[tab]).sort(compareQueueOrder);
}

/** Many events can arrive at once (snapshot, sync): coalesce them into one redraw. */
export function scheduleQueueRender() {
  if (state.queueRenderQueued) return;
  state.queueRenderQueued = true;
  setTimeout(() => {
    state.queueRenderQueued = false;
    renderQueue();
  }, 30);
}

function renderQueue() {
  const list = $('queue-list');
  const focusedId = document.activeElement?.closest?.('[data-testid="queue-item"]')?.dataset.conversationId;
  const items = conversationsForTab(state.tab);
  setChildren(list, ...items.map((conv) => el('li', {}, renderQueueItem(conv))));
  setHidden($('queue-empty'), items.length > 0);
  for (const tab of ['queued', 'mine', 'bot', 'all']) {
    document.querySelector(`[data-testid="count-${tab}"]`).textContent = String(conversationsForTab(tab).length);
  }
  if (focusedId) list.querySelector(`[data-conversation-id="${CSS.escape(focusedId)}"]`)?.focus();
  renderAgents(); // agent load figures depend on assignments
  updateTitle();
}

function renderQueueItem(conv) {
  const unread = state.unread.get(conv.id) || 0;
  const isOpen = state.current?.id === conv.id;
  const priority = conv.priority || 0;
  const last = conv.last_message;
  const previewPrefix = { bot: 'Bot: ', agent: 'Agent: ', system: '' }[last?.sender] ?? '';
  return el('button', {
    type: 'button',
    class: `queue-item${isOpen ? ' is-open' : ''}${unread ? ' has-unread' : ''}`,
    'data-testid': 'queue-item',
    'data-conversation-id': conv.id,
    'data-status': conv.status,
    'aria-current': isOpen ? 'true' : null,
    [OPENS_CONVERSATION]: conv.id,
  },
  el('span', { class: 'qi-row' },
    priority > 0 ? el('span', {
      class: `priority priority-${Math.min(priority, 3)}`, 'data-testid': 'priority',
      title: `Priority ${priority}`, 'aria-label': `Priority ${priority}`,
    }, '!'.repeat(Math.min(priority, 3))) : null,
    el('span', { class: 'qi-number', 'data-testid': 'conversation-number' }, `#${conv.id}`),
    el('span', { class: 'qi-name' }, customerName(conv)),
    badge(conv.channel || '?', `channel-${conv.channel}`, 'channel-badge'),
    leftMessageBadge(conv),
    unread ? el('span', { class: 'unread', 'data-testid': 'unread', 'aria-label': `${unread} unread` }, String(unread)) : null),
  el('span', { class: 'qi-row qi-sub' },
    conv.handoff_reason
      ? el('span', { class: 'qi-reason', 'data-testid': 'handoff-reason' }, handoffReasonLabel(conv.handoff_reason))
      : el('span', { class: 'qi-reason muted' }, conv.status === 'bot' ? 'With the bot' : conv.status),
    tagChips(conv),
    conv.status === 'queued' && conv.queued_at ? renderWaitingTime(conv.queued_at) : null),
  conv.assignee && conv.status === 'assigned' && state.tab !== 'mine'
    ? el('span', { class: 'qi-assignee' }, `→ ${agentName(conv.assignee)}`) : null,
  el('span', { class: 'qi-preview', 'data-testid': 'last-message' }, last ? `${previewPrefix}${last.text ?? ''}` : ''));
}

export function setTab(tab) {
  state.tab = tab;
  for (const button of document.querySelectorAll('.queue-tab')) {
    button.setAttribute('aria-selected', String(button.dataset.tab === tab));
  }
  renderQueue();
}

/** j / k: the id of the neighbour of the open conversation in the visible list (null: empty list). */
export function neighbourInList(step) {
  const items = conversationsForTab(state.tab);
  if (!items.length) return null;
  const index = items.findIndex((c) => c.id === state.current?.id);
  const next = index < 0 ? (step > 0 ? 0 : items.length - 1)
    : Math.min(items.length - 1, Math.max(0, index + step));
  return items[next].id;
}

export function scrollQueueItemIntoView(id) {
  $('queue-list').querySelector(`[data-conversation-id="${id}"]`)?.scrollIntoView({ block: 'nearest' });
}

/** The title counts what needs *me*: queued conversations and mine (not colleagues' chats). */
export function updateTitle() {
  const needsMe = (id) => {
    const conv = state.conversations.get(id);
    return !conv || conv.status === 'queued' || isMine(conv);
  };
  const total = [...state.unread].reduce((sum, [id, n]) => sum + (needsMe(id) ? n : 0), 0);
  const queued = [...state.conversations.values()].filter((c) => c.status === 'queued').length;
  updateTabBadge(total, queued);
}
