// The intents editor: intents with their example counts and responses; examples searched,
// added, edited, moved and deleted; intents added, renamed and deleted; response texts edited.
//
// Every save carries the training data version this screen loaded. When another trainer saved
// first, the server answers 409: the screen says what changed (by intent) and offers a reload,
// keeping what this trainer typed.

import { api } from './api.js';
import { $, el, setChildren, setHidden, showText } from './dom.js';
import { confirmDialog, pickIntent } from './dialogs.js';
import { exampleEditor } from './example_editor.js';
import { conflictBanner, describeChanges, loadCatalogue, pickable, workbench } from './workbench.js';

const ed = {
  listing: null,       // GET /api/training/intents
  version: null,
  selected: null,      // intent name
  examples: [],        // the selected intent's examples
  editing: null,       // annotated line being edited
  queue: Promise.resolve(),
  bound: false,
};

const path = (name) => `/api/training/intents/${encodeURIComponent(name)}`;

export async function loadIntentsEditor() {
  bindOnce();
  showText($('intents-error'), '');
  try {
    applyListing(await loadCatalogue());
    if (ed.selected && !intentNamed(ed.selected)) ed.selected = null;
    if (!ed.selected) ed.selected = ed.listing.intents[0]?.name ?? null;
    if (ed.selected) await loadExamples(ed.selected);
    renderDetail();
  } catch (error) {
    showText($('intents-error'), error.message);
  }
}

function applyListing(data) {
  ed.listing = data;
  ed.version = data.version;
  workbench.intents = pickable((data.intents || []).map((i) => i.name));
  renderList();
}

async function loadExamples(name) {
  const data = await api('GET', `${path(name)}/examples`);
  ed.examples = Array.isArray(data.examples) ? data.examples : [];
  ed.version = data.version;
}

function intentNamed(name) {
  return ed.listing?.intents.find((i) => i.name === name) || null;
}

function bindOnce() {
  if (ed.bound) return;
  ed.bound = true;
  $('intent-filter').addEventListener('input', renderList);
  $('intent-new-form').addEventListener('submit', addIntent);
  $('example-search-form').addEventListener('submit', searchExamples);
  $('intents-validate').addEventListener('click', validateData);
  $('intents-reload').addEventListener('click', () => { clearConflict(); loadIntentsEditor(); });
}

// ---- saving, and conflicts ----------------------------------------------------------------

/**
 * Run one edit; on success refresh the listing (counts) and the open intent (`select` names the
 * intent to show afterwards, when the edit renamed, added or deleted one). Edits run one after
 * another, each with the version the previous one left, and the notice shows once the screen
 * shows the result.
 */
function save(method, url, body, success, options = {}) {
  const run = ed.queue.then(() => saveNow(method, url, body, success, options));
  ed.queue = run.catch(() => null);
  return run;
}

async function saveNow(method, url, body, success, { select } = {}) {
  showText($('intents-error'), '');
  clearConflict();
  showText($('intents-notice'), 'Saving…');
  try {
    const answer = await api(method, url, { ...body, version: ed.version });
    if (answer.version) ed.version = answer.version;
    if (select !== undefined) {
      ed.selected = select;
      ed.editing = null;
    }
    applyListing(await loadCatalogue());
    if (ed.selected && intentNamed(ed.selected)) await loadExamples(ed.selected);
    else ed.selected = null;
    renderDetail();
    showText($('intents-notice'), typeof success === 'function' ? success(answer) : success);
    return answer;
  } catch (error) {
    showText($('intents-notice'), '');
    if (error.status === 409 && error.code === 'version_conflict') await showConflict(error);
    else showText($('intents-error'), error.message);
    return null;
  }
}

async function showConflict(error) {
  const before = ed.listing;
  let after = null;
  let lines = [];
  try {
    after = await api('GET', '/api/training/intents');
    lines = describeChanges(before, after);
    if (ed.selected && after.intents?.some((i) => i.name === ed.selected)) {
      const now = await api('GET', `${path(ed.selected)}/examples`);
      const had = new Set(ed.examples.map((e) => e.annotated));
      const has = new Set((now.examples || []).map((e) => e.annotated));
      for (const e of now.examples || []) if (!had.has(e.annotated)) lines.push(`${ed.selected} gained “${e.text}”`);
      for (const e of ed.examples) if (!has.has(e.annotated)) lines.push(`${ed.selected} lost “${e.text}”`);
    }
  } catch { /* the banner still offers the reload */ }
  const files = error.data?.changed?.length ? ` (files: ${error.data.changed.join(', ')})` : '';
  setChildren($('intents-conflict'), conflictBanner({
    message: `Your change was not saved${files}.`,
    changes: [...new Set(lines)],
    onReload: () => { clearConflict(); loadIntentsEditor(); },
  }));
}

function clearConflict() {
  setChildren($('intents-conflict'));
}

// ---- the list of intents ------------------------------------------------------------------

function renderList() {
  const needle = $('intent-filter').value.trim().toLowerCase();
  const intents = (ed.listing?.intents || []).filter((i) => i.name.toLowerCase().includes(needle));
  setChildren($('intent-list'), ...intents.map((intent) => el('li', {},
    el('button', {
      type: 'button', class: `intent-row${intent.name === ed.selected ? ' is-open' : ''}`, 'data-testid': 'intent-row',
      'data-intent': intent.name, 'aria-current': String(intent.name === ed.selected),
      onclick: () => openIntent(intent.name),
    },
    el('span', { class: 'intent-name' }, intent.name),
    el('span', { class: 'count', 'data-testid': 'intent-count', title: 'examples' }, String(intent.examples)),
    intent.responses?.length ? el('span', { class: 'muted small' }, `${intent.responses.length} response${intent.responses.length > 1 ? 's' : ''}`)
      : el('span', { class: 'muted small' }, 'no response')))));
}

export async function openIntent(name) {
  ed.selected = name;
  ed.editing = null;
  renderList();
  try {
    await loadExamples(name);
  } catch (error) {
    showText($('intents-error'), error.message);
  }
  renderDetail();
}

// ---- one intent ---------------------------------------------------------------------------

function renderDetail() {
  const intent = intentNamed(ed.selected);
  const node = $('intent-detail');
  if (!intent) {
    setChildren(node, el('p', { class: 'empty' }, 'Pick an intent.'));
    return;
  }
  const draft = node.querySelector('[data-testid="add-examples"]')?.value ?? '';
  const sameIntent = node.dataset.intent === intent.name;
  node.dataset.intent = intent.name;
  setChildren(node,
    el('div', { class: 'detail-head' },
      el('h3', { 'data-testid': 'intent-title' }, intent.name),
      el('span', { class: 'muted' }, `${intent.examples} examples`),
      intent.rules?.length ? el('span', { class: 'muted small' }, `rules: ${intent.rules.join(', ')}`) : null),
    renderRename(intent),
    renderResponses(intent),
    renderAddExamples(sameIntent ? draft : ''),
    renderExamples(intent));
}

function renderRename(intent) {
  const input = el('input', { value: intent.name, 'data-testid': 'rename-input', 'aria-label': `New name for ${intent.name}`, autocomplete: 'off' });
  const form = el('form', { class: 'inline-form', 'data-testid': 'rename-form' },
    el('label', {}, 'Rename to ', input),
    el('button', { type: 'submit', class: 'btn btn-small', 'data-testid': 'rename-submit' }, 'Rename'),
    el('button', {
      type: 'button', class: 'btn btn-small btn-danger-outline', 'data-testid': 'intent-delete',
      onclick: () => deleteIntent(intent),
    }, 'Delete intent…'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const name = input.value.trim();
    if (!name || name === intent.name) return;
    save('PATCH', path(intent.name), { name }, (a) => `Renamed ${intent.name} to ${name} (${(a.updated || []).join(', ')}).`,
      { select: name });
  });
  return form;
}

async function deleteIntent(intent) {
  const ok = await confirmDialog({
    title: `Delete ${intent.name}?`,
    body: [`Its ${intent.examples} examples go too, and its simple answer rules with their responses. `
      + 'The server refuses if a story or a longer rule uses it.'],
    confirmLabel: 'Delete', danger: true,
  });
  if (!ok) return;
  await save('DELETE', path(intent.name), {},
    (a) => `Deleted ${intent.name}${a.removed_rules?.length ? ` and ${a.removed_rules.join(', ')}` : ''}.`, { select: null });
}

function renderResponses(intent) {
  const responses = intent.responses || [];
  return el('section', { class: 'detail-section', 'aria-label': 'Responses' },
    el('h4', {}, 'The bot answers with'),
    responses.length ? null : el('p', { class: 'muted small' }, 'No response: no rule answers this intent.'),
    ...responses.map((response) => {
      const areas = response.texts.map((text, i) => el('textarea', {
        rows: '2', class: 'response-text', 'data-testid': 'response-text', 'data-response': response.name,
        'aria-label': `${response.name}, variant ${i + 1}`,
      }, text));
      const list = el('div', { class: 'response-variants' }, ...areas);
      const form = el('form', { class: 'response-form', 'data-testid': 'response-form', 'data-response': response.name },
        el('code', { class: 'small' }, response.name), list,
        el('div', { class: 'row' },
          el('button', {
            type: 'button', class: 'btn btn-small', onclick: () => list.append(el('textarea', {
              rows: '2', class: 'response-text', 'data-testid': 'response-text', 'aria-label': `${response.name}, new variant`,
            })),
          }, 'Add a variant'),
          el('button', { type: 'submit', class: 'btn btn-small btn-primary', 'data-testid': 'response-save' }, 'Save response')));
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        const texts = [...list.querySelectorAll('textarea')].map((t) => t.value.trim()).filter(Boolean);
        if (!texts.length) {
          showText($('intents-error'), 'A response needs at least one text.');
          return;
        }
        save('PUT', `/api/training/responses/${encodeURIComponent(response.name)}`, { texts }, `Saved ${response.name}.`);
      });
      return form;
    }));
}

function renderAddExamples(draft) {
  const area = el('textarea', {
    rows: '3', 'data-testid': 'add-examples', 'aria-label': 'New examples, one per line',
    placeholder: 'New examples, one per line — annotate entities like [12345](order_id)',
  }, draft);
  const form = el('form', { class: 'add-examples', 'data-testid': 'add-examples-form' },
    el('h4', {}, 'Add examples'), area,
    el('button', { type: 'submit', class: 'btn btn-small btn-primary', 'data-testid': 'add-examples-submit' }, 'Add'));
  area.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) form.requestSubmit();
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const examples = area.value.split('\n').map((l) => l.trim()).filter(Boolean);
    if (!examples.length) return;
    const answer = await save('POST', `${path(ed.selected)}/examples`, { examples },
      (a) => `Added ${a.added.length} example${a.added.length === 1 ? '' : 's'} to ${ed.selected}.`);
    const shown = $('intent-detail').querySelector('[data-testid="add-examples"]');
    if (answer && shown) shown.value = '';
  });
  return form;
}

function renderExamples(intent) {
  if (!ed.examples.length) return el('p', { class: 'muted' }, 'No examples yet.');
  return el('section', { class: 'detail-section' },
    el('h4', {}, `Examples (${ed.examples.length})`),
    el('ul', { class: 'example-list', 'data-testid': 'example-list' },
      ...ed.examples.map((example) => (ed.editing === example.annotated
        ? renderEditingRow(intent, example) : renderExampleRow(intent, example)))));
}

function renderExampleRow(intent, example) {
  return el('li', { class: 'example-row', 'data-testid': 'example-row', 'data-text': example.text },
    el('span', { class: 'example-text' }, example.text),
    ...example.entities.map((e) => el('span', { class: 'chip chip-entity' }, `${e.entity}: ${example.text.slice(e.start, e.end)}`)),
    el('span', { class: 'row-actions' },
      el('button', {
        type: 'button', class: 'btn btn-small', 'data-testid': 'example-edit', 'aria-label': `Edit “${example.text}”`,
        onclick: () => { ed.editing = example.annotated; renderDetail(); $('intent-detail').querySelector('[data-testid="example-input"]')?.focus(); },
      }, 'Edit'),
      el('button', {
        type: 'button', class: 'btn btn-small', 'data-testid': 'example-move', 'aria-label': `Move “${example.text}” to another intent`,
        onclick: () => moveExample(intent, example),
      }, 'Move…'),
      el('button', {
        type: 'button', class: 'btn btn-small btn-danger-outline', 'data-testid': 'example-delete',
        'aria-label': `Delete “${example.text}”`,
        onclick: () => save('DELETE', `${path(intent.name)}/examples`, { text: example.annotated },
          `Deleted “${example.text}” from ${intent.name}.`),
      }, 'Delete')));
}

function renderEditingRow(intent, example) {
  const editor = exampleEditor({
    annotated: example.annotated, entities: () => workbench.entities, label: `Edit “${example.text}”`,
    onEnter: () => submit(),
  });
  const submit = async () => {
    if (!editor.changed()) { ed.editing = null; renderDetail(); return; }
    const answer = await save('PUT', `${path(intent.name)}/examples`, { old: example.annotated, new: editor.value() },
      (a) => `Saved “${a.example?.text ?? ''}”.`);
    if (answer) { ed.editing = null; renderDetail(); }
  };
  return el('li', { class: 'example-row is-editing', 'data-testid': 'example-row', 'data-text': example.text },
    editor.node,
    el('span', { class: 'row-actions' },
      el('button', { type: 'button', class: 'btn btn-small btn-primary', 'data-testid': 'example-save', onclick: submit }, 'Save'),
      el('button', { type: 'button', class: 'btn btn-small', onclick: () => { ed.editing = null; renderDetail(); } }, 'Cancel')));
}

async function moveExample(intent, example) {
  const target = await pickIntent({ title: `Move “${example.text}” to…`, intents: workbench.intents, exclude: [intent.name] });
  if (!target) return;
  await save('POST', '/api/training/examples/move', { text: example.annotated, from_intent: intent.name, to_intent: target },
    `Moved “${example.text}” to ${target}.`);
}

// ---- new intents, search, validation ------------------------------------------------------

async function addIntent(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const data = new FormData(form);
  const name = String(data.get('name') || '').trim();
  const examples = String(data.get('examples') || '').split('\n').map((l) => l.trim()).filter(Boolean);
  const response = String(data.get('response') || '').trim();
  if (!name) {
    showText($('intents-error'), 'Give the new intent a name.');
    return;
  }
  const body = { name, examples };
  if (response) body.response = response;
  const answer = await save('POST', '/api/training/intents', body, `Added the intent ${name}.`, { select: name });
  if (answer) form.reset();
}

async function searchExamples(event) {
  event.preventDefault();
  const q = $('example-search').value.trim();
  const out = $('example-search-results');
  if (!q) { setChildren(out); return; }
  try {
    const { examples, truncated } = await api('GET', `/api/training/examples?q=${encodeURIComponent(q)}`);
    setChildren(out,
      el('p', { class: 'muted small', role: 'status' }, `${examples.length}${truncated ? '+' : ''} example${examples.length === 1 ? '' : 's'} contain “${q}”.`),
      el('ul', { class: 'example-list' }, ...examples.map((e) => el('li', { class: 'example-row', 'data-testid': 'search-hit', 'data-intent': e.intent },
        el('span', { class: 'example-text' }, e.text),
        el('button', { type: 'button', class: 'btn btn-small btn-link', onclick: () => openIntent(e.intent) }, e.intent)))));
  } catch (error) {
    showText($('intents-error'), error.message);
  }
}

async function validateData() {
  const out = $('validation-results');
  try {
    const { ok, problems } = await api('GET', '/api/training/validate');
    setChildren(out,
      el('p', { class: ok ? 'ok-note' : 'form-error', role: 'status', 'data-testid': 'validation-summary' },
        problems.length ? `${problems.length} problem${problems.length === 1 ? '' : 's'}${ok ? ' (none blocks training)' : ' — training is blocked until the red ones are fixed'}.`
          : 'The training data is ready to train.'),
      el('ul', { class: 'problems' }, ...problems.map((p) => el('li', {
        class: p.blocking ? 'problem-blocking' : 'problem-warning', 'data-testid': 'validation-problem',
      }, p.intent ? el('button', { type: 'button', class: 'btn btn-small btn-link', onclick: () => openIntent(p.intent) }, p.intent) : null,
      p.intent ? ': ' : '', p.message))));
  } catch (error) {
    showText($('intents-error'), error.message);
  }
}
