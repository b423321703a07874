// Catching up when the socket (re)connects: the queue snapshot, or the HTTP list when it
// does not come, and every message missed while disconnected.

import { api } from './api.js';
import { refreshOpenConversation } from './conversation.js';
import { showGlobalError } from './dom.js';
import { ackErrorText, emitAck } from './socket.js';
import { state } from './state.js';
import { ingestMessage, onQueueSnapshot } from './store.js';

const QUEUE_SNAPSHOT_GRACE_MS = 4000;

export function onConnected(isReconnect) {
  expectQueueSnapshot();
  if (state.myPresence === 'away') emitAck('presence', { status: 'away' }); // the server resets us to online
  if (isReconnect) resyncAfterReconnect();
  // Opened before the socket was up (a link): open it again over the socket, which tells the
  // customer a transferred conversation has been opened.
  else if (state.current) refreshOpenConversation();
}

export function onDisconnected() {
  state.queueSnapshotSeen = false; // the next connection must bring a fresh snapshot
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
