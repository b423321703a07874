// The admin screen: users (edit in place, deactivate, reset a password, delete) and canned
// responses (edit, delete). Operations settings and the audit log are in ops_settings.js.

import { loadAgents } from './agents.js';
import { api } from './api.js';
import { loadCanned } from './composer.js';
import { $, cssToken, el, setChildren, showText } from './dom.js';
import { loadAudit, loadOperations } from './ops_settings.js';
import { state } from './state.js';

const ROLES = ['agent', 'trainer', 'admin'];

export async function loadAdmin() {
  showText($('admin-error'), '');
  await Promise.all([loadUsers(), loadCanned().then(renderCannedTable), loadOperations(), loadAudit()]);
}

function adminStatus(text) {
  showText($('admin-status'), text);
}

async function changeUser(user, values, what) {
  showText($('admin-error'), '');
  try {
    await api('PATCH', `/api/users/${encodeURIComponent(user.id)}`, values);
    adminStatus(`${user.username}: ${what} saved.`);
    loadAgents();
    loadAudit();
  } catch (error) {
    showText($('admin-error'), error.message);
  }
  loadUsers();
}

async function resetPassword(user) {
  const password = window.prompt(`New password for ${user.username} (at least 12 characters, not a common one):`);
  if (!password) return;
  try {
    await api('POST', `/api/users/${encodeURIComponent(user.id)}/password`, { password });
    adminStatus(`${user.username}: password changed.`);
    loadAudit();
  } catch (error) {
    showText($('admin-error'), error.message);
  }
}

async function deleteUser(user) {
  if (!window.confirm(`Delete ${user.username}? Their sessions end now; their past messages stay.`)) return;
  try {
    await api('DELETE', `/api/users/${encodeURIComponent(user.id)}`);
    adminStatus(`${user.username} deleted.`);
    loadAgents();
    loadAudit();
  } catch (error) {
    showText($('admin-error'), error.message);
  }
  loadUsers();
}

function renderUserRow(u) {
  const me = u.id === state.me?.id;
  const name = el('input', { value: u.display_name ?? '', 'aria-label': `Display name of ${u.username}`,
    'data-testid': 'user-edit-name', maxlength: 200 });
  name.addEventListener('change', () => name.value.trim() && changeUser(u, { display_name: name.value.trim() }, 'name'));
  const role = el('select', { 'aria-label': `Role of ${u.username}`, 'data-testid': 'user-edit-role', disabled: me },
    ...ROLES.map((r) => el('option', { value: r, selected: r === u.role }, r)));
  role.addEventListener('change', () => changeUser(u, { role: role.value }, 'role'));
  const capacity = el('input', { type: 'number', min: 0, max: 100, value: u.capacity ?? 0, class: 'narrow',
    'aria-label': `Capacity of ${u.username}`, 'data-testid': 'user-edit-capacity' });
  capacity.addEventListener('change', () => changeUser(u, { capacity: Number(capacity.value) }, 'capacity'));
  const active = el('input', { type: 'checkbox', checked: u.active !== false, disabled: me,
    'aria-label': `${u.username} is active`, 'data-testid': 'user-edit-active' });
  active.addEventListener('change', () => changeUser(u, { active: active.checked },
    active.checked ? 'activation' : 'deactivation (sessions ended)'));
  return el('tr', { 'data-testid': 'user-row', 'data-username': u.username },
    el('td', {}, u.username ?? ''),
    el('td', {}, name),
    el('td', {}, role),
    el('td', {}, capacity),
    el('td', {}, el('span', { class: `dot dot-${cssToken(u.presence || 'offline')}`, 'aria-hidden': 'true' }), ` ${u.presence || 'offline'}`),
    el('td', {}, active),
    el('td', { class: 'row-actions' },
      el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'user-reset-password',
        onclick: () => resetPassword(u) }, 'Reset password'),
      me ? null : el('button', { type: 'button', class: 'btn btn-small btn-danger', 'data-testid': 'user-delete',
        onclick: () => deleteUser(u) }, 'Delete')));
}

async function loadUsers() {
  try {
    const { users } = await api('GET', '/api/users');
    setChildren($('users-body'), ...(users || []).map(renderUserRow));
  } catch (error) {
    showText($('admin-error'), error.message);
  }
}

function renderCannedTable() {
  setChildren($('canned-body'), ...state.canned.map((c) => {
    const shortcut = el('input', { value: c.shortcut, 'aria-label': 'Shortcut', 'data-testid': 'canned-edit-shortcut',
      maxlength: 60 });
    const text = el('textarea', { rows: 2, 'aria-label': `Text of /${c.shortcut}`, 'data-testid': 'canned-edit-text' });
    text.value = c.text ?? '';
    return el('tr', { 'data-testid': 'canned-row', 'data-shortcut': c.shortcut },
      el('td', {}, shortcut),
      el('td', { class: 'pre' }, text),
      el('td', { class: 'row-actions' },
        el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'canned-save',
          onclick: () => saveCanned(c, shortcut.value, text.value) }, 'Save'),
        el('button', { type: 'button', class: 'btn btn-small btn-danger', 'data-testid': 'canned-delete',
          onclick: () => deleteCanned(c) }, 'Delete')));
  }));
}

async function saveCanned(canned, shortcut, text) {
  showText($('admin-error'), '');
  try {
    await api('PUT', `/api/canned/${encodeURIComponent(canned.id)}`,
      { shortcut: shortcut.trim().replace(/^\//, ''), text: text.trim() });
    adminStatus(`/${shortcut.trim().replace(/^\//, '')} saved.`);
    loadAudit();
  } catch (error) {
    showText($('admin-error'), error.message);
  }
  await loadCanned();
  renderCannedTable();
}

async function deleteCanned(canned) {
  if (!window.confirm(`Delete /${canned.shortcut}?`)) return;
  try {
    await api('DELETE', `/api/canned/${encodeURIComponent(canned.id)}`);
    adminStatus(`/${canned.shortcut} deleted.`);
    loadAudit();
  } catch (error) {
    showText($('admin-error'), error.message);
  }
  await loadCanned();
  renderCannedTable();
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
    loadAudit();
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
    loadAudit();
  } catch (error) {
    status.textContent = error.message;
  }
}
