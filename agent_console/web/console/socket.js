// The Socket.IO connection to /agents: connect, status line, reconnect, acks, and the HTTP
// twins that keep actions working while the socket is down. What to do with events and how
// to catch up after a reconnect is decided by the caller (main.js, sync.js).

import { api } from './api.js';
import { $, setHidden } from './dom.js';
import { state } from './state.js';

const ACK_TIMEOUT_MS = 10000;

const ACK_ERROR_TEXT = {
  already_claimed: 'Someone else already claimed this conversation.',
  forbidden: "You don't have permission to do this.",
  not_logged_in: 'You are not logged in.',
  disconnected: 'Not connected to the server — nothing was sent.',
  timeout: 'The server did not confirm in time. Check the transcript before retrying.',
};

/**
 * Open the socket. `onConnect(isReconnect)` and `onDisconnect()` follow the connection;
 * `events` maps server event names to handlers.
 */
export function connectSocket({ onConnect, onDisconnect, events }) {
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
  socket.on('connect', () => {
    setConnectionStatus('up', 'connected');
    const isReconnect = state.connectedOnce;
    state.connectedOnce = true;
    onConnect(isReconnect);
  });
  socket.on('disconnect', (reason) => {
    onDisconnect();
    if (reason === 'io client disconnect') return; // we did it (logout)
    setConnectionStatus('down', 'reconnecting…');
    // The client does not retry on its own after the server closed the socket.
    if (reason === 'io server disconnect') reconnectIfSessionValid();
  });
  socket.on('connect_error', onSocketConnectError);
  state.onReconnectAttempt = () => setConnectionStatus('down', 'reconnecting…');
  socket.io.on('reconnect_attempt', state.onReconnectAttempt);
  for (const [name, handler] of Object.entries(events)) socket.on(name, handler);
}

/** Logout: drop the socket without triggering any reconnect logic. */
export function closeSocket() {
  const socket = state.socket;
  if (!socket) return;
  socket.removeAllListeners();
  socket.io.off('reconnect_attempt', state.onReconnectAttempt);
  socket.disconnect();
}

function setConnectionStatus(kind, text) {
  const node = $('connection-status');
  node.textContent = text;
  node.className = `conn conn-${kind}`;
  setHidden($('connection-retry'), kind !== 'refused');
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

export async function reconnectIfSessionValid() {
  try {
    await api('GET', '/api/me');
    state.socket?.connect();
  } catch { /* 401 handled in api(); other errors: the Retry button stays available */ }
}

/** Emit with an ack; always resolves to {ok, ...} so callers have one error path. */
export function emitAck(event, payload) {
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

export async function callServer(event, payload) {
  const route = httpRouteFor(event, payload);
  if (state.socket?.connected || !route) return emitAck(event, payload);
  try {
    return { ok: true, ...(await api('POST', route[0], route[1])) };
  } catch (error) {
    return { ok: false, error: error.code, message: error.message, status: error.status };
  }
}

export function ackErrorText(answer) {
  if (answer?.error === 'forbidden' || answer?.status === 403) return ACK_ERROR_TEXT.forbidden;
  return answer?.message || ACK_ERROR_TEXT[answer?.error] || `Failed (${answer?.error || 'unknown error'}).`;
}
