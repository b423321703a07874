// The admin screen: users and canned responses.

import { loadAgents } from './agents.js';
import { api } from './api.js';
import { loadCanned } from './composer.js';
import { $, cssToken, el, setChildren, showText } from './dom.js';
import { state } from './state.js';

export async function loadAdmin() {
  showText($('admin-error'), '');
  await Promise.all([loadUsers(), loadCanned().then(renderCannedTable)]);
}

async function loadUsers() {
  try {
    const { users } = await api('GET', '/api/users');
    setChildren($('users-body'), ...(users || []).map((u) => el('tr', { 'data-testid': 'user-row', 'data-username': u.username },
      el('td', {}, u.username ?? ''),
      el('td', {}, u.display_name ?? ''),
      el('td', {}, u.role ?? ''),
      el('td', {}, u.capacity ?? ''),
      el('td', {}, el('span', { class: `dot dot-${cssToken(u.presence || 'offline')}`, 'aria-hidden': 'true' }), ` ${u.presence || 'offline'}`),
      el('td', {}, u.active === false ? 'no' : 'yes'))));
  } catch (error) {
    showText($('admin-error'), error.message);
  }
}

function renderCannedTable() {
  setChildren($('canned-body'), ...state.canned.map((c) => el('tr', { 'data-testid': 'canned-row' },
    el('td', {}, el('code', {}, `/${c.shortcut}`)),
    el('td', { class: 'pre' }, c.text ?? ''))));
}

export async function submitUserForm(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const status = form.querySelector('.form-status');
  const data = new FormData(form);
  const body = {
    username: String(data.get('username') || '').trim(),
    password: String(data.get('password') || ''),
    role: String(data.get('role') || 'agent'),
  };
  const displayName = String(data.get('display_name') || '').trim();
  const capacity = String(data.get('capacity') || '').trim();
  if (displayName) body.display_name = displayName;
  if (capacity) body.capacity = Number(capacity);
  if (!body.username || !body.password) {
    status.textContent = 'Username and password are required.';
    return;
  }
  try {
    const { user } = await api('POST', '/api/users', body);
    status.textContent = `Created ${user?.username || body.username}.`;
    form.reset();
    loadUsers();
    loadAgents();
  } catch (error) {
    status.textContent = error.message;
  }
}

export async function submitCannedForm(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const status = form.querySelector('.form-status');
  const data = new FormData(form);
  const body = { shortcut: String(data.get('shortcut') || '').trim().replace(/^\//, ''), text: String(data.get('text') || '').trim() };
  if (!body.shortcut || !body.text) {
    status.textContent = 'Shortcut and text are required.';
    return;
  }
  try {
    const { canned } = await api('POST', '/api/canned', body);
    status.textContent = `Added /${body.shortcut}.`;
    form.reset();
    if (canned) state.canned = [...state.canned.filter((c) => c.id !== canned.id), canned];
    renderCannedTable();
  } catch (error) {
    status.textContent = error.message;
  }
}
