// Models: train one (live progress from the `model` socket event, cancellable), list the
// versions with their evaluation, compare two side by side (figures, curves, F1, histograms,
// confusions), and activate one — or roll back to an earlier one — after a confirmation.

import { api } from './api.js';
import { $, badge, el, setChildren, setHidden, showText } from './dom.js';
import { confidenceHistogram, f1Bars, thresholdCurve } from './charts.js';
import { confirmDialog } from './dialogs.js';
import { formatDate } from './format.js';
import { pct } from './workbench.js';

const models = {
  list: [],
  serving: null,
  training: null,
  details: new Map(),    // id -> model with its evaluation (a finished model's evaluation does not change)
  compareA: null,
  compareB: null,
  bound: false,
  seq: 0,
  tick: null,            // redraws the elapsed time while a run is going
};

const FIGURES = [
  ['automation', 'Answered right', 'in-scope messages the bot answered with the right intent', 1],
  ['wrong_answer', 'Answered wrongly', 'all messages answered with a wrong intent (lower is better)', -1],
  ['oos_recall', 'Out of scope caught', 'out-of-scope messages the bot did not answer', 1],
  ['accuracy', 'Top-guess accuracy', "the model's first guess was the right intent", 1],
];

export function modelName(model) {
  return `#${model.id}`;
}

export async function loadModels() {
  bindOnce();
  const seq = ++models.seq;
  try {
    const data = await api('GET', '/api/models');
    if (seq !== models.seq) return;
    models.list = Array.isArray(data.models) ? data.models : [];
    models.serving = data.serving || null;
    if (data.training) models.training = { ...data.training, receivedAt: Date.now() };
    else if (models.training && !['done', 'failed', 'cancelled'].includes(models.training.stage)) models.training = null;
    await loadEvaluations();
    if (seq !== models.seq) return;
    renderProgress();
    renderTable();
    renderComparison();
  } catch (error) {
    showText($('models-error'), error.message);
  }
}

/** The evaluation of each finished model (the list leaves it out: it is the heavy part). */
async function loadEvaluations() {
  const wanted = models.list.filter((m) => m.status === 'ready' && !models.details.has(m.id)).slice(0, 12);
  const answers = await Promise.all(wanted.map((m) => api('GET', `/api/models/${m.id}`).catch(() => null)));
  for (const answer of answers) if (answer?.model) models.details.set(answer.model.id, answer.model);
  for (const m of models.list) {
    const known = models.details.get(m.id);
    if (known) models.details.set(m.id, { ...known, ...m, evaluation: known.evaluation });
  }
}

export function evaluatedModels() {
  return models.list.map((m) => models.details.get(m.id)).filter((m) => m?.evaluation?.curve);
}

function bindOnce() {
  if (models.bound) return;
  models.bound = true;
  $('train-form').addEventListener('submit', startTraining);
  $('compare-a').addEventListener('change', () => { models.compareA = Number($('compare-a').value) || null; renderComparison(); });
  $('compare-b').addEventListener('change', () => { models.compareB = Number($('compare-b').value) || null; renderComparison(); });
}

// ---- training -----------------------------------------------------------------------------

async function startTraining(event) {
  event.preventDefault();
  showText($('models-error'), '');
  setChildren($('models-problems'));
  $('train-start').disabled = true;
  $('training-stage').textContent = 'Starting…';
  try {
    const { model } = await api('POST', '/api/models/train', { config: $('train-config').value });
    models.training = { model_id: model.id, stage: 'preparing', components_done: 0, components_total: 0 };
    showText($('models-notice'), `Training model ${modelName(model)}…`);
    renderProgress();
    loadModels();
  } catch (error) {
    showText($('models-error'), error.message);
    const problems = error.data?.problems || [];
    setChildren($('models-problems'), ...problems.map((p) => el('li', { 'data-testid': 'train-problem' }, p.message)));
  } finally {
    $('train-start').disabled = Boolean(models.training && !finished(models.training));
  }
}

const finished = (progress) => ['done', 'failed', 'cancelled'].includes(progress?.stage);

/** `model` socket events: training progress, and activations (by anyone). */
export function onModelEvent(data) {
  if (data?.training) {
    const before = models.training;
    models.training = { ...data.training, receivedAt: Date.now() };
    renderProgress();
    if (finished(data.training) && !finished(before)) {
      const id = data.training.model_id;
      if (data.training.stage === 'done') showText($('models-notice'), `Model #${id} is trained and evaluated: compare it below, then activate it.`);
      if (data.training.stage === 'cancelled') showText($('models-notice'), `Training of model #${id} was cancelled.`);
      if (data.training.stage === 'failed') showText($('models-error'), `Training of model #${id} failed: ${data.training.message || 'no reason given'}`);
      models.compareB = data.training.stage === 'done' ? id : models.compareB;
      loadModels();
    }
  }
  if (data?.activated) loadModels();
}

function progressFraction(p) {
  if (p.stage === 'done') return 1;
  if (p.stage === 'evaluating') return 0.95;
  if (!p.components_total) return 0.02;
  const within = p.epochs ? (p.epoch || 0) / p.epochs : 0;
  return Math.min(0.9, ((p.components_done - 1 + within) / p.components_total) * 0.9 + 0.02);
}

function stageText(p) {
  const stage = {
    preparing: 'Preparing the data', training: 'Training', evaluating: 'Evaluating on the test set',
    done: 'Done', failed: 'Failed', cancelled: 'Cancelled',
  }[p.stage] || p.stage;
  const parts = [`Model #${p.model_id}: ${stage}`];
  if (p.stage === 'training' && p.components_total) parts.push(`component ${p.components_done} of ${p.components_total}${p.component ? ` (${p.component})` : ''}`);
  if (p.epochs) parts.push(`epoch ${p.epoch}/${p.epochs}`);
  if (typeof p.loss === 'number') parts.push(`loss ${p.loss.toFixed(3)}`);
  if (typeof p.elapsed_seconds === 'number') {
    // Progress lines are sparse (the trainer starts slowly): the clock keeps going between them.
    const since = finished(p) ? 0 : (Date.now() - (p.receivedAt || Date.now())) / 1000;
    parts.push(`${Math.round(p.elapsed_seconds + since)} s`);
  }
  return parts.join(' · ');
}

function renderProgress() {
  const p = models.training;
  clearTimeout(models.tick);
  if (p && !finished(p)) models.tick = setTimeout(renderProgress, 1000);
  const box = $('training-progress');
  setHidden(box, !p);
  $('train-start').disabled = Boolean(p && !finished(p));
  if (!p) return;
  const fraction = progressFraction(p);
  const bar = $('training-bar');
  bar.setAttribute('aria-valuenow', String(Math.round(fraction * 100)));
  bar.setAttribute('aria-valuetext', stageText(p));
  bar.dataset.stage = p.stage;
  $('training-fill').style.width = `${Math.round(fraction * 100)}%`;
  $('training-fill').className = `progress-fill stage-${p.stage}`;
  $('training-stage').textContent = stageText(p);
  showText($('training-message'), p.stage === 'failed' ? p.message || '' : '');
  const actions = $('training-actions');
  const wanted = finished(p) ? 'none' : `cancel-${p.model_id}`;
  if (actions.dataset.shows === wanted) return; // redrawn every second: keep the button (and its focus)
  actions.dataset.shows = wanted;
  setChildren(actions, finished(p) ? null : el('button', {
    type: 'button', class: 'btn btn-small', 'data-testid': 'train-cancel',
    onclick: async () => {
      try { await api('POST', `/api/models/${p.model_id}/cancel`); } catch (error) { showText($('models-error'), error.message); }
    },
  }, 'Cancel training'));
}

// ---- the versions -------------------------------------------------------------------------

function activeModel() {
  return models.list.find((m) => m.active) || null;
}

function renderTable() {
  const active = activeModel();
  const serving = models.serving;
  $('models-serving').textContent = serving
    ? `Serving customers: ${active ? `model #${active.id}` : 'the model the server started with'} (${serving.file}, ${serving.status}).`
    : '';
  setHidden($('models-empty'), models.list.length > 0);
  setChildren($('models-body'), ...models.list.map((model) => {
    const evaluation = models.details.get(model.id)?.evaluation;
    const overall = evaluation?.overall;
    return el('tr', { 'data-testid': 'model-row', 'data-model-id': model.id, 'data-status': model.status, class: model.active ? 'is-active' : '' },
      el('th', { scope: 'row' }, `#${model.id}`),
      el('td', {}, badge(model.active ? 'active' : model.status, `model-${model.active ? 'active' : model.status}`, 'model-status'),
        model.error ? el('div', { class: 'model-error small', 'data-testid': 'model-error' }, model.error) : null,
        evaluation?.error ? el('div', { class: 'model-error small' }, `No evaluation: ${evaluation.error}`) : null),
      el('td', {}, model.created_by || '—'),
      el('td', {}, formatDate(model.created_at)),
      el('td', {}, el('code', {}, model.config)),
      ...FIGURES.map(([key]) => el('td', { class: 'num', 'data-figure': key }, pct(overall?.[key]))),
      el('td', {}, renderModelActions(model, active)));
  }));
  fillCompareSelects();
}

function renderModelActions(model, active) {
  if (model.status !== 'ready' || model.active) return null;
  const older = active && model.id < active.id;
  return el('button', {
    type: 'button', class: `btn btn-small${older ? '' : ' btn-primary'}`, 'data-testid': 'model-activate',
    onclick: () => activate(model, older),
  }, older ? `Roll back to #${model.id}` : 'Activate');
}

async function activate(model, rollback) {
  const active = activeModel();
  const overall = models.details.get(model.id)?.evaluation?.overall;
  const ok = await confirmDialog({
    title: rollback ? `Roll back to model #${model.id}?` : `Activate model #${model.id}?`,
    body: [
      `It answers customers from the next message on, without a restart${active ? `; model #${active.id} stops serving and can be activated again any time` : ''}.`,
      overall ? `On the test set it answers ${pct(overall.automation)} right and ${pct(overall.wrong_answer)} wrongly.` : 'It has no evaluation.',
    ],
    confirmLabel: rollback ? 'Roll back' : 'Activate',
  });
  if (!ok) return;
  showText($('models-error'), '');
  showText($('models-notice'), `Loading model #${model.id}…`);
  try {
    await api('POST', `/api/models/${model.id}/activate`);
    showText($('models-notice'), `Model #${model.id} is now answering customers.`);
  } catch (error) {
    showText($('models-notice'), '');
    showText($('models-error'), error.message);
  }
  loadModels();
}

// ---- comparing ----------------------------------------------------------------------------

function fillCompareSelects() {
  const evaluated = evaluatedModels();
  const active = activeModel();
  const ids = evaluated.map((m) => m.id);
  if (!ids.includes(models.compareA)) models.compareA = active && ids.includes(active.id) ? active.id : ids[1] ?? ids[0] ?? null;
  if (!ids.includes(models.compareB) || models.compareB === models.compareA) models.compareB = ids.find((id) => id !== models.compareA) ?? null;
  const options = (chosen) => [el('option', { value: '' }, '—'), ...evaluated.map((m) => el('option', { value: m.id, selected: m.id === chosen },
    `#${m.id}${m.active ? ' (active)' : ''} · ${formatDate(m.created_at)}`))];
  setChildren($('compare-a'), ...options(models.compareA));
  setChildren($('compare-b'), ...options(models.compareB));
  $('compare-a').value = models.compareA ?? '';
  $('compare-b').value = models.compareB ?? '';
}

function renderComparison() {
  const shown = [models.compareA, models.compareB].filter((id, i, all) => id && all.indexOf(id) === i)
    .map((id) => models.details.get(id)).filter((m) => m?.evaluation?.curve);
  const out = $('compare-body');
  if (!shown.length) {
    setChildren(out, el('p', { class: 'empty' }, 'No evaluated model yet: train one.'));
    return;
  }
  const named = shown.map((m) => ({ ...m.evaluation, name: `#${m.id}${m.active ? ' (active)' : ''}` }));
  setChildren(out,
    renderFigures(shown),
    el('div', { class: 'chart-row' },
      el('section', { class: 'chart-card', 'aria-label': 'Handoff curve' },
        el('h4', {}, 'Answered right and wrongly, by threshold'),
        thresholdCurve({
          models: named,
          markers: shown.map((m, i) => ({ threshold: m.evaluation.chosen?.threshold, label: `#${m.id} picks`, colour: i ? '#d9480f' : '#2453d6', dash: true })),
        })),
      el('section', { class: 'chart-card', 'aria-label': 'F1 per intent' },
        el('h4', {}, 'F1 per intent (weakest first)'),
        el('div', { class: 'scroll-y' }, f1Bars({ models: named })))),
    el('div', { class: 'chart-row' }, ...named.map((evaluation) => el('section', { class: 'chart-card', 'aria-label': `Confidence of ${evaluation.name}` },
      el('h4', {}, `Confidence of ${evaluation.name}`),
      confidenceHistogram({ name: evaluation.name, histogram: evaluation.histogram, testid: 'chart-histogram' }),
      renderConfusions(evaluation)))));
}

function renderFigures(shown) {
  const [a, b] = shown;
  return el('table', { class: 'table figures', 'data-testid': 'compare-figures' },
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'On the test set'),
      ...shown.map((m) => el('th', { scope: 'col', class: 'num' }, `#${m.id}${m.active ? ' (active)' : ''}`)),
      b ? el('th', { scope: 'col', class: 'num' }, 'change') : null)),
    el('tbody', {}, ...FIGURES.map(([key, label, help, better]) => {
      const va = a.evaluation.overall?.[key];
      const vb = b?.evaluation.overall?.[key];
      const delta = typeof va === 'number' && typeof vb === 'number' ? vb - va : null;
      const verdict = delta === null || Math.abs(delta) < 0.0005 ? 'same' : delta * better > 0 ? 'better' : 'worse';
      return el('tr', { 'data-figure': key },
        el('th', { scope: 'row', title: help }, label),
        ...shown.map((m) => el('td', { class: 'num' }, pct(m.evaluation.overall?.[key]))),
        b ? el('td', { class: `num delta-${verdict}`, 'data-testid': 'figure-change' },
          delta === null ? '–' : `${delta >= 0 ? '+' : '−'}${(Math.abs(delta) * 100).toFixed(1)} pts`) : null);
    }),
    el('tr', {}, el('th', { scope: 'row' }, 'Threshold for ≤ 2% wrong'),
      ...shown.map((m) => el('td', { class: 'num' }, m.evaluation.chosen?.threshold ?? '–')), b ? el('td') : null),
    el('tr', {}, el('th', { scope: 'row' }, 'Test messages'),
      ...shown.map((m) => el('td', { class: 'num' }, `${m.evaluation.test_set?.messages ?? '–'} (${m.evaluation.test_set?.out_of_scope ?? 0} out of scope)`)),
      b ? el('td') : null)));
}

function renderConfusions(evaluation) {
  const rows = (evaluation.confusions || []).slice(0, 6);
  if (!rows.length) return el('p', { class: 'muted small' }, 'No confusions on the test set.');
  return el('table', { class: 'table small', 'data-testid': 'confusions' },
    el('caption', { class: 'muted small' }, 'Most frequent confusions'),
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'really'), el('th', { scope: 'col' }, 'taken for'), el('th', { scope: 'col', class: 'num' }, 'times'))),
    el('tbody', {}, ...rows.map((c) => el('tr', {}, el('td', {}, c.truth), el('td', {}, c.predicted), el('td', { class: 'num' }, String(c.count))))));
}

/** For the settings screen: the active model's evaluation, else the newest evaluated one. */
export async function evaluationForSettings() {
  if (!models.list.length) await loadModels();
  const evaluated = evaluatedModels();
  return evaluated.find((m) => m.active) || evaluated[0] || null;
}
