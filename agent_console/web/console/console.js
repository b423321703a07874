// Baton agent console: one page, no framework, no build step.
//
// Contract: docs/api.md (HTTP under /api, Socket.IO namespace /agents).
// Security rule for this file: every piece of server data reaches the DOM via
// document.createElement + textContent (or setAttribute for plain attributes).
// There is deliberately no innerHTML anywhere, so customer text such as
// "<img src=x onerror=alert(1)>" is always shown literally.

// ---------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------

const HANDOFF_REASON_LABELS = {
  low_confidence: 'Bot unsure (low confidence)',
  ambiguous: 'Ambiguous — two intents too close',
  repeated_fallback: "Bot didn't understand, repeatedly",
  human_requested: 'Customer asked for a human',
  always_human_intent: 'Topic always handled by a human',
  bot_error: 'Bot error',
  bot_timeout: 'Bot timed out',
  bot_unavailable: 'Bot unavailable',
  business_rule: 'Business rule',
};

const ACK_ERROR_TEXT = {
  already_claimed: 'Someone else already claimed this conversation.',
  forbidden: "You don't have permission to do this.",
  not_logged_in: 'You are not logged in.',
  disconnected: 'Not connected to the server — nothing was sent.',
  timeout: 'The server did not confirm in time. Check the transcript before retrying.',
};

const CONFIDENCE_RED_BELOW = 0.55;
const CONFIDENCE_AMBER_BELOW = 0.80;
const OUT_OF_SCOPE = '__out_of_scope__';
const ACK_TIMEOUT_MS = 10000;
const TYPING_THROTTLE_MS = 2000; // re-send "typing: true" at most this often
const TYPING_IDLE_MS = 3000;     // send "typing: false" after this much silence
const CUSTOMER_TYPING_MAX_MS = 8000; // hide the indicator if the "stop" event got lost
const QUEUE_SNAPSHOT_GRACE_MS = 4000;
const WAIT_TICK_MS = 250;
const BASE_TITLE = 'Baton console';

// ---------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------

const state = {
  me: null,
  view: 'inbox',
  tab: 'queued',
  socket: null,
  connectedOnce: false,
  queueSnapshotSeen: false,
  maxMessageId: 0,               // highest message id seen, for `sync` after a reconnect
  conversations: new Map(),      // id -> ConversationSummary (open ones only)
  messages: new Map(),           // id -> Message (every message seen)
  unread: new Map(),             // conversation id -> customer messages arrived while not open
  current: null,                 // ConversationSummary of the open conversation
  currentContext: null,
  openSeq: 0,                    // guards against out-of-order `open` answers
  drafts: new Map(),             // conversation id -> unsent composer text
  pending: [],                   // replies/notes waiting for their ack
  pendingSeq: 0,
  noteMode: false,
  intents: [],
  agents: [],
  canned: [],
  cannedMatches: [],
  cannedIndex: 0,
  myPresence: 'online',
  typing: { active: false, conversationId: null, sentAt: 0, idleTimer: null },
  customerTypingTimer: null,
  queueRenderQueued: false,
  audio: null,
  helpReturnFocus: null,
  onReconnectAttempt: null,
};

// ---------------------------------------------------------------------------
// DOM helpers (text-only by construction)
// ---------------------------------------------------------------------------

const $ = (id) => document.getElementById(id);

/** Create an element; props become attributes, children strings become text nodes. */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = String(value);
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child)); // append(string) = text node
  }
  return node;
}

/** replaceChildren() that skips null/false, so optional parts never render as "null". */
function setChildren(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

function setHidden(node, hidden) {
  node.hidden = Boolean(hidden);
}

function showText(node, text) {
  node.textContent = text || '';
  setHidden(node, !text);
}

/** Only http(s) links are ever made clickable (no javascript: URLs from data). */
function safeHttpUrl(value) {
  try {
    const url = new URL(String(value), location.href);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

function cssToken(value) {
  return String(value || 'unknown').toLowerCase().replace(/[^a-z0-9-]/g, '-');
}

function badge(text, kind, testid) {
  return el('span', { class: `badge badge-${cssToken(kind)}`, 'data-testid': testid }, text);
}

function isEditableTarget(target) {
  if (!(target instanceof Element)) return false;
  return target.matches('input, textarea, select, [contenteditable=""], [contenteditable="true"]');
}

// ---------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------

/** ISO timestamp -> epoch ms. Naive timestamps are taken as UTC; extra fraction digits are trimmed. */
function parseTime(value) {
  if (!value) return null;
  let text = String(value).replace(/(\.\d{3})\d+/, '$1');
  if (/T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text)) text += 'Z';
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}

function formatDuration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const pad = (n) => String(n).padStart(2, '0');
  if (hours) return `${hours}h ${pad(minutes)}m`;
  if (minutes) return `${minutes}m ${pad(seconds)}s`;
  return `${seconds}s`;
}

function formatClock(value) {
  const ms = parseTime(value);
  return ms === null ? '' : new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function formatDate(value) {
  const ms = parseTime(value);
  return ms === null ? '' : new Date(ms).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}

function formatMoney(amount, currency) {
  if (amount === null || amount === undefined || amount === '') return '';
  const number = Number(amount);
  if (Number.isNaN(number)) return String(amount);
  try {
    if (currency) return new Intl.NumberFormat([], { style: 'currency', currency }).format(number);
  } catch { /* unknown currency code: fall through to a plain number */ }
  return number.toFixed(2);
}

function handoffReasonLabel(reason) {
  if (!reason) return '';
  return HANDOFF_REASON_LABELS[reason] || String(reason).replace(/_/g, ' ');
}

function confidenceLevel(confidence) {
  if (confidence < CONFIDENCE_RED_BELOW) return 'low';
  if (confidence < CONFIDENCE_AMBER_BELOW) return 'medium';
  return 'high';
}

function customerName(conv) {
  return conv?.customer?.name || conv?.customer?.email || `Customer #${conv?.customer?.id ?? '?'}`;
}

function agentName(agent) {
  return agent?.display_name || agent?.name || agent?.username || 'Agent';
}

function labelText(label) {
  if (!label) return '';
  const by = label.by ? ` (by ${label.by})` : '';
  return label.out_of_scope ? `Label: out of scope${by}` : `Label: ${label.intent}${by}`;
}

// ---------------------------------------------------------------------------
// Roles
// ---------------------------------------------------------------------------

const role = () => state.me?.role;
const canActOnConversations = () => role() === 'agent' || role() === 'admin';
const canReview = () => role() === 'trainer' || role() === 'admin';
const isAdmin = () => role() === 'admin';

// ---------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function describeHttpError(status, message) {
  if (status === 403) return `You don't have permission to do this.${message ? ` (${message})` : ''}`;
  if (status === 401) return 'You are not logged in.';
  return message || `The request failed (HTTP ${status}).`;
}

async function api(method, path, body) {
  const options = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    options.headers['Content-Type'] = 'application/json';
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch {
    throw new ApiError(0, 'network', 'Cannot reach the server.');
  }
  let data = null;
  try { data = await response.json(); } catch { data = null; }
  if (!response.ok) {
    // A 401 mid-session means the cookie expired: go back to the login screen.
    if (response.status === 401 && state.me && path !== '/api/login') handleSessionExpired();
    throw new ApiError(response.status, data?.error || `http_${response.status}`, describeHttpError(response.status, data?.message));
  }
  return data || {};
}

// ---------------------------------------------------------------------------
// Boot, login, logout
// ---------------------------------------------------------------------------

async function boot() {
  bindStaticHandlers();
  setInterval(tickWaitingTimes, WAIT_TICK_MS);
  try {
    const { user } = await api('GET', '/api/me');
    startApp(user);
  } catch (error) {
    showLoginScreen(error.status === 401 ? '' : error.message);
  }
}

function showLoginScreen(message) {
  setHidden($('boot'), true);
  setHidden($('app'), true);
  setHidden($('login-screen'), false);
  showText($('login-error'), message);
  $('login-submit').disabled = false;
  $('login-username').focus();
}

async function submitLogin(event) {
  event.preventDefault();
  const username = $('login-username').value.trim();
  const password = $('login-password').value;
  if (!username || !password) {
    showText($('login-error'), 'Enter your username and password.');
    return;
  }
  $('login-submit').disabled = true;
  showText($('login-error'), '');
  unlockAudio(); // the submit is a user gesture: browsers only allow audio after one
  try {
    const { user } = await api('POST', '/api/login', { username, password });
    $('login-password').value = '';
    startApp(user);
  } catch (error) {
    const text = error.status === 401 ? 'Wrong username or password.' : error.message;
    showText($('login-error'), text);
    $('login-submit').disabled = false;
  }
}

function startApp(user) {
  state.me = user;
  setHidden($('boot'), true);
  setHidden($('login-screen'), true);
  setHidden($('app'), false);
  $('me-name').textContent = `${user.display_name || user.username} · ${user.role}`;
  applyRoleVisibility();
  updateNotifyButton();
  loadIntents();
  loadAgents();
  if (canActOnConversations()) loadCanned();
  connectSocket();
  setView(role() === 'trainer' ? 'review' : 'inbox');
}

function applyRoleVisibility() {
  setHidden(document.querySelector('[data-view="review"]'), !canReview());
  setHidden(document.querySelector('[data-view="admin"]'), !isAdmin());
  // Presence only matters for people who get conversations routed to them.
  setHidden(document.querySelector('.presence-picker'), !canActOnConversations());
}

async function logout() {
  try { await api('POST', '/api/logout'); } catch { /* leaving anyway */ }
  resetSession();
  showLoginScreen('');
}

function handleSessionExpired() {
  resetSession();
  showLoginScreen('Your session has expired. Please sign in again.');
}

/** Forget everything about the previous user, so a new login starts clean. */
function resetSession() {
  stopAgentTyping();
  if (state.socket) {
    state.socket.removeAllListeners();
    state.socket.io.off('reconnect_attempt', state.onReconnectAttempt);
    state.socket.disconnect();
  }
  Object.assign(state, {
    me: null, socket: null, connectedOnce: false, queueSnapshotSeen: false, maxMessageId: 0,
    current: null, currentContext: null, pending: [], noteMode: false, canned: [], agents: [], myPresence: 'online',
  });
  $('presence-select').value = 'online';
  setNoteMode(false);
  for (const map of [state.conversations, state.messages, state.unread, state.drafts]) map.clear();
  document.querySelector('.toasts')?.remove();
  setChildren($('queue-list'));
  setChildren($('agent-list'));
  setChildren($('transcript'));
  $('composer').value = '';
  setHidden($('conversation'), true);
  setHidden($('conversation-empty'), false);
  renderEmptyCustomerPanel('No conversation open.');
  updateTitle();
}

// ---------------------------------------------------------------------------
// Socket.IO connection
// ---------------------------------------------------------------------------

function connectSocket() {
  if (typeof window.io !== 'function') {
    setConnectionStatus('down', 'offline (client library missing)');
    return;
  }
  const socket = window.io('/agents', {
    path: '/socket.io/',
    transports: ['websocket', 'polling'],
    tryAllTransports: true, // fall back to polling when a proxy blocks websockets
    withCredentials: true,
  });
  state.socket = socket;
  setConnectionStatus('down', 'connecting…');
  socket.on('connect', onSocketConnect);
  socket.on('disconnect', onSocketDisconnect);
  socket.on('connect_error', onSocketConnectError);
  state.onReconnectAttempt = () => setConnectionStatus('down', 'reconnecting…');
  socket.io.on('reconnect_attempt', state.onReconnectAttempt);
  socket.on('queue', onQueueSnapshot);
  socket.on('conversation', onConversationEvent);
  socket.on('message', (message) => ingestMessage(message));
  socket.on('typing', onTypingEvent);
  socket.on('presence', (data) => applyAgents(data?.agents));
  socket.on('handoff', onHandoffEvent);
}

function setConnectionStatus(kind, text) {
  const node = $('connection-status');
  node.textContent = text;
  node.className = `conn conn-${kind}`;
  setHidden($('connection-retry'), kind !== 'refused');
}

function onSocketConnect() {
  setConnectionStatus('up', 'connected');
  const isReconnect = state.connectedOnce;
  state.connectedOnce = true;
  expectQueueSnapshot();
  if (state.myPresence === 'away') emitAck('presence', { status: 'away' }); // the server resets us to online
  if (isReconnect) resyncAfterReconnect();
}

function onSocketDisconnect(reason) {
  state.queueSnapshotSeen = false; // the next connection must bring a fresh snapshot
  if (reason === 'io client disconnect') return; // we did it (logout)
  setConnectionStatus('down', 'reconnecting…');
  // The client does not retry on its own after the server closed the socket.
  if (reason === 'io server disconnect') reconnectIfSessionValid();
}

function onSocketConnectError() {
  if (state.socket?.active) {
    setConnectionStatus('down', 'reconnecting…'); // transport problem: the manager retries by itself
    return;
  }
  // The server refused us (no valid session): no automatic retry.
  setConnectionStatus('refused', 'not logged in');
  api('GET', '/api/me').catch(() => { /* a 401 already switched to the login screen */ });
}

async function reconnectIfSessionValid() {
  try {
    await api('GET', '/api/me');
    state.socket?.connect();
  } catch { /* 401 handled in api(); other errors: the Retry button stays available */ }
}

/** After a reconnect: fetch what we missed, in id order, deduplicated by id. */
async function resyncAfterReconnect() {
  const answer = await emitAck('sync', { after_id: state.maxMessageId });
  if (!answer.ok) {
    showGlobalError(`Could not fetch missed messages: ${ackErrorText(answer)}`);
  } else {
    const missed = [...(answer.messages || [])].sort((a, b) => a.id - b.id);
    for (const message of missed) ingestMessage(message);
    // The server also answers with the open list: a fresher snapshot than the one sent on connect.
    if (Array.isArray(answer.conversations)) onQueueSnapshot({ conversations: answer.conversations });
  }
  if (state.current) refreshOpenConversation();
}

/**
 * The server sends `queue` on connect; if it does not arrive, rebuild the list over HTTP.
 * Events emitted in the server's connect handler reach us *before* the `connect` event,
 * so the flag is reset on disconnect, never here.
 */
function expectQueueSnapshot() {
  setTimeout(() => {
    if (!state.queueSnapshotSeen && state.socket?.connected) refreshQueueOverHttp();
  }, QUEUE_SNAPSHOT_GRACE_MS);
}

/** Without `status` the server lists every open conversation (bot, queued, assigned). */
async function refreshQueueOverHttp() {
  try {
    const { conversations } = await api('GET', '/api/conversations?limit=200');
    if (!state.queueSnapshotSeen) onQueueSnapshot({ conversations });
  } catch { /* keep what we have */ }
}

/** Emit with an ack; always resolves to {ok, ...} so callers have one error path. */
function emitAck(event, payload) {
  return new Promise((resolve) => {
    const socket = state.socket;
    if (!socket || !socket.connected) {
      resolve({ ok: false, error: 'disconnected', message: ACK_ERROR_TEXT.disconnected });
      return;
    }
    socket.timeout(ACK_TIMEOUT_MS).emit(event, payload, (err, answer) => {
      if (err) resolve({ ok: false, error: 'timeout', message: ACK_ERROR_TEXT.timeout });
      else if (answer && typeof answer === 'object') resolve(answer);
      else resolve({ ok: false, error: 'bad_answer', message: 'Unexpected answer from the server.' });
    });
  });
}

/** HTTP twins of the socket actions, so the console keeps working while the socket is down. */
function httpRouteFor(event, payload) {
  const conv = `/api/conversations/${encodeURIComponent(payload.conversation_id)}`;
  const routes = {
    claim: [`${conv}/claim`, undefined],
    reply: [`${conv}/reply`, { text: payload.text }],
    note: [`${conv}/notes`, { text: payload.text }],
    transfer: [`${conv}/transfer`, { agent_id: payload.agent_id }],
    hand_back: [`${conv}/hand_back`, undefined],
    resolve: [`${conv}/resolve`, undefined],
    label: [`/api/messages/${encodeURIComponent(payload.message_id)}/label`,
      payload.out_of_scope ? { out_of_scope: true } : { intent: payload.intent }],
  };
  return routes[event] || null;
}

async function callServer(event, payload) {
  const route = httpRouteFor(event, payload);
  if (state.socket?.connected || !route) return emitAck(event, payload);
  try {
    return { ok: true, ...(await api('POST', route[0], route[1])) };
  } catch (error) {
    return { ok: false, error: error.code, message: error.message, status: error.status };
  }
}

function ackErrorText(answer) {
  if (answer?.error === 'forbidden' || answer?.status === 403) return ACK_ERROR_TEXT.forbidden;
  return answer?.message || ACK_ERROR_TEXT[answer?.error] || `Failed (${answer?.error || 'unknown error'}).`;
}

function showGlobalError(text) {
  showText($('global-error'), text);
  if (text) setTimeout(() => showText($('global-error'), ''), 8000);
}

// ---------------------------------------------------------------------------
// Conversation store
// ---------------------------------------------------------------------------

function onQueueSnapshot(data) {
  state.queueSnapshotSeen = true;
  state.conversations.clear(); // the snapshot is the full open list
  for (const conv of data?.conversations || []) upsertConversation(conv);
  scheduleQueueRender();
}

function onConversationEvent(summary) {
  upsertConversation(summary);
}

function onHandoffEvent(summary) {
  upsertConversation(summary);
  if (canActOnConversations()) announceHandoff(summary);
}

function upsertConversation(summary) {
  if (!summary || summary.id === undefined || summary.id === null) return;
  const previous = state.conversations.get(summary.id);
  const merged = previous ? { ...previous, ...summary } : summary;
  if (merged.status === 'resolved') state.conversations.delete(merged.id);
  else state.conversations.set(merged.id, merged);
  if (state.current?.id === merged.id) updateCurrentConversation(merged);
  scheduleQueueRender();
}

function updateCurrentConversation(summary) {
  const before = state.current;
  state.current = { ...before, ...summary };
  renderConversationChrome();
  // The handoff highlight depends on the summary: redraw if the trigger changed.
  if (before?.handoff_message_id !== state.current.handoff_message_id) renderTranscript();
}

/** Every message from any source (event, sync, ack) goes through here; ids dedupe. */
function ingestMessage(message) {
  if (!message || typeof message.id !== 'number') return;
  const known = state.messages.get(message.id);
  state.messages.set(message.id, known ? { ...known, ...message } : message);
  state.maxMessageId = Math.max(state.maxMessageId, message.id);
  if (known) {
    if (message.conversation_id === state.current?.id) replaceMessageNode(state.messages.get(message.id));
    return;
  }
  if (attachEchoToPending(message)) return; // our own reply: stays "sending…" until its ack
  updateLastMessagePreview(message);
  if (message.conversation_id === state.current?.id) {
    insertMessageNode(message);
    if (message.sender === 'customer') showCustomerTyping(false);
  } else if (message.sender === 'customer' && isHumanHandled(state.conversations.get(message.conversation_id))) {
    // Conversations the bot is handling are not counted: that would be noise, not work.
    state.unread.set(message.conversation_id, (state.unread.get(message.conversation_id) || 0) + 1);
    updateTitle();
  }
  scheduleQueueRender();
}

function isHumanHandled(conv) {
  return conv?.status === 'queued' || conv?.status === 'assigned';
}

/** Store messages from an `open` answer without counting them as unread. */
function storeMessages(messages) {
  for (const message of messages || []) {
    if (!message || typeof message.id !== 'number') continue;
    state.messages.set(message.id, { ...state.messages.get(message.id), ...message });
    state.maxMessageId = Math.max(state.maxMessageId, message.id);
  }
}

function updateLastMessagePreview(message) {
  if (message.sender === 'note') return; // notes are internal; the preview shows the conversation
  const conv = state.conversations.get(message.conversation_id);
  if (!conv) return;
  const lastAt = parseTime(conv.last_message?.created_at) || 0;
  if ((parseTime(message.created_at) || Date.now()) >= lastAt) {
    conv.last_message = { text: message.text, sender: message.sender, created_at: message.created_at };
  }
}

function messagesOf(conversationId) {
  return [...state.messages.values()]
    .filter((m) => m.conversation_id === conversationId)
    .sort((a, b) => a.id - b.id);
}

// ---------------------------------------------------------------------------
// Queue / inbox list
// ---------------------------------------------------------------------------

function waitStart(conv) {
  return parseTime(conv.queued_at) ?? parseTime(conv.created_at) ?? Number.MAX_SAFE_INTEGER;
}

/** Highest priority first, then whoever has waited longest. */
function compareQueueOrder(a, b) {
  return (b.priority || 0) - (a.priority || 0) || waitStart(a) - waitStart(b) || a.id - b.id;
}

function conversationsForTab(tab) {
  const open = [...state.conversations.values()].filter((c) => c.status !== 'resolved');
  const filters = {
    queued: (c) => c.status === 'queued',
    mine: (c) => c.status === 'assigned' && c.assignee?.id === state.me?.id,
    all: () => true,
  };
  return open.filter(filters[tab]).sort(compareQueueOrder);
}

/** Many events can arrive at once (snapshot, sync): coalesce them into one redraw. */
function scheduleQueueRender() {
  if (state.queueRenderQueued) return;
  state.queueRenderQueued = true;
  setTimeout(() => {
    state.queueRenderQueued = false;
    renderQueue();
  }, 30);
}

function renderQueue() {
  const list = $('queue-list');
  const focusedId = document.activeElement?.closest?.('[data-testid="queue-item"]')?.dataset.conversationId;
  const items = conversationsForTab(state.tab);
  setChildren(list, ...items.map((conv) => el('li', {}, renderQueueItem(conv))));
  setHidden($('queue-empty'), items.length > 0);
  for (const tab of ['queued', 'mine', 'all']) {
    document.querySelector(`[data-testid="count-${tab}"]`).textContent = String(conversationsForTab(tab).length);
  }
  if (focusedId) list.querySelector(`[data-conversation-id="${CSS.escape(focusedId)}"]`)?.focus();
  renderAgents(); // agent load figures depend on assignments
  updateTitle();
}

function renderQueueItem(conv) {
  const unread = state.unread.get(conv.id) || 0;
  const isOpen = state.current?.id === conv.id;
  const priority = conv.priority || 0;
  const last = conv.last_message;
  const previewPrefix = { bot: 'Bot: ', agent: 'Agent: ', system: '' }[last?.sender] ?? '';
  return el('button', {
    type: 'button',
    class: `queue-item${isOpen ? ' is-open' : ''}${unread ? ' has-unread' : ''}`,
    'data-testid': 'queue-item',
    'data-conversation-id': conv.id,
    'data-status': conv.status,
    'aria-current': isOpen ? 'true' : null,
    onclick: () => openConversation(conv.id),
  },
  el('span', { class: 'qi-row' },
    priority > 0 ? el('span', {
      class: `priority priority-${Math.min(priority, 3)}`, 'data-testid': 'priority',
      title: `Priority ${priority}`, 'aria-label': `Priority ${priority}`,
    }, '!'.repeat(Math.min(priority, 3))) : null,
    el('span', { class: 'qi-name' }, customerName(conv)),
    badge(conv.channel || '?', `channel-${conv.channel}`, 'channel-badge'),
    unread ? el('span', { class: 'unread', 'data-testid': 'unread', 'aria-label': `${unread} unread` }, String(unread)) : null),
  el('span', { class: 'qi-row qi-sub' },
    conv.handoff_reason
      ? el('span', { class: 'qi-reason', 'data-testid': 'handoff-reason' }, handoffReasonLabel(conv.handoff_reason))
      : el('span', { class: 'qi-reason muted' }, conv.status === 'bot' ? 'With the bot' : conv.status),
    conv.status === 'queued' && conv.queued_at ? renderWaitingTime(conv.queued_at) : null),
  conv.assignee && conv.status === 'assigned' && state.tab !== 'mine'
    ? el('span', { class: 'qi-assignee' }, `→ ${agentName(conv.assignee)}`) : null,
  el('span', { class: 'qi-preview', 'data-testid': 'last-message' }, last ? `${previewPrefix}${last.text ?? ''}` : ''));
}

function renderWaitingTime(since) {
  const started = parseTime(since);
  return el('span', { class: 'wait', 'data-testid': 'waiting-time', 'data-since': started ?? '' },
    started === null ? '' : formatDuration(Date.now() - started));
}

/** Runs several times a second so the shown seconds never lag or skip; writes only on change. */
function tickWaitingTimes() {
  const now = Date.now();
  for (const node of document.querySelectorAll('[data-since]')) {
    if (!node.dataset.since) continue;
    const text = formatDuration(now - Number(node.dataset.since));
    if (node.textContent !== text) node.textContent = text;
  }
}

function setTab(tab) {
  state.tab = tab;
  for (const button of document.querySelectorAll('.queue-tab')) {
    button.setAttribute('aria-selected', String(button.dataset.tab === tab));
  }
  renderQueue();
}

/** j / k: walk the visible list and open the neighbour. */
function moveSelection(step) {
  const items = conversationsForTab(state.tab);
  if (!items.length) return;
  const index = items.findIndex((c) => c.id === state.current?.id);
  const next = index < 0 ? (step > 0 ? 0 : items.length - 1)
    : Math.min(items.length - 1, Math.max(0, index + step));
  openConversation(items[next].id);
  requestAnimationFrame(() => {
    $('queue-list').querySelector(`[data-conversation-id="${items[next].id}"]`)?.scrollIntoView({ block: 'nearest' });
  });
}

/** The title counts what needs *me*: queued conversations and mine (not colleagues' chats). */
function updateTitle() {
  const needsMe = (id) => {
    const conv = state.conversations.get(id);
    return !conv || conv.status === 'queued' || isMine(conv);
  };
  const total = [...state.unread].reduce((sum, [id, n]) => sum + (needsMe(id) ? n : 0), 0);
  document.title = total ? `(${total}) ${BASE_TITLE}` : BASE_TITLE;
}

// ---------------------------------------------------------------------------
// Opening a conversation
// ---------------------------------------------------------------------------

async function openConversation(id) {
  if (state.view !== 'inbox') setView('inbox');
  if (state.current?.id !== id) switchComposerDraft(id);
  const seq = ++state.openSeq;
  state.current = state.conversations.get(id) || { id };
  state.currentContext = null;
  state.unread.delete(id);
  showCustomerTyping(false);
  showText($('action-error'), '');
  setHidden($('conversation-empty'), true);
  setHidden($('conversation'), false);
  renderConversationChrome();
  renderTranscript();
  renderCustomerPanel();
  scheduleQueueRender();

  const answer = await loadConversation(id);
  if (seq !== state.openSeq) return; // the agent already moved on
  if (!answer.ok) {
    showText($('action-error'), `Could not open the conversation: ${ackErrorText(answer)}`);
    return;
  }
  applyOpenedConversation(answer);
}

/** Socket `open` first; HTTP when the socket is down or refuses (e.g. trainers without context rights). */
async function loadConversation(id) {
  const answer = await emitAck('open', { conversation_id: id });
  if (answer.ok) return answer;
  try {
    const data = await api('GET', `/api/conversations/${encodeURIComponent(id)}`);
    return { ok: true, ...data, context: null };
  } catch (error) {
    return answer.error === 'disconnected' ? { ok: false, message: error.message, status: error.status } : answer;
  }
}

function applyOpenedConversation({ conversation, messages, context }) {
  storeMessages(messages);
  if (conversation) {
    if (conversation.status !== 'resolved') state.conversations.set(conversation.id, { ...state.conversations.get(conversation.id), ...conversation });
    state.current = { ...state.current, ...conversation };
  }
  renderConversationChrome();
  renderTranscript();
  if (context) {
    state.currentContext = context;
    renderCustomerPanel();
  } else {
    loadContextOverHttp(state.current.id, state.openSeq);
  }
  scheduleQueueRender();
}

async function loadContextOverHttp(id, seq) {
  if (!canActOnConversations()) return; // context is agent/admin only
  try {
    const context = await api('GET', `/api/conversations/${encodeURIComponent(id)}/context`);
    if (seq !== state.openSeq) return;
    state.currentContext = context;
    renderCustomerPanel();
  } catch { /* the panel keeps the basics from the summary */ }
}

/** After a reconnect: refresh status and context of what is on screen; messages merge by id. */
async function refreshOpenConversation() {
  const id = state.current.id;
  const seq = state.openSeq;
  const answer = await loadConversation(id);
  if (seq === state.openSeq && answer.ok) applyOpenedConversation(answer);
}

// ---------------------------------------------------------------------------
// Conversation header and actions
// ---------------------------------------------------------------------------

function renderConversationChrome() {
  const conv = state.current;
  if (!conv) return;
  $('conv-customer').textContent = conv.customer ? customerName(conv) : `Conversation #${conv.id}`;
  setChildren($('conv-meta'),
    badge(conv.status || '…', `status-${conv.status}`, 'conv-status'),
    conv.channel ? badge(conv.channel, `channel-${conv.channel}`, 'conv-channel') : null,
    conv.assignee ? el('span', { class: 'meta-item', 'data-testid': 'conv-assignee' }, `Assigned to ${agentName(conv.assignee)}`) : null,
    conv.handoff_reason ? el('span', { class: 'meta-item' }, handoffReasonLabel(conv.handoff_reason)) : null,
    conv.status === 'queued' && conv.queued_at ? renderWaitingTime(conv.queued_at) : null,
  );
  renderActions(conv);
}

function isMine(conv) {
  return conv?.status === 'assigned' && conv.assignee?.id === state.me?.id;
}

function renderActions(conv) {
  const act = canActOnConversations();
  const open = conv.status && conv.status !== 'resolved';
  setHidden($('claim'), !(act && conv.status === 'queued'));
  setHidden($('hand-back'), !(act && conv.status === 'assigned'));
  setHidden($('resolve'), !(act && open));
  setHidden($('transfer').parentElement, !(act && (conv.status === 'queued' || conv.status === 'assigned')));
  setHidden($('composer-box'), !(act && open));
  renderTransferOptions();
  updateComposerHint();
}

function updateComposerHint() {
  const conv = state.current;
  let hint = '';
  if (!canActOnConversations()) hint = 'Read-only: trainers can label messages but not reply.';
  else if (conv && !isMine(conv) && !state.noteMode) {
    hint = conv.status === 'queued'
      ? 'Claim this conversation (c) to reply. Internal notes are always possible.'
      : 'Only the assigned agent can reply. Internal notes are always possible.';
  }
  showText($('composer-hint'), hint);
}

async function runConversationAction(event, extra = {}) {
  const conv = state.current;
  if (!conv || !canActOnConversations()) return null;
  showText($('action-error'), '');
  const answer = await callServer(event, { conversation_id: conv.id, ...extra });
  if (!answer.ok) {
    showText($('action-error'), ackErrorText(answer));
    return null;
  }
  if (answer.conversation) upsertConversation(answer.conversation); // also refreshes the open view
  return answer;
}

async function claimCurrent() {
  if ($('claim').hidden) return;
  const answer = await runConversationAction('claim');
  if (answer) $('composer').focus();
}

function handBackCurrent() {
  if (!$('hand-back').hidden) runConversationAction('hand_back');
}

function resolveCurrent() {
  if (!$('resolve').hidden) runConversationAction('resolve');
}

async function transferCurrent() {
  const select = $('transfer');
  const agentId = Number(select.value);
  if (!agentId) return;
  select.disabled = true;
  await runConversationAction('transfer', { agent_id: agentId });
  select.disabled = false;
  select.value = '';
}

function renderTransferOptions() {
  const select = $('transfer');
  if (document.activeElement === select) return; // don't reset a choice being made
  const candidates = state.agents.filter((a) =>
    a.id !== state.me?.id && a.id !== state.current?.assignee?.id && a.active !== false
    && (a.role === 'agent' || a.role === 'admin'));
  setChildren(select,
    el('option', { value: '' }, 'Transfer to…'),
    ...candidates.map((a) => el('option', { value: a.id }, `${agentName(a)} · ${a.presence || 'offline'}`)),
  );
  select.value = '';
}

// ---------------------------------------------------------------------------
// Transcript
// ---------------------------------------------------------------------------

function renderTranscript() {
  const conv = state.current;
  const transcript = $('transcript');
  if (!conv) {
    setChildren(transcript);
    return;
  }
  const messages = messagesOf(conv.id);
  const pending = state.pending.filter((p) => p.conversationId === conv.id);
  setChildren(transcript, ...messages.map(renderMessage), ...pending.map(renderPendingMessage));
  scrollTranscriptToBottom();
}

/** Keep id order even when `sync` delivers older messages; pending replies stay last. */
function insertMessageNode(message) {
  const transcript = $('transcript');
  const nearBottom = isTranscriptNearBottom();
  const before = [...transcript.children].find((node) =>
    node.dataset.pending === 'true' || Number(node.dataset.messageId) > message.id);
  transcript.insertBefore(renderMessage(message), before || null);
  if (nearBottom || message.agent?.id === state.me?.id) scrollTranscriptToBottom();
}

function replaceMessageNode(message) {
  const node = $('transcript').querySelector(`[data-message-id="${CSS.escape(String(message.id))}"]`);
  if (node) node.replaceWith(renderMessage(message));
  else if (!state.pending.some((p) => p.echo === message.id)) insertMessageNode(message); // echoes wait for their ack
}

function isTranscriptNearBottom() {
  const t = $('transcript');
  return t.scrollHeight - t.scrollTop - t.clientHeight < 80;
}

function scrollTranscriptToBottom() {
  const t = $('transcript');
  t.scrollTop = t.scrollHeight;
}

function authorOf(message) {
  switch (message.sender) {
    case 'customer': return customerName(state.current);
    case 'bot': return 'Bot';
    case 'agent': return agentName(message.agent);
    case 'note': return `${agentName(message.agent)} · note`;
    default: return 'System';
  }
}

function isHandoffTrigger(message) {
  return Boolean(message.is_handoff_trigger)
    || (state.current?.handoff_message_id != null && message.id === state.current.handoff_message_id);
}

function renderMessage(message) {
  const sender = ['customer', 'bot', 'agent', 'system', 'note'].includes(message.sender) ? message.sender : 'system';
  const trigger = isHandoffTrigger(message);
  return el('li', {
    class: `msg msg-${sender}${trigger ? ' msg-handoff' : ''}`,
    'data-testid': 'message',
    'data-message-id': message.id,
    'data-sender': message.sender,
  },
  el('div', { class: 'msg-head' },
    el('span', { class: 'msg-author' }, authorOf(message)),
    el('time', { class: 'msg-time', datetime: message.created_at || null, title: formatDate(message.created_at) },
      formatClock(message.created_at))),
  sender === 'note' ? el('div', { class: 'note-flag' }, "Internal note – customer can't see") : null,
  el('div', { class: 'msg-text' }, message.text ?? ''),
  renderPayload(message.payload),
  sender === 'customer' ? renderNluChips(message.nlu) : null,
  sender === 'customer' ? renderLabelControl(message) : null,
  trigger ? renderHandoffFlag() : null);
}

function renderHandoffFlag() {
  const conv = state.current;
  return el('div', { class: 'handoff-flag', 'data-testid': 'handoff-trigger', role: 'note' },
    el('strong', {}, `Handed off here: ${handoffReasonLabel(conv?.handoff_reason) || 'handoff'}`),
    conv?.handoff_detail ? el('span', { class: 'handoff-detail' }, ` — ${conv.handoff_detail}`) : null);
}

/** Rich bot output, shown for context only: buttons are chips, not clickable. */
function renderPayload(payload) {
  if (!payload || typeof payload !== 'object') return null;
  const parts = [];
  if (Array.isArray(payload.buttons) && payload.buttons.length) {
    parts.push(el('div', { class: 'bot-buttons', 'aria-label': 'Buttons offered to the customer' },
      ...payload.buttons.map((b) => el('span', { class: 'chip chip-button', 'data-testid': 'bot-button', title: b.payload || '' },
        b.title ?? b.payload ?? ''))));
  }
  if (payload.image) {
    const src = safeHttpUrl(payload.image);
    parts.push(src
      ? el('img', { class: 'msg-image', src, alt: 'Image sent in the conversation', loading: 'lazy' })
      : el('div', { class: 'muted' }, '[image]'));
  }
  if (payload.custom !== undefined && payload.custom !== null) {
    parts.push(el('pre', { class: 'msg-custom' }, JSON.stringify(payload.custom, null, 1)));
  }
  return parts.length ? el('div', { class: 'msg-payload' }, ...parts) : null;
}

function renderNluChips(nlu) {
  if (!nlu) return el('div', { class: 'nlu' }, el('span', { class: 'chip chip-muted' }, 'no NLU'));
  const ranking = (nlu.ranking || []).slice(0, 3)
    .map((r) => `${r.name} ${Math.round((r.confidence || 0) * 100)}%`).join(', ');
  const hasConfidence = typeof nlu.confidence === 'number';
  const level = hasConfidence ? confidenceLevel(nlu.confidence) : 'unknown';
  return el('div', { class: 'nlu', 'aria-label': 'Bot understanding' },
    el('span', { class: 'chip chip-intent', 'data-testid': 'intent-chip', title: ranking ? `Top intents: ${ranking}` : 'Predicted intent' },
      nlu.intent ?? 'no intent'),
    hasConfidence ? el('span', {
      class: `chip chip-conf conf-${level}`, 'data-testid': 'confidence-chip', 'data-level': level,
      title: `Confidence ${nlu.confidence.toFixed(2)}`,
    }, `${Math.round(nlu.confidence * 100)}%`) : null,
    ...(nlu.entities || []).map((e) => el('span', { class: 'chip chip-entity', 'data-testid': 'entity-chip' },
      `${e.entity}=${typeof e.value === 'object' ? JSON.stringify(e.value) : e.value}`)));
}

function renderPendingMessage(pending) {
  const sender = pending.kind === 'note' ? 'note' : 'agent';
  return el('li', {
    class: `msg msg-${sender} msg-pending`,
    'data-testid': 'message-pending',
    'data-pending': 'true',
    'data-pending-id': pending.tempId,
    'data-sender': sender,
    'aria-busy': 'true',
  },
  el('div', { class: 'msg-head' },
    el('span', { class: 'msg-author' }, agentName(state.me)),
    el('span', { class: 'msg-time' }, 'sending…')),
  sender === 'note' ? el('div', { class: 'note-flag' }, "Internal note – customer can't see") : null,
  el('div', { class: 'msg-text' }, pending.text));
}

// ---------------------------------------------------------------------------
// Labels (agents, trainers, admins)
// ---------------------------------------------------------------------------

function renderLabelControl(message) {
  const current = message.label?.out_of_scope ? OUT_OF_SCOPE : (message.label?.intent || '');
  const intents = [...state.intents];
  if (current && current !== OUT_OF_SCOPE && !intents.includes(current)) intents.push(current);
  const select = el('select', { class: 'label-select', 'data-testid': 'label-select', 'aria-label': 'Label the intent of this message' },
    el('option', { value: '' }, 'Label…'),
    ...intents.map((intent) => el('option', { value: intent }, intent)),
    el('option', { value: OUT_OF_SCOPE }, 'out of scope'));
  select.value = current;
  const saved = el('span', { class: 'label-saved', 'data-testid': 'label-saved' }, labelText(message.label));
  setHidden(saved, !message.label);
  const error = el('span', { class: 'form-error', role: 'alert' });
  setHidden(error, true);
  const wrap = el('div', { class: 'label-ctl' }, select, saved, error);
  select.addEventListener('change', () => saveLabel(message.id, select, saved, error));
  return wrap;
}

async function saveLabel(messageId, select, savedNode, errorNode) {
  if (!select.value) return;
  const payload = select.value === OUT_OF_SCOPE
    ? { message_id: messageId, out_of_scope: true }
    : { message_id: messageId, intent: select.value };
  select.disabled = true;
  showText(errorNode, '');
  const answer = await callServer('label', payload);
  select.disabled = false;
  if (!answer.ok) {
    showText(errorNode, ackErrorText(answer));
    return;
  }
  const label = answer.message?.label
    || { intent: payload.intent ?? null, out_of_scope: Boolean(payload.out_of_scope), by: state.me?.username };
  // Update in place (no re-render) so keyboard focus stays on the select.
  const stored = state.messages.get(messageId);
  if (stored) state.messages.set(messageId, { ...stored, ...(answer.message || {}), label });
  showText(savedNode, labelText(label));
}

// ---------------------------------------------------------------------------
// Composer: reply / note, canned responses, typing
// ---------------------------------------------------------------------------

function switchComposerDraft(nextId) {
  stopAgentTyping();
  closeCanned();
  showText($('composer-error'), '');
  const composer = $('composer');
  if (state.current?.id !== undefined) {
    if (composer.value) state.drafts.set(state.current.id, composer.value);
    else state.drafts.delete(state.current.id);
  }
  composer.value = state.drafts.get(nextId) || '';
}

/** "/note text" always means an internal note, whatever the toggle says. */
function parseComposerText(raw) {
  const match = raw.match(/^\/note(?:\s|$)/i);
  if (match) return { kind: 'note', text: raw.slice(match[0].length).trim() };
  return { kind: state.noteMode ? 'note' : 'reply', text: raw.trim() };
}

function setNoteMode(on) {
  state.noteMode = on;
  $('note-toggle').setAttribute('aria-pressed', String(on));
  $('composer-box').classList.toggle('note-mode', on);
  $('composer').placeholder = on
    ? "Internal note — the customer can't see this (Enter to save)"
    : 'Reply to the customer… (Enter to send, Shift+Enter for a new line, / for canned responses)';
  $('send').textContent = on ? 'Add note' : 'Send';
  if (on) stopAgentTyping(); // the customer must not see "agent is typing" for a note
  updateComposerHint();
}

async function sendComposer() {
  const conv = state.current;
  const composer = $('composer');
  const raw = composer.value;
  const { kind, text } = parseComposerText(raw);
  if (!conv || !text || !canActOnConversations()) return;
  showText($('composer-error'), '');
  closeCanned();
  stopAgentTyping();

  const pending = { tempId: `p${++state.pendingSeq}`, conversationId: conv.id, kind, text, echo: null };
  state.pending.push(pending);
  $('transcript').append(renderPendingMessage(pending));
  scrollTranscriptToBottom();
  composer.value = '';
  state.drafts.delete(conv.id);

  const answer = await callServer(kind, { conversation_id: conv.id, text });
  settlePending(pending, answer, raw);
}

/** Turn a "sending…" bubble into the real message, or give the text back with the error. */
function settlePending(pending, answer, raw) {
  state.pending = state.pending.filter((p) => p !== pending);
  document.querySelector(`[data-pending-id="${pending.tempId}"]`)?.remove();
  const confirmed = (answer.ok && answer.message) || (pending.echo !== null && state.messages.get(pending.echo));
  if (confirmed) {
    ingestOwnMessage(confirmed);
    return;
  }
  if (answer.ok) return; // ok without a message: the `message` event will show it
  restoreComposerText(pending.conversationId, raw);
  if (state.current?.id === pending.conversationId) {
    showText($('composer-error'), `Not sent: ${ackErrorText(answer)}`);
  } else {
    showGlobalError(`A message to another conversation was not sent: ${ackErrorText(answer)}`);
  }
}

function restoreComposerText(conversationId, raw) {
  if (state.current?.id === conversationId) {
    const composer = $('composer');
    composer.value = composer.value ? `${raw}\n${composer.value}` : raw;
    composer.focus();
  } else {
    const draft = state.drafts.get(conversationId);
    state.drafts.set(conversationId, draft ? `${raw}\n${draft}` : raw);
  }
}

function ingestOwnMessage(message) {
  const existed = state.messages.has(message.id);
  state.messages.set(message.id, { ...state.messages.get(message.id), ...message });
  state.maxMessageId = Math.max(state.maxMessageId, message.id);
  updateLastMessagePreview(message);
  if (message.conversation_id === state.current?.id) {
    if (existed) replaceMessageNode(message);
    else insertMessageNode(message);
  }
  scheduleQueueRender();
}

/** Our own reply can come back as a `message` event before its ack: hold it until the ack. */
function attachEchoToPending(message) {
  if (message.agent?.id !== state.me?.id) return false;
  const wantedSender = (p) => (p.kind === 'note' ? 'note' : 'agent');
  const pending = state.pending.find((p) => p.echo === null && p.conversationId === message.conversation_id
    && wantedSender(p) === message.sender && p.text === message.text);
  if (!pending) return false;
  pending.echo = message.id;
  return true;
}

function noteAgentTyping() {
  const conv = state.current;
  if (!conv || !isMine(conv) || parseComposerText($('composer').value).kind === 'note') {
    stopAgentTyping();
    return;
  }
  const typing = state.typing;
  const now = Date.now();
  if (!typing.active || typing.conversationId !== conv.id || now - typing.sentAt > TYPING_THROTTLE_MS) {
    if (typing.active && typing.conversationId !== conv.id) stopAgentTyping();
    emitAck('typing', { conversation_id: conv.id, typing: true });
    Object.assign(typing, { active: true, conversationId: conv.id, sentAt: now });
  }
  clearTimeout(typing.idleTimer);
  typing.idleTimer = setTimeout(stopAgentTyping, TYPING_IDLE_MS);
}

function stopAgentTyping() {
  const typing = state.typing;
  clearTimeout(typing.idleTimer);
  if (typing.active) emitAck('typing', { conversation_id: typing.conversationId, typing: false });
  typing.active = false;
}

function onTypingEvent(data) {
  if (data?.who !== 'customer' || data.conversation_id !== state.current?.id) return;
  showCustomerTyping(Boolean(data.typing));
}

function showCustomerTyping(on) {
  clearTimeout(state.customerTypingTimer);
  setHidden($('customer-typing'), !on);
  if (on) state.customerTypingTimer = setTimeout(() => showCustomerTyping(false), CUSTOMER_TYPING_MAX_MS);
}

/** The "/word" the caret is in, if any: that is what the canned popup filters on. */
function cannedQueryAtCaret() {
  const composer = $('composer');
  const before = composer.value.slice(0, composer.selectionStart);
  const match = before.match(/(?:^|\s)\/([\w-]*)$/);
  return match ? { query: match[1].toLowerCase(), start: before.length - match[1].length - 1 } : null;
}

function updateCannedPopup() {
  const found = cannedQueryAtCaret();
  if (!found || !state.canned.length) {
    closeCanned();
    return;
  }
  const q = found.query;
  const byShortcut = state.canned.filter((c) => String(c.shortcut).toLowerCase().includes(q));
  const byText = q.length >= 2
    ? state.canned.filter((c) => !byShortcut.includes(c) && String(c.text).toLowerCase().includes(q)) : [];
  const startsFirst = (a, b) => Number(!String(a.shortcut).toLowerCase().startsWith(q)) - Number(!String(b.shortcut).toLowerCase().startsWith(q));
  state.cannedMatches = [...byShortcut.sort(startsFirst), ...byText].slice(0, 8);
  state.cannedIndex = 0;
  if (!state.cannedMatches.length) closeCanned();
  else renderCannedPopup();
}

function renderCannedPopup() {
  const popup = $('canned-popup');
  setChildren(popup, ...state.cannedMatches.map((c, i) => el('div', {
    id: `canned-option-${i}`,
    class: `canned-option${i === state.cannedIndex ? ' is-active' : ''}`,
    role: 'option',
    'aria-selected': String(i === state.cannedIndex),
    'data-testid': 'canned-option',
    onmousedown: (event) => { event.preventDefault(); insertCanned(c); }, // keep composer focus
  }, el('span', { class: 'canned-shortcut' }, `/${c.shortcut}`), el('span', { class: 'canned-text' }, c.text))));
  setHidden(popup, false);
  $('composer').setAttribute('aria-expanded', 'true');
  $('composer').setAttribute('aria-activedescendant', `canned-option-${state.cannedIndex}`);
  popup.querySelector('.is-active')?.scrollIntoView({ block: 'nearest' });
}

function closeCanned() {
  state.cannedMatches = [];
  setHidden($('canned-popup'), true);
  $('composer').setAttribute('aria-expanded', 'false');
  $('composer').removeAttribute('aria-activedescendant');
}

function insertCanned(canned) {
  const composer = $('composer');
  const found = cannedQueryAtCaret();
  const caret = composer.selectionStart;
  const start = found ? found.start : caret;
  composer.value = composer.value.slice(0, start) + canned.text + composer.value.slice(caret);
  const position = start + String(canned.text).length;
  composer.setSelectionRange(position, position);
  closeCanned();
  composer.focus();
  noteAgentTyping();
}

function onComposerKeydown(event) {
  const popupOpen = !$('canned-popup').hidden && state.cannedMatches.length > 0;
  if (popupOpen) {
    const count = state.cannedMatches.length;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      state.cannedIndex = (state.cannedIndex + (event.key === 'ArrowDown' ? 1 : -1) + count) % count;
      renderCannedPopup();
      return;
    }
    if ((event.key === 'Enter' && !event.shiftKey) || event.key === 'Tab') {
      event.preventDefault();
      insertCanned(state.cannedMatches[state.cannedIndex]);
      return;
    }
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      closeCanned();
      return;
    }
  }
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    sendComposer();
  } else if (event.key === 'Escape') {
    event.stopPropagation();
    $('composer').blur(); // hand the keyboard back to the shortcuts
  }
}

function onComposerInput() {
  showText($('composer-error'), '');
  updateCannedPopup();
  noteAgentTyping();
}

// ---------------------------------------------------------------------------
// Customer panel
// ---------------------------------------------------------------------------

function renderEmptyCustomerPanel(text) {
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

function renderCustomerPanel() {
  const conv = state.current;
  if (!conv) {
    renderEmptyCustomerPanel('No conversation open.');
    return;
  }
  const context = state.currentContext || {};
  const customer = { ...(conv.customer || {}), ...(context.customer || {}) };
  const skip = new Set(['id', 'name', 'email', 'identities', 'metadata', 'attributes', 'profile']);
  const profile = Object.entries(customer).filter(([key, value]) => !skip.has(key) && typeof value !== 'object');
  const metadata = {
    ...(customer.profile || {}), ...(customer.attributes || {}), ...(customer.metadata || {}), ...(conv.metadata || {}),
  };

  setChildren($('customer-panel'),
    el('header', { class: 'panel-head' },
      el('h2', { 'data-testid': 'customer-name' }, customerName(conv)),
      customer.email ? el('div', { class: 'muted', 'data-testid': 'customer-email' }, customer.email) : null),
    panelSection('Channel',
      el('div', {}, badge(conv.channel || '?', `channel-${conv.channel}`, 'customer-channel')),
      renderIdentities(customer.identities)),
    profile.length ? panelSection('Profile', definitionList(profile)) : null,
    Object.keys(metadata).length ? panelSection('Details', definitionList(Object.entries(metadata))) : null,
    renderOrders(context.crm?.orders),
    renderTickets(context.crm?.tickets),
    renderEarlierConversations(context.earlier_conversations),
    !state.currentContext && canActOnConversations() ? el('p', { class: 'muted' }, 'Loading customer details…') : null,
  );
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
        onclick: () => openConversation(c.id),
      },
      el('span', { class: 'order-head' }, badge(c.status || '?', `status-${c.status}`), el('span', { class: 'muted' }, formatDate(c.created_at))),
      c.first_message ? el('span', { class: 'earlier-text' }, `First: ${c.first_message.text ?? ''}`) : null,
      c.last_message ? el('span', { class: 'earlier-text' }, `Last: ${c.last_message.text ?? ''}`) : null))))
    : el('p', { class: 'muted' }, 'None.'));
}

// ---------------------------------------------------------------------------
// Agents and presence
// ---------------------------------------------------------------------------

async function loadAgents() {
  try {
    const { agents } = await api('GET', '/api/agents');
    applyAgents(agents);
  } catch { /* the presence event will fill the list */ }
}

function applyAgents(agents) {
  if (!Array.isArray(agents)) return;
  state.agents = agents;
  const me = agents.find((a) => a.id === state.me?.id);
  if (me && (me.presence === 'online' || me.presence === 'away')) {
    state.myPresence = me.presence;
    $('presence-select').value = me.presence;
  }
  $('my-presence-dot').className = `dot dot-${cssToken(state.myPresence)}`;
  renderAgents();
  if (state.current) renderTransferOptions();
}

function renderAgents() {
  const load = new Map();
  for (const conv of state.conversations.values()) {
    if (conv.status === 'assigned' && conv.assignee) load.set(conv.assignee.id, (load.get(conv.assignee.id) || 0) + 1);
  }
  const people = state.agents.filter((a) => a.active !== false && a.role !== 'trainer');
  setChildren($('agent-list'), ...people.map((a) => el('li', { class: 'agent', 'data-testid': 'agent', 'data-agent-id': a.id },
    el('span', { class: `dot dot-${cssToken(a.presence || 'offline')}`, role: 'img', 'aria-label': a.presence || 'offline' }),
    el('span', { class: 'agent-name' }, `${agentName(a)}${a.id === state.me?.id ? ' (you)' : ''}`),
    el('span', { class: 'muted agent-load', title: 'Assigned conversations / capacity' },
      `${a.active_conversations ?? load.get(a.id) ?? 0}${a.capacity ? `/${a.capacity}` : ''}`))));
}

async function changePresence() {
  const select = $('presence-select');
  const previous = state.myPresence;
  state.myPresence = select.value;
  $('my-presence-dot').className = `dot dot-${cssToken(state.myPresence)}`;
  const answer = await emitAck('presence', { status: select.value });
  if (!answer.ok) {
    state.myPresence = previous;
    select.value = previous;
    $('my-presence-dot').className = `dot dot-${cssToken(previous)}`;
    showGlobalError(`Could not change your status: ${ackErrorText(answer)}`);
  }
}

// ---------------------------------------------------------------------------
// Handoff alerts: sound, desktop notification, in-page toast
// ---------------------------------------------------------------------------

/** Browsers only start audio after a user gesture, so the context is created on one. */
function unlockAudio() {
  try {
    state.audio = state.audio || new (window.AudioContext || window.webkitAudioContext)();
    if (state.audio.state === 'suspended') state.audio.resume().catch(() => {});
  } catch { state.audio = null; }
}

function playBeep() {
  const ctx = state.audio;
  if (!ctx) return;
  const oscillator = ctx.createOscillator();
  const gain = ctx.createGain();
  const t = ctx.currentTime;
  oscillator.type = 'sine';
  oscillator.frequency.setValueAtTime(880, t);
  oscillator.frequency.setValueAtTime(1175, t + 0.09);
  gain.gain.setValueAtTime(0.0001, t);
  gain.gain.exponentialRampToValueAtTime(0.18, t + 0.01);
  gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.25);
  oscillator.connect(gain).connect(ctx.destination);
  oscillator.start(t);
  oscillator.stop(t + 0.26);
}

function announceHandoff(summary) {
  playBeep();
  const body = `${customerName(summary)} — ${handoffReasonLabel(summary.handoff_reason) || 'needs an agent'}`;
  if ('Notification' in window && Notification.permission === 'granted') {
    try {
      const notification = new Notification('New conversation in the queue', { body, tag: `baton-handoff-${summary.id}` });
      notification.onclick = () => {
        window.focus();
        openConversation(summary.id);
        notification.close();
      };
    } catch { /* some browsers only allow notifications from a service worker */ }
  }
  showToast(`New in queue: ${body}`, () => openConversation(summary.id));
}

function showToast(text, onOpen) {
  let holder = document.querySelector('.toasts');
  if (!holder) {
    holder = el('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(holder);
  }
  const toast = el('button', { type: 'button', class: 'toast', 'data-testid': 'toast' }, text);
  toast.addEventListener('click', () => { toast.remove(); onOpen?.(); });
  holder.append(toast);
  setTimeout(() => toast.remove(), 6000);
}

function updateNotifyButton() {
  const show = 'Notification' in window && Notification.permission === 'default' && canActOnConversations();
  setHidden($('notify-enable'), !show);
}

async function requestNotificationPermission() {
  unlockAudio();
  try { await Notification.requestPermission(); } catch { /* old callback-style API: ignore */ }
  updateNotifyButton();
}

// ---------------------------------------------------------------------------
// Reference data
// ---------------------------------------------------------------------------

async function loadIntents() {
  try {
    const { intents } = await api('GET', '/api/intents');
    state.intents = Array.isArray(intents) ? intents : [];
    if (state.current) renderTranscript(); // label selects need the list
  } catch { /* labels still work for intents already saved */ }
}

async function loadCanned() {
  try {
    const { canned } = await api('GET', '/api/canned');
    state.canned = Array.isArray(canned) ? canned : [];
  } catch { state.canned = []; }
  return state.canned;
}

// ---------------------------------------------------------------------------
// Views: inbox / review / admin
// ---------------------------------------------------------------------------

function setView(view) {
  if (view === 'review' && !canReview()) view = 'inbox';
  if (view === 'admin' && !isAdmin()) view = 'inbox';
  state.view = view;
  for (const button of document.querySelectorAll('.view-tab')) {
    button.setAttribute('aria-pressed', String(button.dataset.view === view));
  }
  setHidden($('view-inbox'), view !== 'inbox');
  setHidden($('view-review'), view !== 'review');
  setHidden($('view-admin'), view !== 'admin');
  if (view === 'review') loadReview();
  if (view === 'admin') loadAdmin();
}

async function loadReview() {
  showText($('review-error'), '');
  try {
    const { items } = await api('GET', '/api/review');
    renderReview(Array.isArray(items) ? items : []);
  } catch (error) {
    showText($('review-error'), error.message);
  }
}

function renderReview(items) {
  setChildren($('review-list'), ...items.map(renderReviewItem));
  setHidden($('review-empty'), items.length > 0);
}

function renderReviewItem(item) {
  const message = { ...(item.message || {}), label: item.label ?? item.message?.label ?? null };
  // The server sends `predicted` as the intent name plus a sibling `confidence`; objects are accepted too.
  const predicted = item.predicted;
  const nlu = {
    ...(message.nlu || {}),
    intent: typeof predicted === 'string' ? predicted : (predicted?.intent ?? predicted?.name ?? message.nlu?.intent),
    confidence: item.confidence ?? predicted?.confidence ?? message.nlu?.confidence,
  };
  if (typeof message.id === 'number') state.messages.set(message.id, { ...state.messages.get(message.id), ...message });
  return el('li', { class: 'review-item', 'data-testid': 'review-item', 'data-message-id': message.id ?? '' },
    el('div', { class: 'review-text' }, message.text ?? ''),
    renderNluChips(nlu),
    renderLabelControl(message),
    item.conversation_id != null ? el('button', {
      type: 'button', class: 'btn btn-small btn-link', onclick: () => openConversation(item.conversation_id),
    }, `Open conversation #${item.conversation_id}`) : null);
}

async function loadAdmin() {
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

async function submitUserForm(event) {
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

async function submitCannedForm(event) {
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

// ---------------------------------------------------------------------------
// Keyboard shortcuts and help
// ---------------------------------------------------------------------------

function openHelp() {
  state.helpReturnFocus = document.activeElement;
  setHidden($('help-overlay'), false);
  $('help-overlay').querySelector('.dialog').focus();
}

function closeHelp() {
  if ($('help-overlay').hidden) return;
  setHidden($('help-overlay'), true);
  state.helpReturnFocus?.focus?.();
}

function onGlobalKeydown(event) {
  if (event.key === 'Escape') {
    closeHelp();
    closeCanned();
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey || !state.me) return;
  if (isEditableTarget(event.target)) return;
  if (event.key === '?') {
    event.preventDefault();
    if ($('help-overlay').hidden) openHelp(); else closeHelp();
    return;
  }
  if (!$('help-overlay').hidden || state.view !== 'inbox') return;
  const actions = {
    j: () => moveSelection(1),
    k: () => moveSelection(-1),
    c: claimCurrent,
    b: handBackCurrent,
    r: resolveCurrent,
    n: () => {
      if (!state.current || $('composer-box').hidden) return;
      setNoteMode(!state.noteMode);
      $('composer').focus();
    },
    '/': () => { if (state.current && !$('composer-box').hidden) $('composer').focus(); },
  };
  const action = actions[event.key];
  if (action) {
    event.preventDefault(); // e.g. "/" must not be typed into the composer it focuses
    action();
  }
}

// ---------------------------------------------------------------------------
// Wiring
// ---------------------------------------------------------------------------

function bindStaticHandlers() {
  $('login-form').addEventListener('submit', submitLogin);
  $('logout').addEventListener('click', logout);
  $('connection-retry').addEventListener('click', () => reconnectIfSessionValid());
  $('notify-enable').addEventListener('click', requestNotificationPermission);
  $('presence-select').addEventListener('change', changePresence);
  $('help-open').addEventListener('click', openHelp);
  $('help-close').addEventListener('click', closeHelp);
  $('help-overlay').addEventListener('click', (event) => { if (event.target === $('help-overlay')) closeHelp(); });
  for (const button of document.querySelectorAll('.view-tab')) {
    button.addEventListener('click', () => setView(button.dataset.view));
  }
  for (const button of document.querySelectorAll('.queue-tab')) {
    button.addEventListener('click', () => setTab(button.dataset.tab));
  }
  $('claim').addEventListener('click', claimCurrent);
  $('hand-back').addEventListener('click', handBackCurrent);
  $('resolve').addEventListener('click', resolveCurrent);
  $('transfer').addEventListener('change', transferCurrent);
  $('note-toggle').addEventListener('click', () => { setNoteMode(!state.noteMode); $('composer').focus(); });
  $('send').addEventListener('click', sendComposer);
  $('composer').addEventListener('keydown', onComposerKeydown);
  $('composer').addEventListener('input', onComposerInput);
  $('composer').addEventListener('blur', () => setTimeout(closeCanned, 150));
  $('review-refresh').addEventListener('click', loadReview);
  $('user-form').addEventListener('submit', submitUserForm);
  $('canned-form').addEventListener('submit', submitCannedForm);
  document.addEventListener('keydown', onGlobalKeydown);
  // Any click or key press is a gesture that lets the beep play later.
  document.addEventListener('pointerdown', unlockAudio, { once: true });
  document.addEventListener('keydown', unlockAudio, { once: true });
}

boot();
