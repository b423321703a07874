// HTTP to the console API (docs/api.md). Every call resolves to the JSON body or throws an ApiError.

import { state } from './state.js';

export class ApiError extends Error {
  constructor(status, code, message, data = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.data = data; // the whole error body: a 409 carries the current version and what changed
  }
}

// Set by main.js: a 401 mid-session means the cookie expired and the page goes back to login.
let sessionExpired = () => {};

export function onSessionExpired(handler) {
  sessionExpired = handler;
}

function describeHttpError(status, message) {
  if (status === 403) return `You don't have permission to do this.${message ? ` (${message})` : ''}`;
  if (status === 401) return 'You are not logged in.';
  return message || `The request failed (HTTP ${status}).`;
}

export async function api(method, path, body) {
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
    if (response.status === 401 && state.me && path !== '/api/login') sessionExpired();
    throw new ApiError(response.status, data?.error || `http_${response.status}`,
      describeHttpError(response.status, data?.message), data);
  }
  return data || {};
}
