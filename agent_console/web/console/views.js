// The three screens (inbox, review, admin) and which one the role may see.

import { loadAdmin } from './admin.js';
import { $, setHidden } from './dom.js';
import { loadReview } from './review.js';
import { loadReports } from './reports.js';
import { loadSearch } from './search.js';
import { canReview, isAdmin, state } from './state.js';

export function setView(view) {
  if (view === 'review' && !canReview()) view = 'inbox';
  if (view === 'admin' && !isAdmin()) view = 'inbox';
  if (view === 'reports' && !isAdmin()) view = 'inbox';
  state.view = view;
  for (const button of document.querySelectorAll('.view-tab')) {
    button.setAttribute('aria-pressed', String(button.dataset.view === view));
  }
  setHidden($('view-inbox'), view !== 'inbox');
  setHidden($('view-review'), view !== 'review');
  setHidden($('view-admin'), view !== 'admin');
  setHidden($('view-search'), view !== 'search');
  setHidden($('view-reports'), view !== 'reports');
  if (view === 'review') loadReview();
  if (view === 'admin') loadAdmin();
  if (view === 'search') loadSearch();
  if (view === 'reports') loadReports();
}
