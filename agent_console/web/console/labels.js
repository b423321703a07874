// What the bot understood of a customer message (intent, confidence, entities) and the
// label a person gives it. Shown in the transcript and in the trainer's review list.

import { confidenceLevel } from './config.js';
import { el, setHidden, showText } from './dom.js';
import { labelText } from './format.js';
import { ackErrorText, callServer } from './socket.js';
import { state } from './state.js';

const OUT_OF_SCOPE = '__out_of_scope__';

export function renderNluChips(nlu) {
  if (!nlu) return el('div', { class: 'nlu' }, el('span', { class: 'chip chip-muted' }, 'no NLU'));
  const ranking = (nlu.ranking || []).slice(0, 3)
    .map((r) => `${r.name} ${Math.round((r.confidence || 0) * 100)}%`).join(', ');
  const hasConfidence = typeof nlu.confidence === 'number';
  const level = hasConfidence ? confidenceLevel(nlu.confidence) : 'unknown';
  return el('div', { class: 'nlu', 'aria-label': 'Bot understanding' },
    el('span', { class: 'chip chip-intent', 'data-testid': 'intent-chip', title: ranking ? `Top intents: ${ranking}` : 'Predicted intent' },
      nlu.intent ?? 'no intent'),
    hasConfidence ? el('span', {
      class: `chip chip-conf conf-${level}`, 'data-testid': 'confidence-chip', 'data-level': level,
      title: `Confidence ${nlu.confidence.toFixed(2)}`,
    }, `${Math.round(nlu.confidence * 100)}%`) : null,
    ...(nlu.entities || []).map((e) => el('span', { class: 'chip chip-entity', 'data-testid': 'entity-chip' },
      `${e.entity}=${typeof e.value === 'object' ? JSON.stringify(e.value) : e.value}`)));
}

export function renderLabelControl(message) {
  const current = message.label?.out_of_scope ? OUT_OF_SCOPE : (message.label?.intent || '');
  const intents = [...state.intents];
  if (current && current !== OUT_OF_SCOPE && !intents.includes(current)) intents.push(current);
  const select = el('select', { class: 'label-select', 'data-testid': 'label-select', 'aria-label': 'Label the intent of this message' },
    el('option', { value: '' }, 'Label…'),
    ...intents.map((intent) => el('option', { value: intent }, intent)),
    el('option', { value: OUT_OF_SCOPE }, 'out of scope'));
  select.value = current;
  const saved = el('span', { class: 'label-saved', 'data-testid': 'label-saved' }, labelText(message.label));
  setHidden(saved, !message.label);
  const error = el('span', { class: 'form-error', role: 'alert' });
  setHidden(error, true);
  const wrap = el('div', { class: 'label-ctl' }, select, saved, error);
  select.addEventListener('change', () => saveLabel(message.id, select, saved, error));
  return wrap;
}

async function saveLabel(messageId, select, savedNode, errorNode) {
  if (!select.value) return;
  const payload = select.value === OUT_OF_SCOPE
    ? { message_id: messageId, out_of_scope: true }
    : { message_id: messageId, intent: select.value };
  select.disabled = true;
  showText(errorNode, '');
  const answer = await callServer('label', payload);
  select.disabled = false;
  if (!answer.ok) {
    showText(errorNode, ackErrorText(answer));
    return;
  }
  const label = answer.message?.label
    || { intent: payload.intent ?? null, out_of_scope: Boolean(payload.out_of_scope), by: state.me?.username };
  // Update in place (no re-render) so keyboard focus stays on the select.
  const stored = state.messages.get(messageId);
  if (stored) state.messages.set(messageId, { ...stored, ...(answer.message || {}), label });
  showText(savedNode, labelText(label));
}
