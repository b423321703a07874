// Modal dialogs for the workbench: a confirmation and a searchable intent picker.
// Both are built fresh each time, trap nothing but Esc/Enter, and give focus back where it was.

import { el } from './dom.js';

function openModal(dialog, onClose) {
  const returnFocus = document.activeElement;
  const overlay = el('div', { class: 'overlay' }, dialog);
  document.body.append(overlay);
  const close = (value) => {
    overlay.remove();
    returnFocus?.focus?.();
    onClose(value);
  };
  overlay.addEventListener('click', (event) => { if (event.target === overlay) close(null); });
  return close;
}

/** Resolves true when the person confirms, false when they cancel (Esc, Cancel, a click outside). */
export function confirmDialog({ title, body, confirmLabel = 'Confirm', danger = false }) {
  return new Promise((resolve) => {
    const titleId = `confirm-title-${Date.now()}`;
    const ok = el('button', { type: 'button', class: `btn ${danger ? 'btn-danger' : 'btn-primary'}`, 'data-testid': 'confirm-ok' },
      confirmLabel);
    const cancel = el('button', { type: 'button', class: 'btn', 'data-testid': 'confirm-cancel' }, 'Cancel');
    const dialog = el('div', {
      class: 'dialog', role: 'alertdialog', 'aria-modal': 'true', 'aria-labelledby': titleId, 'data-testid': 'confirm-dialog',
    },
    el('h2', { id: titleId }, title),
    ...(Array.isArray(body) ? body : [body]).map((line) => (line instanceof Node ? line : el('p', {}, line))),
    el('div', { class: 'dialog-actions' }, cancel, ok));
    const close = openModal(dialog, (value) => resolve(Boolean(value)));
    ok.addEventListener('click', () => close(true));
    cancel.addEventListener('click', () => close(false));
    dialog.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') { event.preventDefault(); event.stopPropagation(); close(false); }
    });
    ok.focus();
  });
}

/**
 * A searchable list of intents. Type to filter, ↑/↓ to move, Enter to pick, Esc to cancel.
 * Resolves to the chosen intent name, or null.
 */
export function pickIntent({ title = 'Pick the intent', intents, exclude = [] }) {
  return new Promise((resolve) => {
    const choices = intents.filter((name) => !exclude.includes(name));
    const titleId = 'intent-picker-title';
    const listId = 'intent-picker-list';
    const search = el('input', {
      type: 'search', class: 'picker-search', 'data-testid': 'intent-picker-search', role: 'combobox',
      'aria-controls': listId, 'aria-expanded': 'true', 'aria-autocomplete': 'list', autocomplete: 'off',
      'aria-label': 'Search intents', placeholder: 'Type to search…',
    });
    const list = el('ul', { id: listId, class: 'picker-list', role: 'listbox', 'aria-label': 'Intents', 'data-testid': 'intent-picker-list' });
    const empty = el('p', { class: 'empty', hidden: true }, 'No intent matches.');
    const dialog = el('div', {
      class: 'dialog picker', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': titleId, 'data-testid': 'intent-picker',
    }, el('h2', { id: titleId }, title), search, list, empty,
    el('p', { class: 'muted small' }, '↑ ↓ to move, Enter to pick, Esc to cancel'));
    let shown = [];
    let active = 0;
    const close = openModal(dialog, resolve);

    const render = () => {
      const needle = search.value.trim().toLowerCase().replace(/\s+/g, '_');
      // Matches at the start of the name first, then anywhere.
      shown = choices.filter((n) => n.toLowerCase().includes(needle))
        .sort((a, b) => Number(!a.toLowerCase().startsWith(needle)) - Number(!b.toLowerCase().startsWith(needle)));
      active = Math.min(active, Math.max(shown.length - 1, 0));
      list.replaceChildren(...shown.map((name, i) => el('li', {
        id: `intent-option-${i}`, role: 'option', class: `picker-option${i === active ? ' is-active' : ''}`,
        'aria-selected': String(i === active), 'data-testid': 'intent-option', 'data-intent': name,
        onclick: () => close(name),
      }, name)));
      empty.hidden = shown.length > 0;
      if (shown.length) search.setAttribute('aria-activedescendant', `intent-option-${active}`);
      else search.removeAttribute('aria-activedescendant');
      list.children[active]?.scrollIntoView({ block: 'nearest' });
    };
    search.addEventListener('input', () => { active = 0; render(); });
    search.addEventListener('keydown', (event) => {
      if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        event.preventDefault();
        if (!shown.length) return;
        active = (active + (event.key === 'ArrowDown' ? 1 : -1) + shown.length) % shown.length;
        render();
      } else if (event.key === 'Enter') {
        event.preventDefault();
        if (shown[active]) close(shown[active]);
      } else if (event.key === 'Escape') {
        event.preventDefault();
        event.stopPropagation();
        close(null);
      }
    });
    render();
    search.focus();
  });
}
