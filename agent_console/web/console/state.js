// The console's one mutable state object and the small questions asked of it.
// Modules read and write `state` directly; nothing here touches the DOM.

export const state = {
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

/** Forget everything about the previous user, so a new login starts clean. */
export function forgetSession() {
  Object.assign(state, {
    me: null, socket: null, connectedOnce: false, queueSnapshotSeen: false, maxMessageId: 0,
    current: null, currentContext: null, pending: [], noteMode: false, canned: [], agents: [], myPresence: 'online',
  });
  for (const map of [state.conversations, state.messages, state.unread, state.drafts]) map.clear();
}

// ---- roles -------------------------------------------------------------------------------

export const role = () => state.me?.role;
export const canActOnConversations = () => role() === 'agent' || role() === 'admin';
export const canReview = () => role() === 'trainer' || role() === 'admin';
export const isAdmin = () => role() === 'admin';

// ---- conversations -----------------------------------------------------------------------

export function isMine(conv) {
  return conv?.status === 'assigned' && conv.assignee?.id === state.me?.id;
}

export function isHumanHandled(conv) {
  return conv?.status === 'queued' || conv?.status === 'assigned';
}

export function messagesOf(conversationId) {
  return [...state.messages.values()]
    .filter((m) => m.conversation_id === conversationId)
    .sort((a, b) => a.id - b.id);
}
