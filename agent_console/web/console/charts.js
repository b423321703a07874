// Charts as inline SVG, built node by node (no library, no innerHTML). For the workbench: the
// handoff curve (automation and wrong answers against the threshold), per-intent F1 bars and the
// confidence histogram. For the reports: bars per day (stacked when there are several series)
// and horizontal bars. Each chart is an <svg role="img"> with a label that says what it shows.

import { el } from './dom.js';

const SVG = 'http://www.w3.org/2000/svg';

export const COLOURS = ['#2453d6', '#d9480f', '#1a7f37', '#7048e8'];
const GOOD = '#1a7f37';
const BAD = '#c92a2a';
const GRID = '#e3e7ed';
const INK = '#5b6470';

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined && value !== false) node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function text(x, y, words, attrs = {}) {
  return svg('text', { x, y, fill: INK, 'font-size': 11, ...attrs }, words);
}

const pct = (v) => `${Math.round(v * 100)}%`;

/** The next round number (1, 2 or 5 times a power of ten, times four ticks) at or above `value`. */
function niceCeiling(value) {
  const step = value / 4;
  const power = 10 ** Math.floor(Math.log10(step));
  const nice = [1, 2, 5, 10].map((f) => f * power).find((s) => s >= step);
  return nice * 4;
}

function frame(width, height, label, testid) {
  return svg('svg', {
    viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': label, 'data-testid': testid,
    class: 'chart', 'font-family': 'system-ui, sans-serif',
  }, svg('title', {}, label));
}

function legend(items) {
  return el('ul', { class: 'legend' }, ...items.map((item) => el('li', {},
    el('span', { class: `swatch${item.dash ? ' swatch-dashed' : ''}`, style: `border-color:${item.colour};background:${item.dash ? 'transparent' : item.colour}` }),
    item.label)));
}

/**
 * The handoff curve. `models`: [{name, curve: [{threshold, automation, wrong_answer}]}], one colour
 * each; automation is drawn solid against the left axis, wrong answers dashed against the right
 * one (they are a few percent, and would vanish on the same scale). `markers`: vertical lines
 * [{threshold, label, colour}]. `onPick(threshold)`: a click picks the nearest measured threshold.
 */
export function thresholdCurve({ models, markers = [], onPick = null, width = 460, height = 250, testid = 'chart-curve' }) {
  const m = { l: 56, r: 58, t: 14, b: 36 };
  const w = width - m.l - m.r;
  const h = height - m.t - m.b;
  const points = models.flatMap((model) => model.curve || []);
  const worst = Math.max(0.05, ...points.map((p) => p.wrong_answer || 0));
  const wrongMax = Math.ceil(worst * 1.15 * 20) / 20; // up to the next 5%
  const x = (t) => m.l + t * w;
  const yLeft = (v) => m.t + (1 - v) * h;
  const yRight = (v) => m.t + (1 - v / wrongMax) * h;
  const names = models.map((model) => model.name).join(' and ');
  const chart = frame(width, height, `Handoff curve of ${names}: share of in-scope messages answered right (solid, left axis) `
    + 'and share of all messages answered wrongly (dashed, right axis) against the confidence threshold', testid);

  for (let i = 0; i <= 5; i += 1) {
    const v = i / 5;
    chart.append(svg('line', { x1: m.l, x2: m.l + w, y1: yLeft(v), y2: yLeft(v), stroke: GRID }),
      text(m.l - 6, yLeft(v) + 4, pct(v), { 'text-anchor': 'end' }),
      text(m.l + w + 6, yLeft(v) + 4, pct(wrongMax * v), { 'text-anchor': 'start' }),
      text(x(v), m.t + h + 14, v.toFixed(1), { 'text-anchor': 'middle' }));
  }
  chart.append(
    svg('rect', { x: m.l, y: m.t, width: w, height: h, fill: 'none', stroke: '#c3c9d2' }),
    text(m.l + w / 2, height - 4, 'confidence threshold', { 'text-anchor': 'middle' }),
    text(14, m.t + h / 2, 'answered right', { 'text-anchor': 'middle', transform: `rotate(-90 14 ${m.t + h / 2})` }),
    text(width - 12, m.t + h / 2, 'answered wrongly', { 'text-anchor': 'middle', transform: `rotate(90 ${width - 12} ${m.t + h / 2})` }));

  const line = (curve, y, key, colour, dash, label) => svg('polyline', {
    points: curve.map((p) => `${x(p.threshold).toFixed(1)},${y(p[key] || 0).toFixed(1)}`).join(' '),
    fill: 'none', stroke: colour, 'stroke-width': 2, 'stroke-dasharray': dash ? '5 4' : null, 'data-series': label,
  });
  const legendItems = [];
  models.forEach((model, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const curve = [...(model.curve || [])].sort((a, b) => a.threshold - b.threshold);
    chart.append(line(curve, yLeft, 'automation', colour, false, `${model.name} automation`),
      line(curve, yRight, 'wrong_answer', colour, true, `${model.name} wrong answers`));
    legendItems.push({ label: `${model.name}: answered right`, colour }, { label: `${model.name}: answered wrongly`, colour, dash: true });
  });
  for (const marker of markers) {
    if (typeof marker.threshold !== 'number') continue;
    chart.append(svg('line', {
      x1: x(marker.threshold), x2: x(marker.threshold), y1: m.t, y2: m.t + h, stroke: marker.colour || '#1b1f24',
      'stroke-width': 1.5, 'stroke-dasharray': marker.dash ? '2 3' : null, 'data-marker': marker.label,
    }), text(x(marker.threshold) + 3, m.t + 11 + 12 * markers.indexOf(marker), `${marker.label} ${marker.threshold.toFixed(2)}`,
      { fill: marker.colour || '#1b1f24' }));
  }
  if (onPick) {
    const thresholds = [...new Set(points.map((p) => p.threshold))].sort((a, b) => a - b);
    const hit = svg('rect', { x: m.l, y: m.t, width: w, height: h, fill: 'transparent', 'data-testid': `${testid}-pick`, cursor: 'crosshair' });
    hit.addEventListener('click', (event) => {
      const box = chart.getBoundingClientRect();
      const at = ((event.clientX - box.left) * (width / box.width) - m.l) / w;
      const nearest = thresholds.reduce((best, t) => (Math.abs(t - at) < Math.abs(best - at) ? t : best), thresholds[0]);
      if (nearest !== undefined) onPick(nearest);
    });
    chart.append(hit);
  }
  return el('figure', { class: 'chart-box' }, chart, legend(legendItems));
}

/** Per-intent F1 as horizontal bars; several models give grouped bars per intent. */
export function f1Bars({ models, width = 460, testid = 'chart-f1' }) {
  const names = [...new Set(models.flatMap((model) => (model.intents || []).map((r) => r.intent)))];
  const value = (model, intent) => (model.intents || []).find((r) => r.intent === intent)?.f1;
  // Weakest first (of the first model): what needs examples comes to the top.
  names.sort((a, b) => (value(models[0], a) ?? 2) - (value(models[0], b) ?? 2) || a.localeCompare(b));
  const bar = 9;
  const row = bar * models.length + 6;
  const m = { l: 150, r: 40, t: 8, b: 22 };
  const w = width - m.l - m.r;
  const height = m.t + m.b + row * names.length;
  const chart = frame(width, height, `F1 per intent of ${models.map((x) => x.name).join(' and ')}, weakest first`, testid);
  for (let i = 0; i <= 4; i += 1) {
    const gx = m.l + (i / 4) * w;
    chart.append(svg('line', { x1: gx, x2: gx, y1: m.t, y2: height - m.b, stroke: GRID }),
      text(gx, height - 8, (i / 4).toFixed(2), { 'text-anchor': 'middle' }));
  }
  names.forEach((intent, r) => {
    const top = m.t + r * row;
    chart.append(text(m.l - 6, top + row / 2 + 3, intent.length > 24 ? `${intent.slice(0, 23)}…` : intent, { 'text-anchor': 'end', fill: '#1b1f24' }));
    models.forEach((model, i) => {
      const v = value(model, intent);
      if (typeof v !== 'number') return;
      chart.append(svg('rect', {
        x: m.l, y: top + i * bar + 2, width: Math.max(1, v * w), height: bar - 2, fill: COLOURS[i % COLOURS.length],
        'data-intent': intent,
      }, svg('title', {}, `${model.name} ${intent}: F1 ${v.toFixed(2)}`)));
      if (models.length === 1) chart.append(text(m.l + v * w + 4, top + i * bar + bar, v.toFixed(2)));
    });
  });
  return el('figure', { class: 'chart-box' }, chart,
    models.length > 1 ? legend(models.map((model, i) => ({ label: model.name, colour: COLOURS[i % COLOURS.length] }))) : null);
}

/** How confident the model was, split into right and wrong top guesses (stacked, per 0.1 bin). */
export function confidenceHistogram({ name, histogram, width = 460, height = 200, testid = 'chart-histogram' }) {
  const right = histogram?.correct || [];
  const wrong = histogram?.wrong || [];
  const bins = Math.max(right.length, wrong.length, 10);
  const m = { l: 40, r: 10, t: 10, b: 34 };
  const w = width - m.l - m.r;
  const h = height - m.t - m.b;
  const top = niceCeiling(Math.max(1, ...right.map((c, i) => c + (wrong[i] || 0))));
  const chart = frame(width, height, `Confidence of ${name}'s top guess: right guesses (green) and wrong ones (red) per band`, testid);
  for (let i = 0; i <= 4; i += 1) {
    const v = (top * i) / 4;
    const gy = m.t + h - (v / top) * h;
    chart.append(svg('line', { x1: m.l, x2: m.l + w, y1: gy, y2: gy, stroke: GRID }), text(m.l - 6, gy + 4, v, { 'text-anchor': 'end' }));
  }
  const slot = w / bins;
  for (let i = 0; i < bins; i += 1) {
    const ok = right[i] || 0;
    const bad = wrong[i] || 0;
    const bx = m.l + i * slot + 2;
    const okH = (ok / top) * h;
    const badH = (bad / top) * h;
    chart.append(
      svg('rect', { x: bx, y: m.t + h - okH, width: slot - 4, height: okH, fill: GOOD }, svg('title', {}, `${(i / 10).toFixed(1)}–${((i + 1) / 10).toFixed(1)}: ${ok} right`)),
      svg('rect', { x: bx, y: m.t + h - okH - badH, width: slot - 4, height: badH, fill: BAD }, svg('title', {}, `${(i / 10).toFixed(1)}–${((i + 1) / 10).toFixed(1)}: ${bad} wrong`)));
  }
  for (let i = 0; i <= bins; i += 2) chart.append(text(m.l + i * slot, m.t + h + 14, (i / bins).toFixed(1), { 'text-anchor': 'middle' }));
  chart.append(text(m.l + w / 2, height - 4, 'confidence of the top guess', { 'text-anchor': 'middle' }));
  return el('figure', { class: 'chart-box' }, chart, legend([{ label: 'right', colour: GOOD }, { label: 'wrong', colour: BAD }]));
}

// ---- reports ----------------------------------------------------------------------------

/** The next 1, 2 or 5 times a power of ten at or above `value` (1 when there is nothing). */
function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 5, 10].find((s) => s * power >= value) * power;
  return step;
}

/**
 * Bars per label; `series` = [{name, color, values}] stacked bottom-up. Nulls draw nothing.
 * `format` turns a value into the text of its tooltip and the axis.
 */
export function barChart({ labels, series, title, format = (v) => String(v), height = 180, testid }) {
  const width = Math.max(320, labels.length * 34 + 60);
  const top = 12;
  const bottom = 34;
  const left = 44;
  const plot = height - top - bottom;
  const totals = labels.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] || 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': title,
    class: 'chart', 'data-testid': testid || 'chart' });
  chart.append(svg('title', {}, title));
  for (const fraction of [0, 0.5, 1]) {
    const y = top + plot - plot * fraction;
    chart.append(svg('line', { x1: left, x2: width - 8, y1: y, y2: y, class: 'chart-grid' }));
    chart.append(svg('text', { x: left - 6, y: y + 4, 'text-anchor': 'end', class: 'chart-axis' }, format(max * fraction)));
  }
  const slot = (width - left - 8) / Math.max(labels.length, 1);
  labels.forEach((label, i) => {
    const x = left + slot * i + slot * 0.15;
    let base = top + plot;
    for (const s of series) {
      const value = s.values[i];
      if (value === null || value === undefined || value <= 0) continue;
      const h = (value / max) * plot;
      base -= h;
      const bar = svg('rect', { x, y: base, width: slot * 0.7, height: h, fill: s.color, 'data-value': value,
        'data-series': s.name, 'data-label': label, class: 'chart-bar' });
      bar.append(svg('title', {}, `${label} · ${s.name}: ${format(value)}`));
      chart.append(bar);
    }
    if (labels.length <= 16 || i % Math.ceil(labels.length / 16) === 0) {
      chart.append(svg('text', { x: x + slot * 0.35, y: height - bottom + 14, 'text-anchor': 'middle', class: 'chart-axis' },
        label.slice(5)));
    }
  });
  return chart;
}

/** One horizontal bar per row: [{label, value}]. */
export function hbarChart({ rows, title, color = '#2453d6', testid, format = (v) => String(v) }) {
  const rowHeight = 22;
  const width = 460;
  const left = 190;
  const height = Math.max(rowHeight, rows.length * rowHeight) + 8;
  const max = niceMax(Math.max(0, ...rows.map((r) => r.value)));
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': title,
    class: 'chart', 'data-testid': testid || 'chart' });
  chart.append(svg('title', {}, title));
  rows.forEach((row, i) => {
    const y = 4 + i * rowHeight;
    chart.append(svg('text', { x: left - 8, y: y + 14, 'text-anchor': 'end', class: 'chart-axis' }, row.label));
    const w = ((width - left - 50) * row.value) / max;
    const bar = svg('rect', { x: left, y: y + 3, width: Math.max(w, 1), height: rowHeight - 8, fill: color,
      'data-value': row.value, 'data-label': row.label, class: 'chart-bar' });
    bar.append(svg('title', {}, `${row.label}: ${format(row.value)}`));
    chart.append(bar);
    chart.append(svg('text', { x: left + w + 6, y: y + 14, class: 'chart-axis' }, format(row.value)));
  });
  return chart;
}
