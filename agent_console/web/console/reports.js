// The reports screen (admins): conversations per day and the bot's share, handoffs by reason,
// time to the first agent reply, resolution time and satisfaction — per day and per agent.

import { api } from './api.js';
import { barChart, hbarChart } from './charts.js';
import { handoffReasonLabel } from './config.js';
import { $, el, setChildren, showText } from './dom.js';
import { agentName } from './format.js';

function minutes(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${(seconds / 60).toFixed(seconds < 600 ? 1 : 0)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function percent(share) {
  return share === null || share === undefined ? '—' : `${Math.round(share * 100)}%`;
}

function card(title, ...children) {
  return el('section', { class: 'card report-card' }, el('h3', {}, title), ...children);
}

export async function loadReports(event) {
  event?.preventDefault();
  showText($('reports-error'), '');
  const params = new URLSearchParams();
  if ($('reports-from').value) params.set('from', $('reports-from').value);
  if ($('reports-to').value) params.set('to', $('reports-to').value);
  try {
    renderReports(await api('GET', `/api/reports?${params}`));
  } catch (error) {
    showText($('reports-error'), error.message);
  }
}

function renderReports(report) {
  $('reports-from').value = report.from;
  $('reports-to').value = report.to;
  const days = report.days || [];
  const labels = days.map((d) => d.day);
  const totals = report.totals || {};
  const reasons = Object.entries(totals.handoffs || {}).sort((a, b) => b[1] - a[1]);
  setChildren($('reports-body'),
    el('div', { class: 'report-figures', 'data-testid': 'report-totals' },
      figure('Conversations', totals.conversations ?? 0, 'total-conversations'),
      figure('Handled by the bot end to end', percent(totals.bot_share), 'total-bot-share'),
      figure('Time to first agent reply (median)', minutes(totals.first_reply_seconds), 'total-first-reply'),
      figure('Resolution time (median)', minutes(totals.resolution_seconds), 'total-resolution'),
      figure('Satisfaction', totals.satisfaction ? `${totals.satisfaction.toFixed(1)} / 5 (${totals.ratings})` : '—',
        'total-satisfaction')),
    card('Conversations per day',
      barChart({ labels, title: 'Conversations per day: by the bot alone, and handed to people', testid: 'chart-conversations',
        series: [
          { name: 'bot end to end', color: '#16a34a', values: days.map((d) => d.bot_only) },
          { name: 'handed to people', color: '#f59e0b', values: days.map((d) => d.conversations - d.bot_only) },
        ] }),
      legend([['#16a34a', 'bot end to end'], ['#f59e0b', 'handed to people']])),
    card('Handoffs by reason', reasons.length
      ? hbarChart({ title: 'Handoffs by reason', testid: 'chart-reasons',
        rows: reasons.map(([reason, count]) => ({ label: handoffReasonLabel(reason), value: count })) })
      : el('p', { class: 'muted' }, 'No handoffs in this period.')),
    card('Time to first agent reply (median per day)',
      barChart({ labels, title: 'Time to first agent reply', testid: 'chart-first-reply', format: minutes,
        series: [{ name: 'first reply', color: '#2453d6', values: days.map((d) => d.first_reply_seconds) }] })),
    card('Resolution time (median per day)',
      barChart({ labels, title: 'Resolution time', testid: 'chart-resolution', format: minutes,
        series: [{ name: 'resolution', color: '#7c3aed', values: days.map((d) => d.resolution_seconds) }] })),
    card('Satisfaction (average per day, 1–5)',
      barChart({ labels, title: 'Satisfaction', testid: 'chart-satisfaction', format: (v) => Number(v).toFixed(1),
        series: [{ name: 'satisfaction', color: '#d97706', values: days.map((d) => d.satisfaction) }] })),
    card('Per agent', agentTable(report.agents || [])));
}

function figure(label, value, testid) {
  return el('div', { class: 'report-figure' }, el('div', { class: 'report-value', 'data-testid': testid }, String(value)),
    el('div', { class: 'muted' }, label));
}

function legend(items) {
  return el('div', { class: 'chart-legend' }, ...items.map(([color, name]) => el('span', {},
    el('span', { class: 'legend-swatch', style: `background:${color}` }), name)));
}

function agentTable(agents) {
  if (!agents.length) return el('p', { class: 'muted' }, 'No agent activity in this period.');
  return el('table', { class: 'table', 'data-testid': 'report-agents' },
    el('thead', {}, el('tr', {}, ...['Agent', 'Resolved', 'First reply (median)', 'Resolution (median)', 'Satisfaction']
      .map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, ...agents.map((row) => el('tr', { 'data-testid': 'report-agent', 'data-agent-id': row.agent?.id },
      el('td', {}, agentName(row.agent)),
      el('td', {}, String(row.resolved ?? 0)),
      el('td', {}, minutes(row.first_reply_seconds)),
      el('td', {}, minutes(row.resolution_seconds)),
      el('td', { 'data-testid': 'report-agent-satisfaction' },
        row.satisfaction ? `${row.satisfaction.toFixed(1)} (${row.ratings})` : '—')))));
}

export function bindReports() {
  $('reports-form').addEventListener('submit', loadReports);
}
