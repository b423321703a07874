// Baton agent console: one page, ES modules, no framework, no build step.
//
// Contract: docs/api.md (HTTP under /api, Socket.IO namespace /agents).
// This module boots the page: login and logout, fetching the server's config before
// anything renders, and wiring DOM and socket events to the modules that handle them.

import { submitCannedForm, submitUserForm } from './admin.js';
import { applyAgents, changePresence, loadAgents, renderAgents } from './agents.js';
import { announceHandoff, requestNotificationPermission, unlockAudio, updateNotifyButton } from './alerts.js';
import { api, onSessionExpired } from './api.js';
import {
  closeCanned, loadCanned, onComposerInput, onComposerKeydown, sendComposer, setNoteMode, stopAgentTyping,
} from './composer.js';
import { loadConfig } from './config.js';
import {
  claimCurrent, handBackCurrent, openConversation, resolveCurrent, takeOverCurrent, transferCurrent,
} from './conversation.js';
import { renderEmptyCustomerPanel } from './customer_panel.js';
import { $, OPENS_CONVERSATION, setChildren, setHidden, showText, tickWaitingTimes } from './dom.js';
import { closeHelp, onGlobalKeydown, openHelp } from './keyboard.js';
import { linkedConversation } from './links.js';
import { setTab, updateTitle } from './queue.js';
import { onModelEvent } from './models.js';
import { onSettingsEvent } from './bot_settings.js';
import { loadReview, onMessageLabelled, onReviewItem, onReviewed, refreshReviewCounts } from './review.js';
import { loadSatisfaction, noteRatedMessage } from './ratings.js';
import { bindResolveDialog } from './resolve.js';
import { bindOperations } from './ops_settings.js';
import { bindReports } from './reports.js';
import { bindSearch } from './search.js';
import { bindTagEditing, loadKnownTags } from './tags.js';
import { closeSocket, connectSocket, reconnectIfSessionValid } from './socket.js';
import {
  canActOnConversations, canReview, forgetSession, isAdmin, role, state,
} from './state.js';
import { ingestMessage, onQueueSnapshot, upsertConversation } from './store.js';
import { onConnected, onDisconnected } from './sync.js';
import { loadIntents, onTypingEvent } from './transcript.js';
import { WORKBENCH_VIEWS, reloadWorkbenchView, setView } from './views.js';

const WAIT_TICK_MS = 250;

// ---- boot, login, logout -----------------------------------------------------------------

async function boot() {
  bindStaticHandlers();
  onSessionExpired(handleSessionExpired);
  setInterval(tickWaitingTimes, WAIT_TICK_MS);
  try {
    const { user } = await api('GET', '/api/me');
    await enterApp(user);
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
    await enterApp(user);
  } catch (error) {
    const text = error.status === 401 ? 'Wrong username or password.' : error.message;
    showText($('login-error'), text);
    $('login-submit').disabled = false;
  }
}

/** Labels, colour bands and limits come from the server, so nothing renders before they do. */
async function enterApp(user) {
  await loadConfig();
  startApp(user);
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
  loadSatisfaction().then(renderAgents);
  loadKnownTags();
  state.onSatisfaction = renderAgents;
  if (canActOnConversations()) loadCanned();
  connectSocket({
    onConnect: (isReconnect) => {
      onConnected(isReconnect);
      if (isReconnect) reloadWorkbenchView();
    },
    onDisconnect: onDisconnected,
    events: {
      queue: onQueueSnapshot,
      conversation: upsertConversation,
      message: (message) => {
        ingestMessage(message);
        noteRatedMessage(message);
        if (canReview()) onMessageLabelled(message);
      },
      typing: onTypingEvent,
      presence: (data) => applyAgents(data?.agents),
      handoff: onHandoffEvent,
      delivery: onDeliveryEvent,
      // The trainer workbench: the server sends these to every console; only trainers and admins use them.
      review_item: (item) => { if (canReview()) onReviewItem(item); },
      reviewed: (data) => { if (canReview()) onReviewed(data); },
      model: (data) => { if (canReview()) onModelEvent(data); },
      settings: (data) => { if (canReview()) onSettingsEvent(data?.settings ?? data); },
    },
  });
  setView(role() === 'trainer' ? 'review' : 'inbox');
  if (role() === 'admin') refreshReviewCounts(); // the Review tab's badge, before the screen is opened
  openLinkedConversation();
}

/** /console#/conversations/12 opens that conversation (links from anywhere name the same number). */
function openLinkedConversation() {
  const id = linkedConversation();
  if (id) openConversation(id);
}

/** An outbound message was sent, is being retried, or failed: the transcript shows it. */
function onDeliveryEvent(data) {
  const known = state.messages.get(data?.message_id);
  if (!known) return;
  const status = data.status === 'retrying' ? 'pending' : data.status;
  const providerStatus = data.provider_status ?? known.delivery?.provider_status ?? null;
  ingestMessage({ ...known, delivery: { status, error: data.error ?? null, attempts: data.attempts,
    provider_status: providerStatus } });
}

function onHandoffEvent(summary) {
  upsertConversation(summary);
  if (canActOnConversations()) announceHandoff(summary, openConversation);
}

function applyRoleVisibility() {
  for (const view of WORKBENCH_VIEWS) setHidden(document.querySelector(`[data-view="${view}"]`), !canReview());
  setHidden(document.querySelector('[data-view="admin"]'), !isAdmin());
  setHidden(document.querySelector('[data-view="reports"]'), !isAdmin());
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
  closeSocket();
  forgetSession();
  $('presence-select').value = 'online';
  setNoteMode(false);
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

// ---- wiring ------------------------------------------------------------------------------

/** Queue items, earlier conversations and review links all carry the id they open. */
function onOpenConversationClick(event) {
  const button = event.target instanceof Element ? event.target.closest(`[${OPENS_CONVERSATION}]`) : null;
  if (button) openConversation(Number(button.getAttribute(OPENS_CONVERSATION)));
}

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
  document.addEventListener('click', onOpenConversationClick);
  $('claim').addEventListener('click', claimCurrent);
  $('take-over').addEventListener('click', takeOverCurrent);
  $('hand-back').addEventListener('click', handBackCurrent);
  $('resolve').addEventListener('click', resolveCurrent);
  $('transfer').addEventListener('change', transferCurrent);
  $('note-toggle').addEventListener('click', () => { setNoteMode(!state.noteMode); $('composer').focus(); });
  $('send').addEventListener('click', sendComposer);
  $('composer').addEventListener('keydown', onComposerKeydown);
  $('composer').addEventListener('input', onComposerInput);
  $('composer').addEventListener('blur', () => setTimeout(closeCanned, 150));
  bindResolveDialog();
  bindSearch();
  bindTagEditing();
  bindReports();
  bindOperations();
    $('review-refresh').addEventListener('click', () => loadReview());
  $('user-form').addEventListener('submit', submitUserForm);
  $('canned-form').addEventListener('submit', submitCannedForm);
  document.addEventListener('keydown', onGlobalKeydown);
  window.addEventListener('hashchange', () => { if (state.me) openLinkedConversation(); });
  // Any click or key press is a gesture that lets the beep play later.
  document.addEventListener('pointerdown', unlockAudio, { once: true });
  document.addEventListener('keydown', unlockAudio, { once: true });
}

boot();
