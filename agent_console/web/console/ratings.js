// Satisfaction: the question as it shows in a transcript (and the customer's answer when there
// is one), and each agent's average in the team list.

import { api } from './api.js';
import { el } from './dom.js';
import { state } from './state.js';

/** Under the question's system line: "Rated 4 / 5 ★★★★☆", or that it waits for an answer. */
export function renderRatingRequest(payload) {
  const request = payload?.rating_request;
  if (!request || typeof request !== 'object') return null;
  const scale = Number.isInteger(request.scale) ? request.scale : 5;
  if (!Number.isInteger(request.score)) {
    return el('div', { class: 'rating muted', 'data-testid': 'rating-pending' }, 'Satisfaction question sent — no answer yet');
  }
  return el('div', { class: 'rating', 'data-testid': 'rating-score', 'data-score': request.score },
    `Customer rated ${request.score} / ${scale} `,
    el('span', { class: 'stars', 'aria-hidden': 'true' }, '★'.repeat(request.score) + '☆'.repeat(Math.max(0, scale - request.score))));
}

export async function loadSatisfaction() {
  try {
    const { agents } = await api('GET', '/api/ratings');
    state.satisfaction = new Map((agents || []).filter((a) => a.agent).map((a) => [a.agent.id, a]));
  } catch { /* the team list shows no averages */ }
}

/** "★ 4.5 (12)" for an agent with answers; null otherwise. */
export function satisfactionOf(agentId) {
  const found = state.satisfaction?.get(agentId);
  if (!found || !found.ratings) return null;
  return el('span', { class: 'muted agent-rating', 'data-testid': 'agent-rating',
    title: `Average satisfaction from ${found.ratings} rating${found.ratings === 1 ? '' : 's'}` },
  `★ ${Number(found.average).toFixed(1)} (${found.ratings})`);
}

/** A rated question arrived (live): refresh the averages. */
export function noteRatedMessage(message) {
  if (Number.isInteger(message?.payload?.rating_request?.score)) loadSatisfaction().then(() => state.onSatisfaction?.());
}
