// The trainers' review inbox: every customer message the bot was unsure about, with its top
// three guesses, becomes a confirmed, relabelled, out-of-scope or dismissed example.
//
// Live: `review_item` adds a message, `reviewed` removes one another trainer handled. Keys:
// j/k (or ↓/↑) move, c confirms the bot's guess, l picks another intent, o out of scope,
// d dismisses, x selects, s selects similar ones, e edits the example, / searches. With a
// selection, c/l/o/d act on all selected messages.

import { api } from './api.js';
import { handoffReasonCodes, handoffReasonLabel } from './config.js';
import { $, OPENS_CONVERSATION, badge, el, setChildren, setHidden, showText } from './dom.js';
import { exampleEditor } from './example_editor.js';
import { formatDate, labelText } from './format.js';
import { pickIntent } from './dialogs.js';
import { ensureEntities, pct, pickable, workbench } from './workbench.js';

const REVIEW_REASONS = {
  rephrase: 'Asked to rephrase',
  uncertain_answer: 'Answered, but unsure',
  labelled: 'Labelled by an agent',
};
const STATUS_TEXT = {
  confirmed: 'confirmed', relabelled: 'relabelled', out_of_scope: 'out of scope', dismissed: 'dismissed',
};
const PAGE = 100;

const review = {
  items: [],               // what the list shows, newest first
  nodes: new Map(),        // message id -> <li>
  editors: new Map(),      // message id -> example editor (kept while the item is listed)
  counts: {},
  open: 0,
  currentId: null,
  selected: new Set(),
  hasMore: false,
  loaded: false,
  seq: 0,
  reloadTimer: null,
  countsTimer: null,
  bound: false,
};

export function reasonLabel(reason) {
  return REVIEW_REASONS[reason] || handoffReasonLabel(reason);
}

// ---- loading and filters ------------------------------------------------------------------

function filters() {
  return {
    q: $('review-search').value.trim(),
    status: $('review-status').value,
    reason: $('review-reason').value,
    intent: $('review-intent').value,
    channel: $('review-channel').value,
    labelled: $('review-labelled').value,
    since: $('review-since').value,
    until: $('review-until').value,
  };
}

function dayAfter(isoDate) {
  const day = new Date(`${isoDate}T00:00:00Z`);
  day.setUTCDate(day.getUTCDate() + 1);
  return day.toISOString().slice(0, 10);
}

function query(beforeId) {
  const f = filters();
  const params = new URLSearchParams({ status: f.status, limit: String(PAGE) });
  for (const key of ['q', 'reason', 'intent', 'channel', 'labelled', 'since']) if (f[key]) params.set(key, f[key]);
  if (f.until) params.set('until', dayAfter(f.until)); // "to" is inclusive for people
  if (beforeId) params.set('before_id', String(beforeId));
  return `/api/review?${params}`;
}

/** Load (or, with `older`, extend) the list for the current filters. */
export async function loadReview({ older = false, quiet = false } = {}) {
  bindOnce();
  const seq = ++review.seq;
  if (!quiet) showText($('review-error'), '');
  const before = older && review.items.length ? Math.min(...review.items.map((i) => i.message_id)) : null;
  ensureEntities(); // for tagging examples; the list does not wait for it
  if (!review.loaded) $('review-empty').textContent = 'Loading…';
  setHidden($('review-empty'), review.items.length > 0);
  let data;
  try {
    data = await api('GET', query(before));
  } catch (error) {
    if (seq === review.seq) showText($('review-error'), error.message);
    return;
  }
  $('review-empty').textContent = 'Nothing to review.';
  if (seq !== review.seq) return; // filters changed meanwhile: a newer answer is on its way
  if (Array.isArray(data.intents) && data.intents.length) workbench.intents = pickable(data.intents);
  const items = Array.isArray(data.items) ? data.items : [];
  review.items = older ? [...review.items, ...items.filter((i) => !review.nodes.has(i.message_id))] : items;
  // A selection only ever holds what the list shows: bulk verdicts never reach hidden messages.
  const shown = new Set(review.items.map((i) => i.message_id));
  for (const id of [...review.selected]) if (!shown.has(id)) review.selected.delete(id);
  review.hasMore = items.length >= PAGE;
  applyCounts(data);
  review.loaded = true;
  if (!review.items.some((i) => i.message_id === review.currentId)) review.currentId = review.items[0]?.message_id ?? null;
  fillIntentFilter();
  renderList();
}

function applyCounts(data) {
  if (data.counts && typeof data.counts === 'object') review.counts = { ...data.counts };
  if (typeof data.open === 'number') review.open = data.open;
  renderCounts();
}

/** Counts only (at start, for the tab's badge, and after a verdict); the list is already up to date. */
export async function refreshReviewCounts() {
  try { applyCounts(await api('GET', '/api/review?limit=1')); } catch { /* the next load brings them */ }
}

function refreshCountsSoon() {
  clearTimeout(review.countsTimer);
  review.countsTimer = setTimeout(refreshReviewCounts, 250);
}

function reloadSoon() {
  clearTimeout(review.reloadTimer);
  review.reloadTimer = setTimeout(() => loadReview({ quiet: true }), 300);
}

function fillIntentFilter() {
  const select = $('review-intent');
  const chosen = select.value;
  const names = [...new Set([...workbench.intents, ...review.items.map((i) => i.predicted).filter(Boolean)])].sort();
  setChildren(select, el('option', { value: '' }, 'any'), ...names.map((n) => el('option', { value: n }, n)));
  select.value = chosen;
}

function fillReasonFilter() {
  const select = $('review-reason');
  const codes = [...Object.keys(REVIEW_REASONS), ...handoffReasonCodes()];
  setChildren(select, el('option', { value: '' }, 'any'), ...codes.map((c) => el('option', { value: c }, reasonLabel(c))));
}

function bindOnce() {
  if (review.bound) return;
  review.bound = true;
  fillReasonFilter();
  let typing = null;
  $('review-search').addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => loadReview(), 250);
  });
  $('review-search').addEventListener('keydown', (event) => {
    if (event.key === 'Enter') { event.preventDefault(); clearTimeout(typing); loadReview(); }
    if (event.key === 'Escape' || event.key === 'ArrowDown') { event.preventDefault(); focusCurrent(); }
  });
  for (const id of ['review-status', 'review-reason', 'review-intent', 'review-channel', 'review-labelled',
    'review-since', 'review-until']) {
    $(id).addEventListener('change', () => loadReview());
  }
  $('review-filters').addEventListener('submit', (event) => { event.preventDefault(); loadReview(); });
  $('review-more').addEventListener('click', () => loadReview({ older: true }));
  $('bulk-confirm').addEventListener('click', () => act('confirm', [...review.selected]));
  $('bulk-relabel').addEventListener('click', () => relabel([...review.selected]));
  $('bulk-out-of-scope').addEventListener('click', () => act('out_of_scope', [...review.selected]));
  $('bulk-dismiss').addEventListener('click', () => act('dismiss', [...review.selected]));
  $('bulk-select-all').addEventListener('click', selectAllShown);
  $('bulk-clear').addEventListener('click', clearSelection);
}

// ---- live events --------------------------------------------------------------------------

function matchesFilters(item) {
  const f = filters();
  if (f.status === 'done') return false;
  if (f.reason && item.reason !== f.reason) return false;
  if (f.intent && item.predicted !== f.intent) return false;
  if (f.channel && item.channel !== f.channel) return false;
  if (f.labelled === 'true' && !item.label) return false;
  if (f.labelled === 'false' && item.label) return false;
  if (f.q && !String(item.text).toLowerCase().includes(f.q.toLowerCase())) return false;
  const day = String(item.created_at || '').slice(0, 10);
  if (f.since && day && day < f.since) return false;
  if (f.until && day && day > f.until) return false;
  return true;
}

/** A message just landed in the inbox (the bot was unsure about it). */
export function onReviewItem(item) {
  if (!item || typeof item.message_id !== 'number') return;
  const known = review.items.some((i) => i.message_id === item.message_id);
  if (!known) {
    review.counts[item.reason] = (review.counts[item.reason] || 0) + 1;
    review.open += 1;
    renderCounts();
  }
  if (!review.loaded || known || !matchesFilters(item)) return;
  review.items = [item, ...review.items];
  if (review.currentId === null) review.currentId = item.message_id;
  renderList();
  showText($('review-notice'), `New message to review: “${item.text}”`);
}

/** Someone (maybe this trainer, maybe another) reviewed messages. */
export function onReviewed(data) {
  const ids = new Set(Array.isArray(data?.message_ids) ? data.message_ids : []);
  if (!ids.size) return;
  refreshCountsSoon();
  if (!review.loaded) return;
  if (filters().status === 'open') removeItems(ids);
  else {
    review.items = review.items.map((i) => (ids.has(i.message_id) ? { ...i, status: data.status, review: { ...(i.review || {}), intent: data.intent } } : i));
    for (const id of ids) review.nodes.delete(id);
    renderList();
  }
}

/** An agent labelled a customer message: it (re)enters the inbox. */
export function onMessageLabelled(message) {
  if (message?.sender !== 'customer' || !message.label) return;
  refreshCountsSoon();
  if (review.loaded && filters().status !== 'done') reloadSoon();
}

// ---- acting -------------------------------------------------------------------------------

function itemById(id) {
  return review.items.find((i) => i.message_id === id);
}

/** The messages a key acts on: the selection, or else the current message. */
function targets() {
  if (review.selected.size) return [...review.selected];
  return review.currentId === null ? [] : [review.currentId];
}

async function relabel(ids) {
  if (!ids.length) return;
  const first = itemById(ids[0]);
  const intent = await pickIntent({
    title: ids.length > 1 ? `Label ${ids.length} messages as…` : `Label “${first?.text ?? ''}” as…`,
    intents: workbench.intents,
  });
  if (intent) await act('relabel', ids, intent);
}

async function act(action, ids, intent = null) {
  ids = ids.filter((id) => itemById(id));
  if (!ids.length) return;
  const body = { message_ids: ids, action };
  if (intent) body.intent = intent;
  const editor = ids.length === 1 ? review.editors.get(ids[0]) : null;
  if (editor && action !== 'dismiss' && editor.changed()) body.example = editor.value();
  showText($('review-error'), '');
  setBusy(true);
  try {
    const result = await api('POST', '/api/review/act', body);
    showText($('review-notice'), verdictText(result, ids.length));
    for (const id of ids) review.selected.delete(id);
    if (filters().status === 'open') removeItems(new Set(ids));
    else loadReview({ quiet: true });
  } catch (error) {
    showText($('review-error'), error.message);
  } finally {
    setBusy(false);
  }
}

function verdictText(result, n) {
  const what = n === 1 ? 'Message' : `${n} messages`;
  const verb = { confirmed: 'confirmed as', relabelled: 'labelled', out_of_scope: 'marked out of scope', dismissed: 'dismissed' }[result.status] || result.status;
  let text = `${what} ${verb}${result.intent && result.status !== 'out_of_scope' ? ` ${result.intent}` : ''}.`;
  if (result.added?.length) text += ` Added ${result.added.length} example${result.added.length === 1 ? '' : 's'} to ${result.intent}.`;
  if (result.skipped?.length) {
    text += ` ${result.skipped.length} already known (${result.skipped.map((s) => `“${s.text}” in ${s.intent}`).join(', ')}).`;
  }
  return text;
}

function setBusy(busy) {
  $('review-list').setAttribute('aria-busy', String(busy));
}

function removeItems(ids) {
  const index = review.items.findIndex((i) => i.message_id === review.currentId);
  review.items = review.items.filter((i) => !ids.has(i.message_id));
  for (const id of ids) {
    review.nodes.delete(id);
    review.editors.delete(id);
    review.selected.delete(id);
  }
  if (ids.has(review.currentId)) {
    const next = review.items[Math.min(Math.max(index, 0), review.items.length - 1)];
    review.currentId = next?.message_id ?? null;
  }
  const hadFocus = $('review-list').contains(document.activeElement) || document.activeElement === document.body;
  renderList();
  if (hadFocus) focusCurrent();
}

async function selectSimilar(id) {
  if (id === null) return;
  try {
    const { items } = await api('GET', `/api/review/${encodeURIComponent(id)}/similar`);
    const similar = Array.isArray(items) ? items : [];
    const known = new Set(review.items.map((i) => i.message_id));
    review.items = [...review.items, ...similar.filter((i) => !known.has(i.message_id))];
    review.selected.add(id);
    for (const item of similar) review.selected.add(item.message_id);
    showText($('review-notice'), similar.length
      ? `Selected ${similar.length + 1} messages the bot guessed as ${itemById(id)?.predicted ?? 'the same intent'}.`
      : 'No other open message was guessed the same way.');
    renderList();
  } catch (error) {
    showText($('review-error'), error.message);
  }
}

function toggleSelected(id) {
  if (id === null) return;
  if (review.selected.has(id)) review.selected.delete(id); else review.selected.add(id);
  renderList();
}

function selectAllShown() {
  for (const item of review.items) review.selected.add(item.message_id);
  renderList();
}

function clearSelection() {
  review.selected.clear();
  renderList();
}

// ---- keyboard -----------------------------------------------------------------------------

function move(step) {
  if (!review.items.length) return;
  const index = review.items.findIndex((i) => i.message_id === review.currentId);
  const next = index < 0 ? 0 : Math.min(review.items.length - 1, Math.max(0, index + step));
  setCurrent(review.items[next].message_id);
}

function setCurrent(id, focus = true) {
  review.currentId = id;
  renderList();
  if (focus) focusCurrent();
}

function focusCurrent() {
  const node = review.nodes.get(review.currentId);
  if (node) {
    node.focus({ preventScroll: true });
    node.scrollIntoView({ block: 'nearest' });
  }
}

/** Keys on the review screen (called by keyboard.js outside text fields). True when handled. */
export function onReviewKeydown(event) {
  const current = review.currentId;
  const keys = {
    j: () => move(1),
    ArrowDown: () => move(1),
    k: () => move(-1),
    ArrowUp: () => move(-1),
    c: () => act('confirm', targets()),
    l: () => relabel(targets()),
    o: () => act('out_of_scope', targets()),
    d: () => act('dismiss', targets()),
    x: () => toggleSelected(current),
    s: () => selectSimilar(current),
    A: selectAllShown,
    e: () => review.editors.get(current)?.input.focus(),
    '/': () => $('review-search').focus(),
    Escape: () => { if (review.selected.size) clearSelection(); },
  };
  const run = keys[event.key];
  if (!run) return false;
  event.preventDefault();
  run();
  return true;
}

// ---- rendering ----------------------------------------------------------------------------

function renderCounts() {
  const active = $('review-reason').value;
  const entries = Object.entries(review.counts).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  setChildren($('review-counts'), ...entries.map(([reason, n]) => el('button', {
    type: 'button', class: 'reason-count', 'data-testid': 'reason-count', 'data-reason': reason,
    'aria-pressed': String(active === reason), title: `Show only: ${reasonLabel(reason)}`,
    onclick: () => {
      $('review-reason').value = active === reason ? '' : reason;
      loadReview();
    },
  }, reasonLabel(reason), ' ', el('span', { class: 'count' }, String(n)))));
  $('review-open-count').textContent = String(review.open);
  const tab = $('nav-review-count');
  tab.textContent = String(review.open);
  setHidden(tab, !review.open);
}

function renderList() {
  const list = $('review-list');
  const focused = document.activeElement;
  const hadFocus = list.contains(focused);
  const wanted = review.items.map((item) => {
    let node = review.nodes.get(item.message_id);
    if (!node) {
      node = renderItem(item);
      review.nodes.set(item.message_id, node);
    }
    updateItem(node, item);
    return node;
  });
  const same = wanted.length === list.children.length && wanted.every((n, i) => list.children[i] === n);
  if (!same) {
    setChildren(list, ...wanted);
    if (hadFocus && focused && list.contains(focused)) focused.focus({ preventScroll: true });
  }
  setHidden($('review-empty'), review.items.length > 0);
  setHidden($('review-more'), !review.hasMore);
  const n = review.selected.size;
  setHidden($('review-bulk'), n === 0);
  $('review-selected-count').textContent = `${n} selected`;
}

function renderItem(item) {
  const id = item.message_id;
  const select = el('input', {
    type: 'checkbox', class: 'ri-select', 'data-testid': 'review-select', 'aria-label': `Select “${item.text}”`,
  });
  select.addEventListener('change', () => {
    if (select.checked) review.selected.add(id); else review.selected.delete(id);
    renderList();
  });
  const guess = item.predicted;
  const canConfirm = Boolean(guess) && workbench.intents.includes(guess);
  const node = el('li', {
    class: 'review-item', 'data-testid': 'review-item', 'data-message-id': id, 'data-reason': item.reason,
    'data-status': item.status || 'open', 'aria-label': `Customer message: ${item.text}`,
  },
  el('div', { class: 'ri-head' },
    select,
    badge(reasonLabel(item.reason), `reason-${item.reason}`, 'review-reason'),
    item.channel ? badge(item.channel, `channel-${item.channel}`, 'review-channel') : null,
    el('span', { class: 'muted small' }, formatDate(item.created_at)),
    item.status && item.status !== 'open'
      ? badge(`${STATUS_TEXT[item.status] || item.status}${item.review?.intent ? `: ${item.review.intent}` : ''}${item.review?.by ? ` by ${item.review.by}` : ''}`,
        `review-${item.status}`, 'review-verdict')
      : null,
    el('button', {
      type: 'button', class: 'btn btn-small btn-link ri-open', 'data-testid': 'review-open-conversation',
      [OPENS_CONVERSATION]: item.conversation_id,
    }, `Open conversation #${item.conversation_id}`)),
  el('div', { class: 'review-text', 'data-testid': 'review-text' }, item.text ?? ''),
  renderTopIntents(item),
  item.label ? el('div', { class: 'label-saved small', 'data-testid': 'review-label' }, labelText(item.label)) : null,
  el('div', { class: 'ri-example' }),
  el('div', { class: 'ri-actions', role: 'group', 'aria-label': 'Verdict' },
    el('button', {
      type: 'button', class: 'btn btn-small btn-primary', 'data-testid': 'review-confirm', disabled: !canConfirm,
      title: canConfirm ? 'The bot was right (c)' : 'The bot had no usable guess: pick the intent (l)',
      onclick: () => { setCurrent(id, false); act('confirm', [id]); },
    }, canConfirm ? `Confirm ${guess} ` : 'Confirm ', el('kbd', {}, 'c')),
    el('button', {
      type: 'button', class: 'btn btn-small', 'data-testid': 'review-relabel',
      onclick: () => { setCurrent(id, false); relabel([id]); },
    }, 'Label as… ', el('kbd', {}, 'l')),
    el('button', {
      type: 'button', class: 'btn btn-small', 'data-testid': 'review-out-of-scope',
      onclick: () => { setCurrent(id, false); act('out_of_scope', [id]); },
    }, 'Out of scope ', el('kbd', {}, 'o')),
    el('button', {
      type: 'button', class: 'btn btn-small', 'data-testid': 'review-dismiss',
      onclick: () => { setCurrent(id, false); act('dismiss', [id]); },
    }, 'Dismiss ', el('kbd', {}, 'd')),
    el('button', {
      type: 'button', class: 'btn btn-small', 'data-testid': 'review-select-similar',
      onclick: () => { setCurrent(id, false); selectSimilar(id); },
    }, 'Select similar ', el('kbd', {}, 's'))));
  node.addEventListener('click', (event) => {
    if (event.target instanceof Element && event.target.closest('button, input, select, a')) return;
    if (review.currentId !== id) setCurrent(id);
  });
  node.addEventListener('focusin', () => { if (review.currentId !== id) setCurrent(id, false); });
  return node;
}

function renderTopIntents(item) {
  const top = Array.isArray(item.top_intents) ? item.top_intents : [];
  if (!top.length) return el('p', { class: 'muted small', 'data-testid': 'top-intents' }, 'The bot had no guess.');
  return el('ol', { class: 'top-intents', 'data-testid': 'top-intents', 'aria-label': "The bot's top guesses" },
    ...top.map((r, i) => el('li', { class: `top-intent${i === 0 ? ' is-top' : ''}`, 'data-testid': 'top-intent', 'data-intent': r.name },
      el('span', { class: 'ti-name' }, r.name),
      el('span', { class: 'ti-bar', 'aria-hidden': 'true' },
        el('span', { class: 'ti-fill', style: `width:${Math.round(Math.max(0, Math.min(1, r.confidence || 0)) * 100)}%` })),
      el('span', { class: 'ti-conf' }, pct(r.confidence, 0)))));
}

function updateItem(node, item) {
  const id = item.message_id;
  const current = id === review.currentId;
  const selected = review.selected.has(id);
  node.classList.toggle('is-current', current);
  node.classList.toggle('is-selected', selected);
  node.setAttribute('aria-current', String(current));
  node.tabIndex = current ? 0 : -1;
  node.querySelector('.ri-select').checked = selected;
  const slot = node.querySelector('.ri-example');
  if (current && !slot.firstChild) slot.append(...renderExample(item));
  else if (!current && slot.firstChild && !review.editors.get(id)?.changed()) {
    slot.replaceChildren();
    review.editors.delete(id);
  }
}

/** The masked example this message becomes, editable, with entity tagging. */
function renderExample(item) {
  let editor = review.editors.get(item.message_id);
  if (!editor) {
    editor = exampleEditor({
      annotated: item.example ?? item.text,
      entities: () => workbench.entities,
      label: 'The training example this message becomes',
      onEnter: () => act('confirm', [item.message_id]),
    });
    review.editors.set(item.message_id, editor);
  }
  const masked = Array.isArray(item.masked) ? item.masked : [];
  return [
    el('div', { class: 'small muted' }, 'Becomes this training example (edit it before accepting; ', el('kbd', {}, 'e'), ' to edit):'),
    editor.node,
    masked.length ? el('p', { class: 'masked-note small', 'data-testid': 'review-masked' },
      'Personal data masked: ', masked.map((m) => `${m.kind} “${m.original}” → “${m.replacement}”`).join(', ')) : null,
  ].filter(Boolean);
}
