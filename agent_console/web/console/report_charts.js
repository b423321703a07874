// Small SVG charts built with createElementNS and textContent (no library, no innerHTML):
// vertical bars per day (stacked when there are several series) and horizontal bars.

const SVG = 'http://www.w3.org/2000/svg';

function svgEl(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== null) node.textContent = String(text);
  return node;
}

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
  const svg = svgEl('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': title,
    class: 'chart', 'data-testid': testid || 'chart' });
  svg.append(svgEl('title', {}, title));
  for (const fraction of [0, 0.5, 1]) {
    const y = top + plot - plot * fraction;
    svg.append(svgEl('line', { x1: left, x2: width - 8, y1: y, y2: y, class: 'chart-grid' }));
    svg.append(svgEl('text', { x: left - 6, y: y + 4, 'text-anchor': 'end', class: 'chart-axis' }, format(max * fraction)));
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
      const bar = svgEl('rect', { x, y: base, width: slot * 0.7, height: h, fill: s.color, 'data-value': value,
        'data-series': s.name, 'data-label': label, class: 'chart-bar' });
      bar.append(svgEl('title', {}, `${label} · ${s.name}: ${format(value)}`));
      svg.append(bar);
    }
    if (labels.length <= 16 || i % Math.ceil(labels.length / 16) === 0) {
      svg.append(svgEl('text', { x: x + slot * 0.35, y: height - bottom + 14, 'text-anchor': 'middle', class: 'chart-axis' },
        label.slice(5)));
    }
  });
  return svg;
}

/** One horizontal bar per row: [{label, value}]. */
export function hbarChart({ rows, title, color = '#2453d6', testid, format = (v) => String(v) }) {
  const rowHeight = 22;
  const width = 460;
  const left = 190;
  const height = Math.max(rowHeight, rows.length * rowHeight) + 8;
  const max = niceMax(Math.max(0, ...rows.map((r) => r.value)));
  const svg = svgEl('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': title,
    class: 'chart', 'data-testid': testid || 'chart' });
  svg.append(svgEl('title', {}, title));
  rows.forEach((row, i) => {
    const y = 4 + i * rowHeight;
    svg.append(svgEl('text', { x: left - 8, y: y + 14, 'text-anchor': 'end', class: 'chart-axis' }, row.label));
    const w = ((width - left - 50) * row.value) / max;
    const bar = svgEl('rect', { x: left, y: y + 3, width: Math.max(w, 1), height: rowHeight - 8, fill: color,
      'data-value': row.value, 'data-label': row.label, class: 'chart-bar' });
    bar.append(svgEl('title', {}, `${row.label}: ${format(row.value)}`));
    svg.append(bar);
    svg.append(svgEl('text', { x: left + w + 6, y: y + 14, class: 'chart-axis' }, format(row.value)));
  });
  return svg;
}
