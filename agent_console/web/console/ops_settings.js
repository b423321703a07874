// Operations settings (admins): business hours, the wait, auto-assignment, tag rules, the widget's
// texts and colour defaults — stored on the server, applied at once, audited. And the audit log.

import { api } from './api.js';
import { $, el, setChildren, showText } from './dom.js';
import { formatDate } from './format.js';

const DAYS = [['mon', 'Monday'], ['tue', 'Tuesday'], ['wed', 'Wednesday'], ['thu', 'Thursday'], ['fri', 'Friday'],
  ['sat', 'Saturday'], ['sun', 'Sunday']];
// The sentences a waiting customer reads that admins most often reword (all are settable over the API).
const TEXTS = [['handoff', 'Handoff, someone is in'], ['handoff_nobody_online', 'Handoff, nobody online'],
  ['handoff_closed', 'Handoff, outside business hours'], ['long_wait_offer', 'After the maximum wait'],
  ['waiting_headline', 'Widget header while waiting'], ['waiting_detail', 'Widget banner while waiting']];
let loaded = null;

function field(label, input) {
  return el('label', {}, label, input);
}

export async function loadOperations() {
  try {
    const { settings } = await api('GET', '/api/settings/operations');
    loaded = settings;
    renderForm(settings);
  } catch (error) {
    showText($('ops-status'), error.message);
  }
}

function renderForm(s) {
  const hours = s.business_hours || {};
  const texts = s.wait_texts || {};
  const defaults = s.wait_text_defaults || {};
  setChildren($('ops-fields'),
    el('fieldset', { class: 'ops-group' }, el('legend', {}, 'Business hours'),
      ...DAYS.map(([day, name]) => field(name, el('input', { name: `hours-${day}`, value: hours[day] ?? '',
        placeholder: Object.keys(hours).length ? 'closed' : 'always open', 'data-testid': `ops-hours-${day}` }))),
      field('Time zone', el('input', { name: 'timezone', value: s.business_timezone, 'data-testid': 'ops-timezone' })),
      el('p', { class: 'muted wide' }, 'Spans like 09:00-17:00, or 09:00-12:00, 13:00-17:00; "closed" or empty for a day off. ' +
        'Leave every day empty to be always open.')),
    el('fieldset', { class: 'ops-group' }, el('legend', {}, 'The wait'),
      field('Offer to leave a message after (minutes)', el('input', { type: 'number', min: 1, name: 'max_wait',
        value: Math.round(s.max_wait_seconds / 60), 'data-testid': 'ops-max-wait' })),
      field('"Still waiting" notices at most every (minutes)', el('input', { type: 'number', min: 1, name: 'notice_interval',
        value: Math.round(s.wait_notice_interval_seconds / 60), 'data-testid': 'ops-notice-interval' })),
      el('label', { class: 'check' }, el('input', { type: 'checkbox', name: 'auto_assign', checked: s.auto_assign,
        'data-testid': 'ops-auto-assign' }), 'Give new handoffs to the least busy online agent')),
    el('fieldset', { class: 'ops-group' }, el('legend', {}, 'Widget defaults (the embed\'s own attributes win)'),
      field('Title', el('input', { name: 'widget_title', value: s.widget?.title ?? '', 'data-testid': 'ops-widget-title' })),
      field('Colour', el('input', { name: 'widget_color', value: s.widget?.color ?? '', placeholder: '#4f46e5',
        'data-testid': 'ops-widget-color' })),
      field('Greeting', el('input', { name: 'widget_greeting', value: s.widget?.greeting ?? '', class: 'wide',
        'data-testid': 'ops-widget-greeting' })),
      ...TEXTS.map(([key, label]) => {
        const area = el('textarea', { name: `text-${key}`, rows: 2, placeholder: defaults[key] ?? '',
          'data-testid': `ops-text-${key}` });
        area.value = texts[key] ?? '';
        return el('label', { class: 'wide' }, label, area);
      })),
    el('fieldset', { class: 'ops-group' }, el('legend', {}, 'Tag rules'),
      (() => {
        const area = el('textarea', { name: 'tag_rules', rows: 3, class: 'wide', 'data-testid': 'ops-tag-rules',
          placeholder: 'complaint: complaint\nstart_return: returns' });
        area.value = Object.entries(s.tag_rules || {}).map(([intent, tag]) => `${intent}: ${tag}`).join('\n');
        return el('label', { class: 'wide' }, 'One "intent: tag" per line', area);
      })()));
}

function readForm(form) {
  const data = new FormData(form);
  const hours = {};
  for (const [day] of DAYS) {
    const value = String(data.get(`hours-${day}`) || '').trim();
    if (value) hours[day] = value;
  }
  const rules = {};
  for (const line of String(data.get('tag_rules') || '').split('\n')) {
    const [intent, ...tag] = line.split(':');
    if (intent.trim() && tag.join(':').trim()) rules[intent.trim()] = tag.join(':').trim();
  }
  const texts = {};
  for (const [key] of TEXTS) {
    const value = String(data.get(`text-${key}`) || '').trim();
    if (value) texts[key] = value;
  }
  return {
    business_hours: hours,
    business_timezone: String(data.get('timezone') || 'UTC').trim(),
    max_wait_seconds: Number(data.get('max_wait')) * 60,
    wait_notice_interval_seconds: Number(data.get('notice_interval')) * 60,
    auto_assign: data.get('auto_assign') === 'on',
    widget: Object.fromEntries([['title', 'widget_title'], ['color', 'widget_color'], ['greeting', 'widget_greeting']]
      .map(([key, name]) => [key, String(data.get(name) || '').trim()]).filter(([, v]) => v)),
    tag_rules: rules,
    wait_texts: texts,
  };
}

/** Only what changed is sent: the audit log then says exactly what an admin changed. */
async function submitOperations(event) {
  event.preventDefault();
  const wanted = readForm(event.currentTarget);
  const changes = Object.fromEntries(Object.entries(wanted)
    .filter(([key, value]) => JSON.stringify(value) !== JSON.stringify(loaded?.[key] ?? null)));
  if (!Object.keys(changes).length) {
    showText($('ops-status'), 'Nothing changed.');
    return;
  }
  try {
    const { settings } = await api('PUT', '/api/settings/operations', changes);
    loaded = settings;
    renderForm(settings);
    showText($('ops-status'), `Saved: ${Object.keys(changes).join(', ')}. Applied now.`);
    loadAudit();
  } catch (error) {
    showText($('ops-status'), error.message);
  }
}

export async function loadAudit() {
  try {
    const { entries } = await api('GET', '/api/audit?limit=50');
    setChildren($('audit-body'), ...(entries || []).map((entry) => el('tr', { 'data-testid': 'audit-row',
      'data-action': entry.action },
    el('td', {}, formatDate(entry.at)),
    el('td', {}, entry.user ?? '—'),
    el('td', {}, entry.action),
    el('td', { class: 'audit-detail' }, JSON.stringify(entry.detail?.changes ?? entry.detail ?? {})))));
  } catch { /* the log stays as it was */ }
}

export function bindOperations() {
  $('ops-form').addEventListener('submit', submitOperations);
}
