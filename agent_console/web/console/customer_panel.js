// The right-hand panel: who the customer is, their orders, tickets and earlier conversations.

import { $, OPENS_CONVERSATION, badge, el, safeHttpUrl, setChildren } from './dom.js';
import { customerName, formatDate, formatMoney, parseTime } from './format.js';
import { canActOnConversations, state } from './state.js';

export function renderEmptyCustomerPanel(text) {
  setChildren($('customer-panel'), el('p', { class: 'empty' }, text));
}

function panelSection(title, ...content) {
  return el('section', { class: 'panel-section' }, el('h3', { class: 'section-title' }, title), ...content);
}

function definitionList(entries) {
  const rows = entries.filter(([, value]) => value !== undefined && value !== null && value !== '');
  if (!rows.length) return null;
  return el('dl', { class: 'kv' }, ...rows.flatMap(([key, value]) => [
    el('dt', {}, key),
    el('dd', {}, renderValue(key, value)),
  ]));
}

function renderValue(key, value) {
  if (typeof value === 'object') return JSON.stringify(value);
  if (/_at$/.test(key) && parseTime(value) !== null) return formatDate(value);
  const url = /url|link|href/i.test(key) ? safeHttpUrl(value) : null;
  return url ? el('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, String(value)) : String(value);
}

export function renderCustomerPanel() {
  const conv = state.current;
  if (!conv) {
    renderEmptyCustomerPanel('No conversation open.');
    return;
  }
  const context = state.currentContext || {};
  const customer = { ...(conv.customer || {}), ...(context.customer || {}) };
  const skip = new Set(['id', 'name', 'email', 'identities', 'metadata', 'attributes', 'profile', 'claims',
    'verified', 'email_verified', 'name_verified']);
  const profile = Object.entries(customer).filter(([key, value]) => !skip.has(key) && typeof value !== 'object');
  const metadata = {
    ...(customer.profile || {}), ...(customer.attributes || {}), ...(customer.metadata || {}), ...(conv.metadata || {}),
  };

  setChildren($('customer-panel'),
    el('header', { class: 'panel-head' },
      el('h2', { 'data-testid': 'customer-name' }, customerName(conv)),
      identityBadge(customer, Boolean(state.currentContext)),
      customer.email ? el('div', { class: 'muted', 'data-testid': 'customer-email' }, customer.email,
        customer.email_verified ? null : el('span', { class: 'unverified', title: 'The customer said so; nothing checked it.' },
          ' (unverified)')) : null),
    renderClaims(customer),
    panelSection('Channel',
      el('div', {}, badge(conv.channel || '?', `channel-${conv.channel}`, 'customer-channel')),
      renderIdentities(customer.identities)),
    profile.length ? panelSection('Profile', definitionList(profile)) : null,
    Object.keys(metadata).length ? panelSection('Details', definitionList(Object.entries(metadata))) : null,
    renderBotMemory(context.bot_memory),
    context.crm?.skipped ? panelSection('Orders', el('p', { class: 'muted', 'data-testid': 'crm-skipped' },
      `Not looked up: ${context.crm.skipped}.`)) : renderOrders(context.crm?.orders),
    renderTickets(context.crm?.tickets),
    renderEarlierConversations(context.earlier_conversations),
    !state.currentContext && canActOnConversations() ? el('p', { class: 'muted' }, 'Loading customer details…') : null,
  );
}

/** Verified (the shop signed the customer's id, or its backend vouched) or only claimed. */
function identityBadge(customer, known) {
  if (!known) return null;
  return customer.verified
    ? badge('verified customer', 'verified', 'identity-verified')
    : badge('identity not verified', 'unverified', 'identity-unverified');
}

function renderClaims(customer) {
  const claims = Object.entries(customer.claims || {}).filter(([, value]) => value);
  if (!claims.length) return null;
  const labels = { name: 'Name', email: 'E-mail', shop_customer_id: 'Customer id' };
  return panelSection('Says about themselves (unverified)',
    el('dl', { class: 'kv', 'data-testid': 'customer-claims' }, ...claims.flatMap(([key, value]) => [
      el('dt', {}, labels[key] || key), el('dd', {}, String(value))])));
}

function renderBotMemory(memory) {
  const slots = Object.entries(memory?.slots || {});
  if (!slots.length && !memory?.paused) return null;
  return panelSection('What the bot remembers',
    memory.paused ? el('p', { class: 'muted' }, 'The bot is paused while a person has this conversation.') : null,
    slots.length ? el('dl', { class: 'kv', 'data-testid': 'bot-memory' }, ...slots.flatMap(([key, value]) => [
      el('dt', {}, key), el('dd', {}, typeof value === 'object' ? JSON.stringify(value) : String(value))])) : null);
}

function renderIdentities(identities) {
  if (!Array.isArray(identities) || !identities.length) return null;
  return el('ul', { class: 'plain-list', 'data-testid': 'customer-identities' },
    ...identities.map((i) => el('li', {}, el('span', { class: 'muted' }, `${i.channel}: `), String(i.external_id ?? ''))));
}

function renderOrders(orders) {
  if (!Array.isArray(orders)) return null;
  return panelSection(`Orders (${orders.length})`, orders.length ? el('ul', { class: 'card-list' },
    ...orders.map((order) => el('li', { class: 'order', 'data-testid': 'crm-order', 'data-order-number': order.number ?? '' },
      el('div', { class: 'order-head' },
        el('strong', {}, `#${order.number ?? '?'}`),
        badge(order.status || 'unknown', `order-${order.status}`, 'order-status'),
        el('span', { class: 'order-total' }, formatMoney(order.total, order.currency))),
      el('div', { class: 'muted' }, formatDate(order.placed_at)),
      renderOrderItems(order.items)))) : el('p', { class: 'muted' }, 'No orders.'));
}

function renderOrderItems(items) {
  if (!Array.isArray(items) || !items.length) return null;
  const describe = (item) => {
    if (typeof item !== 'object' || item === null) return String(item);
    const quantity = item.quantity ?? item.qty;
    const name = item.name ?? item.title ?? item.sku ?? JSON.stringify(item);
    return `${quantity ? `${quantity} × ` : ''}${name}${item.price !== undefined ? ` (${formatMoney(item.price, item.currency)})` : ''}`;
  };
  return el('ul', { class: 'order-items' }, ...items.map((item) => el('li', {}, describe(item))));
}

function renderTickets(tickets) {
  if (!Array.isArray(tickets)) return null;
  return panelSection(`Open tickets (${tickets.length})`, tickets.length ? el('ul', { class: 'card-list' },
    ...tickets.map((t) => el('li', { class: 'ticket', 'data-testid': 'crm-ticket' },
      el('span', { class: 'muted' }, `#${t.id ?? '?'} `),
      el('span', {}, t.subject ?? ''), ' ',
      badge(t.status || 'open', `ticket-${t.status}`)))) : el('p', { class: 'muted' }, 'No open tickets.'));
}

function renderEarlierConversations(conversations) {
  if (!Array.isArray(conversations)) return null;
  return panelSection(`Earlier conversations (${conversations.length})`, conversations.length ? el('ul', { class: 'card-list' },
    ...conversations.map((c) => el('li', {},
      el('button', {
        type: 'button', class: 'earlier', 'data-testid': 'earlier-conversation', 'data-conversation-id': c.id,
        [OPENS_CONVERSATION]: c.id,
      },
      el('span', { class: 'order-head' }, el('span', { class: 'qi-number' }, `#${c.id}`),
        badge(c.status || '?', `status-${c.status}`), el('span', { class: 'muted' }, formatDate(c.created_at))),
      c.first_message ? el('span', { class: 'earlier-text' }, `First: ${c.first_message.text ?? ''}`) : null,
      c.last_message ? el('span', { class: 'earlier-text' }, `Last: ${c.last_message.text ?? ''}`) : null))))
    : el('p', { class: 'muted' }, 'None.'));
}
