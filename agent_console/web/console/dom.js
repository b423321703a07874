// DOM helpers, text-only by construction.
//
// Security rule for the whole console: every piece of server data reaches the DOM via
// document.createElement + textContent (or setAttribute for plain attributes).
// There is deliberately no innerHTML anywhere, so customer text such as
// "<img src=x onerror=alert(1)>" is always shown literally.

import { formatDuration, parseTime } from './format.js';

export const $ = (id) => document.getElementById(id);

/** Create an element; props become attributes, children strings become text nodes. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = String(value);
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child)); // append(string) = text node
  }
  return node;
}

/** replaceChildren() that skips null/false, so optional parts never render as "null". */
export function setChildren(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

export function setHidden(node, hidden) {
  node.hidden = Boolean(hidden);
}

export function showText(node, text) {
  node.textContent = text || '';
  setHidden(node, !text);
}

export function showGlobalError(text) {
  showText($('global-error'), text);
  if (text) setTimeout(() => showText($('global-error'), ''), 8000);
}

/** Only http(s) links are ever made clickable (no javascript: URLs from data). */
export function safeHttpUrl(value) {
  try {
    const url = new URL(String(value), location.href);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

export function cssToken(value) {
  return String(value || 'unknown').toLowerCase().replace(/[^a-z0-9-]/g, '-');
}

export function badge(text, kind, testid) {
  return el('span', { class: `badge badge-${cssToken(kind)}`, 'data-testid': testid }, text);
}

export function isEditableTarget(target) {
  if (!(target instanceof Element)) return false;
  // Check boxes and buttons take no typing: the screen's keys still work while they have focus.
  return target.matches('input:not([type="checkbox"]):not([type="radio"]):not([type="button"]):not([type="submit"]), '
    + 'textarea, select, [contenteditable=""], [contenteditable="true"]');
}

/**
 * A button that opens a conversation wherever it is (queue, customer panel, review).
 * One listener in main.js handles them all, so these modules need not import the inbox.
 */
export const OPENS_CONVERSATION = 'data-opens-conversation';

/** "Waiting 1m 05s": rendered once, then kept current by tickWaitingTimes(). */
export function renderWaitingTime(since) {
  const started = parseTime(since);
  return el('span', { class: 'wait', 'data-testid': 'waiting-time', 'data-since': started ?? '' },
    started === null ? '' : formatDuration(Date.now() - started));
}

/** Runs several times a second so the shown seconds never lag or skip; writes only on change. */
export function tickWaitingTimes() {
  const now = Date.now();
  for (const node of document.querySelectorAll('[data-since]')) {
    if (!node.dataset.since) continue;
    const text = formatDuration(now - Number(node.dataset.since));
    if (node.textContent !== text) node.textContent = text;
  }
}
