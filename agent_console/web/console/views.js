// The screens (inbox, the trainer workbench's review / intents / models / bot settings, admin)
// and which ones the role may see. The server refuses the workbench to agents anyway; hiding
// it here only keeps their screen uncluttered.

import { loadAdmin } from './admin.js';
import { loadBotSettings } from './bot_settings.js';
import { $, setHidden } from './dom.js';
import { loadIntentsEditor } from './intents.js';
import { loadModels } from './models.js';
import { loadReview } from './review.js';
import { loadReports } from './reports.js';
import { loadSearch } from './search.js';
import { canReview, isAdmin, state } from './state.js';

export const WORKBENCH_VIEWS = ['review', 'intents', 'models', 'settings'];
const VIEWS = ['inbox', 'search', ...WORKBENCH_VIEWS, 'admin', 'reports'];
const LOADERS = {
  review: () => loadReview(), intents: loadIntentsEditor, models: loadModels, settings: loadBotSettings, admin: loadAdmin,
  search: loadSearch, reports: loadReports,
};

export function mayOpen(view) {
  if (WORKBENCH_VIEWS.includes(view)) return canReview();
  if (view === 'admin' || view === 'reports') return isAdmin();
  return view === 'inbox' || view === 'search';
}

export function setView(view) {
  if (!VIEWS.includes(view) || !mayOpen(view)) view = 'inbox';
  state.view = view;
  for (const button of document.querySelectorAll('.view-tab')) {
    button.setAttribute('aria-pressed', String(button.dataset.view === view));
  }
  for (const name of VIEWS) setHidden($(`view-${name}`), view !== name);
  LOADERS[view]?.();
}

/** After a reconnect: what the open workbench screen shows may have moved on meanwhile. */
export function reloadWorkbenchView() {
  if (WORKBENCH_VIEWS.includes(state.view)) LOADERS[state.view]();
}
