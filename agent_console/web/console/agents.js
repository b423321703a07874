// The team list and my own presence (online / away).

import { api } from './api.js';
import { renderTransferOptions } from './conversation_header.js';
import { $, cssToken, el, setChildren, showGlobalError } from './dom.js';
import { agentName } from './format.js';
import { ackErrorText, emitAck } from './socket.js';
import { state } from './state.js';
import { satisfactionOf } from './ratings.js';

export async function loadAgents() {
  try {
    const { agents } = await api('GET', '/api/agents');
    applyAgents(agents);
  } catch { /* the presence event will fill the list */ }
}

export function applyAgents(agents) {
  if (!Array.isArray(agents)) return;
  state.agents = agents;
  const me = agents.find((a) => a.id === state.me?.id);
  if (me && (me.presence === 'online' || me.presence === 'away')) {
    state.myPresence = me.presence;
    $('presence-select').value = me.presence;
  }
  $('my-presence-dot').className = `dot dot-${cssToken(state.myPresence)}`;
  renderAgents();
  if (state.current) renderTransferOptions();
}

export function renderAgents() {
  const load = new Map();
  for (const conv of state.conversations.values()) {
    if (conv.status === 'assigned' && conv.assignee) load.set(conv.assignee.id, (load.get(conv.assignee.id) || 0) + 1);
  }
  const people = state.agents.filter((a) => a.active !== false && a.role !== 'trainer');
  setChildren($('agent-list'), ...people.map((a) => el('li', { class: 'agent', 'data-testid': 'agent', 'data-agent-id': a.id },
    el('span', { class: `dot dot-${cssToken(a.presence || 'offline')}`, role: 'img', 'aria-label': a.presence || 'offline' }),
    el('span', { class: 'agent-name' }, `${agentName(a)}${a.id === state.me?.id ? ' (you)' : ''}`),
    satisfactionOf(a.id),
    el('span', { class: 'muted agent-load', title: 'Assigned conversations / capacity' },
      `${a.active_conversations ?? load.get(a.id) ?? 0}${a.capacity ? `/${a.capacity}` : ''}`))));
}

export async function changePresence() {
  const select = $('presence-select');
  const previous = state.myPresence;
  state.myPresence = select.value;
  $('my-presence-dot').className = `dot dot-${cssToken(state.myPresence)}`;
  const answer = await emitAck('presence', { status: select.value });
  if (!answer.ok) {
    state.myPresence = previous;
    select.value = previous;
    $('my-presence-dot').className = `dot dot-${cssToken(previous)}`;
    showGlobalError(`Could not change your status: ${ackErrorText(answer)}`);
  }
}
