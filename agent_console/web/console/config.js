// Values the server owns (agent_console/client_config.py): reason labels, confidence bands,
// message limits. Fetched after login, before anything renders, so nothing here is a copy.

import { api } from './api.js';

let config = null;

function isNumber(value) {
  return typeof value === 'number' && Number.isFinite(value);
}

/** GET /api/config; throws (and keeps the console closed) when the answer is unusable. */
export async function loadConfig() {
  const data = await api('GET', '/api/config');
  const complete = data.handoff_reasons && typeof data.handoff_reasons === 'object'
    && isNumber(data.confidence_threshold) && isNumber(data.confidence_amber_below)
    && isNumber(data.max_agent_message_chars) && isNumber(data.max_customer_message_chars);
  if (!complete) throw new Error('The server sent an incomplete console configuration.');
  config = data;
}

export function handoffReasonLabel(reason) {
  if (!reason) return '';
  return config.handoff_reasons[reason] || String(reason).replace(/_/g, ' ');
}

/** Red below the policy's threshold, amber just above it, green beyond (the server sets the bands). */
export function confidenceLevel(confidence) {
  if (confidence < config.confidence_threshold) return 'low';
  if (confidence < config.confidence_amber_below) return 'medium';
  return 'high';
}

export function maxAgentMessageChars() {
  return config.max_agent_message_chars;
}

/** Every handoff reason the server knows, for filters. */
export function handoffReasonCodes() {
  return Object.keys(config?.handoff_reasons || {});
}
