// The search screen: conversations by name, e-mail, message text or order number, with filters
// (status, channel, handoff reason, assignee, tag, last activity); resolved ones included.

import { api } from './api.js';
import { handoffReasonCodes, handoffReasonLabel } from './config.js';
import { $, OPENS_CONVERSATION, badge, el, setChildren, setHidden, showText } from './dom.js';
import { agentName, customerName, formatDate } from './format.js';
import { state } from './state.js';

const PAGE = 25;
let offset = 0;
let lastQuery = '';

function fillSelect(select, options) {
  const current = select.value;
  setChildren(select, ...options.map(([value, label]) => el('option', { value }, label)));
  if (options.some(([value]) => value === current)) select.value = current;
}

/** Filters whose options come from the server (reasons, agents, channels). */
function fillFilters(channels) {
  fillSelect($('search-reason'), [['', 'Any reason'], ...handoffReasonCodes().map((r) => [r, handoffReasonLabel(r)])]);
  fillSelect($('search-assignee'), [['', 'Anyone'], ['none', 'Unassigned'],
    ...state.agents.filter((a) => a.role !== 'trainer').map((a) => [String(a.id), agentName(a)])]);
  if (Array.isArray(channels)) fillSelect($('search-channel'), [['', 'Any channel'], ...channels.map((c) => [c, c])]);
}

function queryString() {
  const params = new URLSearchParams();
  const text = $('search-q').value.trim();
  if (text) params.set('q', text);
  for (const [name, id] of [['status', 'search-status'], ['channel', 'search-channel'], ['reason', 'search-reason'],
    ['assignee', 'search-assignee'], ['tag', 'search-tag'], ['from', 'search-from'], ['to', 'search-to']]) {
    const value = $(id).value.trim();
    if (value) params.set(name, value);
  }
  params.set('limit', String(PAGE));
  return params;
}

export async function loadSearch() {
  fillFilters();
  await runSearch();
}

export async function runSearch(event, more = false) {
  event?.preventDefault();
  const params = queryString();
  offset = more ? offset + PAGE : 0;
  params.set('offset', String(offset));
  lastQuery = params.toString();
  showText($('search-error'), '');
  try {
    const answer = await api('GET', `/api/search/conversations?${lastQuery}`);
    if (params.toString() !== lastQuery) return; // a newer search is on its way
    fillFilters(answer.channels);
    const items = (answer.conversations || []).map((conv) => el('li', {}, renderResult(conv)));
    if (more) $('search-results').append(...items);
    else setChildren($('search-results'), ...items);
    setHidden($('search-more'), !answer.more);
    setHidden($('search-empty'), $('search-results').children.length > 0);
  } catch (error) {
    showText($('search-error'), error.message);
  }
}

function renderResult(conv) {
  const last = conv.last_message;
  return el('button', {
    type: 'button', class: 'search-result', 'data-testid': 'search-result', 'data-conversation-id': conv.id,
    'data-status': conv.status, [OPENS_CONVERSATION]: conv.id,
  },
  el('span', { class: 'qi-row' },
    el('span', { class: 'qi-name' }, `#${conv.id} · ${customerName(conv)}`),
    badge(conv.status, `status-${conv.status}`, 'result-status'),
    badge(conv.channel || '?', `channel-${conv.channel}`, 'channel-badge')),
  el('span', { class: 'qi-row qi-sub' },
    conv.handoff_reason ? el('span', { class: 'qi-reason' }, handoffReasonLabel(conv.handoff_reason)) : null,
    conv.assignee ? el('span', { class: 'muted' }, `→ ${agentName(conv.assignee)}`) : null,
    (conv.tags || []).length ? el('span', { class: 'muted' }, (conv.tags || []).map((t) => `#${t}`).join(' ')) : null,
    el('span', { class: 'muted' }, formatDate(conv.updated_at))),
  el('span', { class: 'qi-preview' }, last ? last.text ?? '' : ''));
}

export function bindSearch() {
  $('search-form').addEventListener('submit', (event) => runSearch(event));
  $('search-more').addEventListener('click', () => runSearch(null, true));
  for (const id of ['search-status', 'search-channel', 'search-reason', 'search-assignee', 'search-from', 'search-to']) {
    $(id).addEventListener('change', () => runSearch());
  }
}
