// Handoff alerts: a beep, a desktop notification, an in-page toast.

import { handoffReasonLabel } from './config.js';
import { $, el, setHidden } from './dom.js';
import { customerName } from './format.js';
import { canActOnConversations, state } from './state.js';

/** Browsers only start audio after a user gesture, so the context is created on one. */
export function unlockAudio() {
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

/** `open(id)` shows the conversation when the agent clicks the notification or the toast. */
export function announceHandoff(summary, open) {
  playBeep();
  const body = `${customerName(summary)} — ${handoffReasonLabel(summary.handoff_reason) || 'needs an agent'}`;
  if ('Notification' in window && Notification.permission === 'granted') {
    try {
      const notification = new Notification('New conversation in the queue', { body, tag: `baton-handoff-${summary.id}` });
      notification.onclick = () => {
        window.focus();
        open(summary.id);
        notification.close();
      };
    } catch { /* some browsers only allow notifications from a service worker */ }
  }
  showToast(`New in queue: ${body}`, () => open(summary.id));
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

export function updateNotifyButton() {
  const show = 'Notification' in window && Notification.permission === 'default' && canActOnConversations();
  setHidden($('notify-enable'), !show);
}

export async function requestNotificationPermission() {
  unlockAudio();
  try { await Notification.requestPermission(); } catch { /* old callback-style API: ignore */ }
  updateNotifyButton();
}
