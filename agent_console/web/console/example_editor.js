// A training example as the trainer edits it: its words, and the entities annotated in them.
//
// Examples travel in Rasa's annotation syntax (`where is [12345](order_id)`), the same as
// bot/training_data/examples.py reads and writes. Here the trainer sees plain words in a text
// field, selects a span and picks an entity; the annotated line is shown underneath, exactly
// as it will be written to data/nlu.yml.

import { el } from './dom.js';

// [span](entity) · [span](entity:value) · [span]{"entity": "...", "value": "..."}
const ANNOTATION = /\[([^\]\n]+)\](?:\(([^)\n]+)\)|(\{[^}\n]*\}))/g;

/** `where is [12345](order_id)` → {text: 'where is 12345', spans: [{start, end, entity, value}]} */
export function parseExample(annotated) {
  const spans = [];
  let text = '';
  let cursor = 0;
  for (const match of String(annotated).matchAll(ANNOTATION)) {
    text += annotated.slice(cursor, match.index);
    const [, span, short, json] = match;
    let entity = null;
    let value = null;
    if (short) {
      const colon = short.indexOf(':');
      entity = colon < 0 ? short : short.slice(0, colon);
      value = colon < 0 ? null : short.slice(colon + 1) || null;
    } else {
      try {
        const spec = JSON.parse(json);
        entity = spec?.entity ?? null;
        value = spec?.value ?? null;
      } catch { /* not an annotation after all: kept as words */ }
    }
    if (entity) spans.push({ start: text.length, end: text.length + span.length, entity: entity.trim(), value });
    text += span;
    cursor = match.index + match[0].length;
  }
  text += String(annotated).slice(cursor);
  return { text, spans };
}

function escapeWords(words) {
  // A literal "[x](y)" in a customer's words would read as an annotation.
  return words.replace(ANNOTATION, (m) => m.replace(/\[/g, '(').replace(/\]/g, ')'));
}

/** The annotated line for `text` with non-overlapping `spans`. */
export function annotateExample(text, spans) {
  const ordered = [...spans].sort((a, b) => a.start - b.start);
  let out = '';
  let cursor = 0;
  for (const span of ordered) {
    if (span.start < cursor || span.end > text.length || span.start >= span.end) continue;
    const words = text.slice(span.start, span.end);
    const label = span.value == null || span.value === words ? span.entity : `${span.entity}:${span.value}`;
    out += `${escapeWords(text.slice(cursor, span.start))}[${words}](${label})`;
    cursor = span.end;
  }
  return out + escapeWords(text.slice(cursor));
}

/** After the words changed: keep each span on its words if they are still there, else drop it. */
function relocate(spans, oldText, newText) {
  const kept = [];
  for (const span of spans) {
    const words = oldText.slice(span.start, span.end);
    let start = newText.slice(span.start, span.end) === words ? span.start : -1;
    if (start < 0) {
      // The nearest occurrence of the same words (text was typed before or after them).
      let best = -1;
      for (let i = newText.indexOf(words); i >= 0; i = newText.indexOf(words, i + 1)) {
        if (best < 0 || Math.abs(i - span.start) < Math.abs(best - span.start)) best = i;
      }
      start = best;
    }
    const moved = { ...span, start, end: start + words.length };
    if (start >= 0 && !kept.some((k) => moved.start < k.end && k.start < moved.end)) kept.push(moved);
  }
  return kept;
}

/**
 * The editor (`entities`: names, or a function giving them): a text field, the entity chips, a "tag the selection" control and the annotated
 * preview. `editor.value()` is the annotated line; `editor.changed()` says whether it differs
 * from what it started with.
 */
export function exampleEditor({ annotated, entities, label = 'Training example', onEnter = null }) {
  const initial = String(annotated ?? '');
  let { text, spans } = parseExample(initial);
  let selection = null;

  const input = el('input', {
    type: 'text', class: 'example-input', value: text, 'data-testid': 'example-input', 'aria-label': label,
    maxlength: '500', spellcheck: 'false',
  });
  const chips = el('span', { class: 'entity-chips', 'data-testid': 'example-entities', 'aria-live': 'polite' });
  const picker = el('select', { class: 'entity-select', 'data-testid': 'entity-select', 'aria-label': 'Entity for the selected words' },
    el('option', { value: '' }, 'Entity…'));
  // The domain's entities may arrive after the editor is made: the list is filled when it is used.
  const fillEntities = () => {
    const names = typeof entities === 'function' ? entities() : entities;
    if (picker.options.length - 1 === names.length) return;
    const chosen = picker.value;
    picker.replaceChildren(el('option', { value: '' }, 'Entity…'), ...names.map((name) => el('option', { value: name }, name)));
    picker.value = chosen;
  };
  fillEntities();
  picker.addEventListener('focus', fillEntities);
  picker.addEventListener('pointerdown', fillEntities);
  const tag = el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'entity-tag', disabled: true,
    title: 'Select words in the example, pick an entity, then tag them' }, 'Tag selection');
  const hint = el('span', { class: 'muted small', 'data-testid': 'entity-hint' }, 'Select words to tag an entity.');
  const preview = el('code', { class: 'example-annotated', 'data-testid': 'example-annotated' });

  const render = () => {
    preview.textContent = annotateExample(text, spans);
    chips.replaceChildren(...spans.map((span, i) => el('span', { class: 'chip chip-entity', 'data-testid': 'example-entity' },
      `${span.entity}: ${text.slice(span.start, span.end)}`,
      el('button', {
        type: 'button', class: 'chip-remove', 'aria-label': `Remove the ${span.entity} tag on “${text.slice(span.start, span.end)}”`,
        onclick: () => { spans = spans.filter((_, j) => j !== i); render(); },
      }, '×'))));
    const words = selection ? text.slice(selection.start, selection.end) : '';
    hint.textContent = words ? `Selected: “${words}”` : 'Select words to tag an entity.';
    tag.disabled = !words || !picker.value;
  };

  const remember = () => {
    const start = input.selectionStart ?? 0;
    const end = input.selectionEnd ?? 0;
    if (end > start) {
      // Whole words: a selection dragged a letter too far or short still means the word.
      let s = start;
      let e = end;
      while (s < e && /\s/.test(text[s])) s += 1;
      while (e > s && /\s/.test(text[e - 1])) e -= 1;
      selection = e > s ? { start: s, end: e } : null;
    } else if (document.activeElement === input) {
      selection = null;
    }
    render();
  };
  for (const type of ['select', 'mouseup', 'keyup']) input.addEventListener(type, remember);
  input.addEventListener('input', () => {
    spans = relocate(spans, text, input.value);
    text = input.value;
    selection = null;
    render();
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && onEnter) { event.preventDefault(); onEnter(); }
    if (event.key === 'Escape') { event.preventDefault(); input.blur(); }
  });
  picker.addEventListener('change', render);
  tag.addEventListener('click', () => {
    if (!selection || !picker.value) return;
    spans = [...spans.filter((s) => s.end <= selection.start || s.start >= selection.end),
      { start: selection.start, end: selection.end, entity: picker.value, value: null }];
    selection = null;
    picker.value = '';
    render();
    input.focus();
  });
  render();

  const node = el('div', { class: 'example-editor', 'data-testid': 'example-editor' },
    input,
    el('div', { class: 'example-tools' }, chips, hint, picker, tag),
    el('div', { class: 'example-preview' }, el('span', { class: 'muted small' }, 'Written as '), preview));
  return {
    node,
    input,
    value: () => annotateExample(text, spans),
    changed: () => annotateExample(text, spans) !== initial,
  };
}
