// What the trainer workbench's screens share: the intents a message may be labelled with, the
// entities of the domain, the training data version, and the version-conflict banner.

import { api } from './api.js';
import { el } from './dom.js';

export const workbench = {
  intents: [],        // intents a trainer may pick (the server leaves out Rasa's internal ones)
  entities: [],       // the domain's entities, for annotating examples
  catalogue: null,    // the last GET /api/training/intents answer
};

// Rasa's own intents are never offered, whatever the server sends.
const INTERNAL = new Set(['nlu_fallback', 'session_start', 'restart', 'back']);

export function pickable(names) {
  return (names || []).filter((n) => typeof n === 'string' && !INTERNAL.has(n) && !n.startsWith('nlu_'));
}

/** Intents, their examples counts and responses, and the entities (the intents editor's listing). */
export async function loadCatalogue() {
  const data = await api('GET', '/api/training/intents');
  workbench.catalogue = data;
  workbench.entities = Array.isArray(data.entities) ? data.entities : [];
  if (!workbench.intents.length) workbench.intents = pickable((data.intents || []).map((i) => i.name));
  return data;
}

export async function ensureEntities() {
  if (!workbench.catalogue) {
    try { await loadCatalogue(); } catch { /* annotation still works once the listing loads */ }
  }
  return workbench.entities;
}

/**
 * What another trainer changed, from the listing before and after: intents added or removed,
 * example counts and response texts that differ. A 409 only names files; this names intents.
 */
export function describeChanges(before, after) {
  const index = (data) => new Map((data?.intents || []).map((i) => [i.name, i]));
  const old = index(before);
  const now = index(after);
  const lines = [];
  for (const [name, intent] of now) {
    const was = old.get(name);
    if (!was) {
      lines.push(`intent ${name} was added (${intent.examples} examples)`);
      continue;
    }
    if (was.examples !== intent.examples) {
      const diff = intent.examples - was.examples;
      lines.push(`${name}: ${Math.abs(diff)} example${Math.abs(diff) === 1 ? '' : 's'} ${diff > 0 ? 'added' : 'removed'} `
        + `(${was.examples} → ${intent.examples})`);
    }
    const texts = (i) => JSON.stringify((i.responses || []).map((r) => [r.name, r.texts]));
    if (texts(was) !== texts(intent)) lines.push(`${name}: its responses were edited`);
  }
  for (const name of old.keys()) if (!now.has(name)) lines.push(`intent ${name} was removed or renamed`);
  return lines;
}

/** The banner shown when a save met a newer version: what changed, and a button to reload. */
export function conflictBanner({ message, changes, onReload }) {
  return el('div', { class: 'conflict', role: 'alert', 'data-testid': 'version-conflict' },
    el('strong', {}, 'Someone else changed the training data. '),
    el('span', {}, message || 'Your change was not saved.'),
    changes.length
      ? el('ul', { class: 'conflict-changes', 'data-testid': 'conflict-changes' }, ...changes.map((c) => el('li', {}, c)))
      : el('p', { class: 'muted small' }, 'The files changed, but no intent’s examples or responses did.'),
    el('button', { type: 'button', class: 'btn btn-primary btn-small', 'data-testid': 'conflict-reload', onclick: onReload },
      'Reload the data'),
    el('span', { class: 'muted small' }, ' Your unsaved text stays where it is; apply it again after the reload.'));
}

/** A number as a percentage with one decimal, or a dash. */
export function pct(value, digits = 1) {
  return typeof value === 'number' && Number.isFinite(value) ? `${(value * 100).toFixed(digits)}%` : '–';
}
