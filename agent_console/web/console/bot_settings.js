// Bot settings: the handoff policy's knobs (threshold, ambiguity margin, misses before a
// handoff, always-human intents, keywords), saved to the server and applied to the next
// message. The threshold can be picked on a model's measured curve: click the curve, or give
// a target wrong-answer rate and the screen picks the threshold that answers the most within it.

import { api } from './api.js';
import { $, el, setChildren, showText } from './dom.js';
import { thresholdCurve } from './charts.js';
import { evaluationForSettings } from './models.js';
import { pct, pickable, workbench, loadCatalogue } from './workbench.js';

const bs = {
  current: null,     // the server's settings
  model: null,       // the model whose curve is shown
  picked: null,      // a threshold picked on the curve (not saved yet)
  saving: false,     // our own save's event may arrive before its answer
  bound: false,
};

const NUMBERS = ['confidence_threshold', 'ambiguity_margin', 'review_margin', 'max_consecutive_misses'];

export async function loadBotSettings() {
  bindOnce();
  showText($('settings-error'), '');
  try {
    const [{ settings }] = await Promise.all([
      api('GET', '/api/settings/handoff'),
      workbench.intents.length ? null : loadCatalogue().catch(() => null),
    ]);
    bs.current = settings;
    fillForm(settings);
  } catch (error) {
    showText($('settings-error'), error.message);
    return;
  }
  try {
    bs.model = await evaluationForSettings();
  } catch { bs.model = null; }
  renderCurve();
}

function bindOnce() {
  if (bs.bound) return;
  bs.bound = true;
  $('settings-form').addEventListener('submit', saveSettings);
  $('settings-form').addEventListener('input', () => { $('settings-form').dataset.dirty = 'true'; });
  $('setting-threshold').addEventListener('input', () => { bs.picked = Number($('setting-threshold').value); renderCurve(); });
  $('target-form').addEventListener('submit', pickForTarget);
}

function fillForm(settings) {
  for (const key of NUMBERS) $(`setting-${key.replace(/_/g, '-').replace('confidence-', '')}`).value = String(settings[key]);
  $('setting-keywords').value = (settings.business_rule_keywords || []).join('\n');
  const chosen = new Set(settings.always_human_intents || []);
  const names = [...new Set([...pickable(workbench.intents), ...chosen])].sort();
  setChildren($('setting-always-human'), ...names.map((name) => el('label', { class: 'check' },
    el('input', { type: 'checkbox', value: name, checked: chosen.has(name), 'data-testid': 'always-human', 'data-intent': name }),
    ` ${name}`)));
  const overridden = settings.overridden || [];
  $('settings-overridden').textContent = overridden.length
    ? `Changed in the console (overriding the configuration): ${overridden.join(', ')}.`
    : 'All values come from the configuration file and environment.';
  $('settings-form').dataset.dirty = 'false';
  bs.picked = null;
}

function formValues() {
  return {
    confidence_threshold: Number($('setting-threshold').value),
    ambiguity_margin: Number($('setting-ambiguity-margin').value),
    review_margin: Number($('setting-review-margin').value),
    max_consecutive_misses: Number($('setting-max-consecutive-misses').value),
    always_human_intents: [...$('setting-always-human').querySelectorAll('input:checked')].map((i) => i.value),
    business_rule_keywords: $('setting-keywords').value.split('\n').map((k) => k.trim()).filter(Boolean),
  };
}

async function saveSettings(event) {
  event.preventDefault();
  const values = formValues();
  const changes = {};
  for (const [key, value] of Object.entries(values)) {
    if (JSON.stringify(value) !== JSON.stringify(bs.current?.[key])) changes[key] = value;
  }
  showText($('settings-error'), '');
  if (!Object.keys(changes).length) {
    showText($('settings-notice'), 'Nothing changed.');
    return;
  }
  bs.saving = true;
  try {
    const { settings } = await api('PUT', '/api/settings/handoff', changes);
    bs.current = settings;
    fillForm(settings);
    renderCurve();
    showText($('settings-notice'), `Saved ${Object.keys(changes).join(', ')}: the bot uses them from the next message.`);
  } catch (error) {
    showText($('settings-error'), error.message);
  } finally {
    bs.saving = false;
  }
}

/** `settings` socket event: someone saved settings (maybe this trainer). */
export function onSettingsEvent(settings) {
  if (!settings || typeof settings !== 'object') return;
  const mine = bs.saving || JSON.stringify(settings) === JSON.stringify(bs.current);
  bs.current = settings;
  if (!bs.bound) return;
  if ($('settings-form').dataset.dirty !== 'true' && !bs.saving) {
    fillForm(settings);
    renderCurve();
  }
  if (!mine) showText($('settings-notice'), 'Another trainer changed the settings; the form shows them now.');
}

// ---- the curve ----------------------------------------------------------------------------

function pointAt(threshold) {
  const curve = bs.model?.evaluation?.curve || [];
  return curve.reduce((best, p) => (!best || Math.abs(p.threshold - threshold) < Math.abs(best.threshold - threshold) ? p : best), null);
}

function pick(threshold) {
  bs.picked = threshold;
  $('setting-threshold').value = String(threshold);
  $('settings-form').dataset.dirty = 'true';
  renderCurve();
}

function pickForTarget(event) {
  event.preventDefault();
  const target = Number($('target-wrong').value) / 100;
  const curve = bs.model?.evaluation?.curve || [];
  if (!curve.length || !Number.isFinite(target)) return;
  // The same rule as the server's evaluation: the most answered within the target, then the lowest threshold.
  const safe = curve.filter((p) => p.wrong_answer <= target);
  if (!safe.length) {
    showText($('pick-result'), `No threshold keeps wrong answers at or under ${pct(target)} on this test set.`);
    return;
  }
  const best = safe.reduce((a, b) => (b.automation > a.automation || (b.automation === a.automation && b.threshold < a.threshold) ? b : a));
  pick(best.threshold);
}

function renderCurve() {
  const box = $('settings-curve');
  const model = bs.model;
  if (!model) {
    setChildren(box, el('p', { class: 'empty' }, 'Train a model to see its curve and pick the threshold on it.'));
    showText($('pick-result'), '');
    return;
  }
  const current = bs.current?.confidence_threshold;
  const markers = [{ threshold: current, label: 'now', colour: '#1b1f24' }];
  if (bs.picked !== null && bs.picked !== current) markers.push({ threshold: bs.picked, label: 'picked', colour: '#d9480f', dash: true });
  setChildren(box,
    el('p', { class: 'muted small' }, `Measured for model #${model.id}${model.active ? ' (active)' : ''} on ${model.evaluation.test_set?.messages ?? '?'} test messages. Click the curve to pick a threshold.`),
    thresholdCurve({ models: [{ ...model.evaluation, name: `#${model.id}` }], markers, onPick: pick, testid: 'settings-curve-chart' }));
  const shownAt = bs.picked ?? current;
  const point = typeof shownAt === 'number' ? pointAt(shownAt) : null;
  const where = point && Math.abs(point.threshold - shownAt) > 0.001
    ? `Measured at ${point.threshold.toFixed(2)}, the nearest point to ${shownAt}, this model answers`
    : `At threshold ${point?.threshold.toFixed(2)} this model answers`;
  showText($('pick-result'), point
    ? `${where} ${pct(point.automation)} of in-scope messages right and ${pct(point.wrong_answer)} of all messages `
      + `wrongly${bs.picked !== null && bs.picked !== current ? ' — save to apply it' : ''}.`
    : '');
}
