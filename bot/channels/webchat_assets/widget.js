/*!
 * Baton customer chat widget.
 *
 * One-line embed on any website:
 *   <script src="https://baton.example.com/widget.js" data-server="https://baton.example.com"
 *           data-title="Northwind support" data-color="#4f46e5" data-greeting="Hi!" defer></script>
 *
 * Speaks Rasa's socketio channel protocol (docs/api.md, "Customer web chat"), asking
 * in session_request for Baton's richer message shape (who sent it, the agent's name).
 * Plain JavaScript, no build step; the only dependency is the Socket.IO client
 * that Baton serves at <server>/static/vendor/socket.io.min.js.
 *
 * Security rule for this file: text coming from the server, the bot, agents or
 * storage is only ever put into the page with textContent / createTextNode and
 * URL properties checked against an allow-list. Never innerHTML with data.
 *
 * Keep this file ASCII-only (use \u escapes): host pages without a charset
 * would otherwise decode it as windows-1252 and garble the text.
 */
(function () {
  'use strict';

  // Tag managers sometimes inject the snippet twice; a second copy must not
  // open a second socket or draw a second launcher.
  if (window.Baton && window.Baton.version) return;

  const VERSION = '1.0.0';
  const BATON_PROTOCOL = 1; // the version of Baton's message shape this widget reads
  const DEFAULT_MAX_LENGTH = 4000; // the server's default; session_confirm tells the real limit
  const COUNTER_WARN_SHARE = 0.9; // the counter turns red at this share of the limit
  const BOT_TYPING_MAX_MS = 15000; // never leave the dots spinning if no reply comes
  const CUSTOMER_IDLE_MS = 3000; // customer counts as "stopped typing" after this pause
  const CUSTOMER_TYPING_REFRESH_MS = 5000; // re-announce so the server may expire stale typing states
  const CACHE_LIMIT = 200; // messages kept in the local transcript cache
  const SCROLL_STICK_PX = 80; // "near the bottom" distance for auto-scrolling
  const SENDERS = ['customer', 'bot', 'agent', 'system'];

  // currentScript must be read now: it is null once this first run is over.
  const ownScript = findOwnScript();
  const config = readConfig(ownScript);
  const store = createStore('baton:' + config.server + ':');

  const state = {
    socket: null,
    connecting: false,
    confirmed: false, // true between session_confirm and the next disconnect
    sessionId: store.get('session_id'),
    maxLength: DEFAULT_MAX_LENGTH,
    messages: [], // transcript model; what is rendered and what is cached
    outbox: [], // [{message, entry}] typed before a session was confirmed
    justFlushed: [], // outbox items sent right after session_confirm (see onHistory)
    seenAgents: new Set(),
    open: false,
    unread: 0,
    botTypingTimer: null,
    customerTyping: false,
    customerTypingSentAt: 0,
    customerIdleTimer: null,
    connection: 'idle', // idle | connecting | online | offline
    wait: null, // the server's queue_status while a person is awaited or talking (see "Waiting")
  };

  const bubbleOf = new WeakMap(); // transcript entry -> its bubble element
  let ui = null;

  // ---------------------------------------------------------------------------
  // Configuration
  // ---------------------------------------------------------------------------

  function findOwnScript() {
    if (document.currentScript) return document.currentScript;
    // Some loaders run the file without currentScript; take the last widget tag.
    const tags = document.querySelectorAll('script[src*="widget.js"]');
    return tags.length ? tags[tags.length - 1] : null;
  }

  function readConfig(script) {
    const data = (script && script.dataset) || {};
    const scriptOrigin = new URL(script && script.src ? script.src : location.href, location.href).origin;
    const serverUrl = parseUrl(data.server) || new URL(scriptOrigin);
    const server = serverUrl.href.replace(/\/+$/, '');
    const color = isValidColor(data.color) ? data.color : '#4f46e5';
    return {
      server: server,
      // io() treats a URL path as a namespace; the customer chat is on the default one.
      socketOrigin: serverUrl.origin,
      title: data.title || 'Chat with us',
      color: color,
      textOnColor: readableTextColor(color),
      greeting: data.greeting || '',
      initPayload: data.initPayload || '',
      connectOnLoad: data.connect === 'load',
      customer: readCustomerAttributes(script),
      // What the embed itself sets wins over the defaults an admin keeps on the server.
      fromEmbed: { title: !!data.title, color: isValidColor(data.color), greeting: !!data.greeting },
    };
  }

  function parseUrl(value) {
    if (!value) return null;
    try {
      return new URL(value, location.href);
    } catch (e) {
      return null; // a typo in data-server falls back to the script's own origin
    }
  }

  // data-customer-user-id="42" becomes customData.user_id = "42". The identity attributes the
  // README documents go under the keys the server verifies (bot/identity.py): data-customer-id
  // and data-customer-hash (the shop's HMAC of the id) become customer_id and customer_hash.
  function readCustomerAttributes(script) {
    const identityKeys = { id: 'customer_id', hash: 'customer_hash', email: 'customer_email', name: 'customer_name' };
    const customer = {};
    if (!script) return customer;
    const prefix = 'data-customer-';
    for (const attr of Array.from(script.attributes)) {
      if (attr.name.startsWith(prefix) && attr.name.length > prefix.length) {
        const key = attr.name.slice(prefix.length).replace(/-/g, '_');
        customer[identityKeys[key] || key] = attr.value;
      }
    }
    return customer;
  }

  function isValidColor(value) {
    return typeof value === 'string' && value !== '' && !!(window.CSS && CSS.supports && CSS.supports('color', value));
  }

  // The header and customer bubbles sit on the brand colour, so pick black or
  // white text by luminance instead of assuming a dark brand colour.
  function readableTextColor(color) {
    const ctx = document.createElement('canvas').getContext('2d');
    if (!ctx) return '#ffffff';
    ctx.fillStyle = '#000000';
    ctx.fillStyle = color; // the canvas normalises any CSS colour for us
    const rgb = parseRgb(String(ctx.fillStyle));
    if (!rgb) return '#ffffff';
    const luminance = (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]) / 255;
    return luminance > 0.62 ? '#111827' : '#ffffff';
  }

  function parseRgb(value) {
    const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(value);
    if (hex) return [parseInt(hex[1], 16), parseInt(hex[2], 16), parseInt(hex[3], 16)];
    const fn = /^rgba?\((\d+),\s*(\d+),\s*(\d+)/i.exec(value);
    return fn ? [Number(fn[1]), Number(fn[2]), Number(fn[3])] : null;
  }

  // ---------------------------------------------------------------------------
  // Storage (namespaced by server so two Baton installs on one site don't mix)
  // ---------------------------------------------------------------------------

  function createStore(prefix) {
    // Storage can throw (blocked cookies, Safari private mode, quota): the chat
    // must keep working, it just forgets things on reload.
    function get(name) {
      try {
        return localStorage.getItem(prefix + name);
      } catch (e) {
        return null;
      }
    }
    function set(name, value) {
      try {
        localStorage.setItem(prefix + name, value);
      } catch (e) {
        /* see above */
      }
    }
    function getJSON(name) {
      try {
        return JSON.parse(get(name) || 'null');
      } catch (e) {
        return null;
      }
    }
    return { get: get, set: set, getJSON: getJSON, setJSON: (name, value) => set(name, JSON.stringify(value)) };
  }

  function saveTranscript() {
    const messages = state.messages.filter((entry) => !entry.transient).slice(-CACHE_LIMIT).map(toCacheEntry);
    store.setJSON('transcript', { session_id: state.sessionId, messages: messages });
  }

  function toCacheEntry(entry) {
    const cached = { sender: entry.sender, text: entry.text };
    if (entry.agentName) cached.agentName = entry.agentName;
    if (entry.image) cached.image = entry.image;
    if (entry.quickReplies) cached.quickReplies = entry.quickReplies;
    if (entry.rating) cached.rating = entry.rating;
    return cached;
  }

  // Only show the cache if it belongs to the session we are about to resume.
  function restoreCachedTranscript() {
    const cached = store.getJSON('transcript');
    if (!cached || !state.sessionId || cached.session_id !== state.sessionId || !Array.isArray(cached.messages)) return;
    // The cache is data like any other: rebuild every entry through the same checks.
    const entries = cached.messages.map(entryFromCache).filter(Boolean);
    replaceTranscript(entries, { persist: false });
  }

  function entryFromCache(item) {
    if (!item || SENDERS.indexOf(item.sender) === -1) return null;
    return buildEntry(item.sender, {
      text: item.text,
      agentName: item.agentName,
      image: item.image,
      replies: item.quickReplies,
      rating: item.rating,
      messageId: item.rating && item.rating.messageId,
    });
  }

  // ---------------------------------------------------------------------------
  // Message model: every source (live event, history, cache) ends up here
  // ---------------------------------------------------------------------------

  function buildEntry(sender, parts) {
    const entry = { sender: sender, text: typeof parts.text === 'string' ? parts.text : '' };
    if (sender === 'agent') entry.agentName = typeof parts.agentName === 'string' ? parts.agentName : '';
    const image = safeImageUrl(parts.image);
    if (image) entry.image = image;
    const replies = normalizeReplies(parts.replies);
    if (replies.length && sender !== 'customer' && sender !== 'system') entry.quickReplies = replies;
    const rating = normalizeRating(parts.rating, parts.messageId);
    if (rating && sender === 'system') entry.rating = rating;
    if (!entry.text && !entry.image && !entry.quickReplies) return null; // e.g. {custom} without text
    return entry;
  }

  // The satisfaction question after a resolve: {question, scale, score?} and the message it is.
  function normalizeRating(request, messageId) {
    if (!request || typeof request !== 'object' || !Number.isInteger(messageId)) return null;
    const scale = Number.isInteger(request.scale) && request.scale >= 2 && request.scale <= 10 ? request.scale : 5;
    return {
      messageId: messageId,
      question: typeof request.question === 'string' ? request.question : 'How satisfied are you?',
      scale: scale,
      score: Number.isInteger(request.score) ? request.score : null,
    };
  }

  // Rasa sends quick_replies [{content_type, title, payload}]; Baton also sends buttons [{title, payload}].
  function normalizeReplies(list) {
    if (!Array.isArray(list)) return [];
    return list
      .filter((item) => item && (typeof item.title === 'string' || typeof item.title === 'number'))
      .filter((item) => !item.content_type || item.content_type === 'text')
      .map((item) => {
        const title = String(item.title);
        const payload = typeof item.payload === 'string' && item.payload !== '' ? item.payload : title;
        return { title: title, payload: payload };
      })
      .filter((item) => item.title.trim() !== '');
  }

  function extractImage(data) {
    if (!data || typeof data !== 'object') return null;
    const attachment = data.attachment;
    if (attachment && attachment.type === 'image' && attachment.payload) return attachment.payload.src;
    if (typeof data.image === 'string') return data.image;
    if (data.image && typeof data.image.src === 'string') return data.image.src;
    return null;
  }

  // Images load from the network, so only plain web URLs and inline images are allowed
  // (no javascript:, blob: or anything else). Relative URLs are relative to Baton.
  function safeImageUrl(src) {
    if (typeof src !== 'string' || src.trim() === '') return null;
    const value = src.trim();
    if (/^data:image\/[a-z0-9.+-]+[;,]/i.test(value)) return value;
    try {
      const url = new URL(value, config.server + '/');
      return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function senderOfEvent(data) {
    if (data.sender === 'agent') return 'agent';
    if (data.sender === 'system') return 'system';
    return 'bot';
  }

  function entryFromBotUttered(data) {
    if (!data || typeof data !== 'object') return null;
    const custom = data.custom && typeof data.custom === 'object' ? data.custom : null;
    const text = typeof data.text === 'string' ? data.text : custom && typeof custom.text === 'string' ? custom.text : '';
    return buildEntry(senderOfEvent(data), {
      text: text,
      agentName: data.agent_name,
      image: extractImage(data),
      replies: data.quick_replies || data.buttons,
      rating: data.rating_request,
      messageId: data.message_id,
    });
  }

  // History items look like the Message shape of docs/api.md:
  // {sender, text, payload?: {buttons, image, ...}, agent_name? | agent?: {display_name}}.
  function entryFromHistory(item) {
    if (!item || typeof item !== 'object') return null;
    const sender = item.sender === 'user' ? 'customer' : item.sender;
    if (SENDERS.indexOf(sender) === -1) return null; // internal notes never reach the customer
    // The init payload ("/greet") is a customer message to the server, but the customer never typed it.
    if (sender === 'customer' && config.initPayload && item.text === config.initPayload) return null;
    const payload = item.payload && typeof item.payload === 'object' ? item.payload : {};
    const agentName = item.agent_name || (item.agent && item.agent.display_name) || '';
    return buildEntry(sender, {
      text: item.text,
      agentName: agentName,
      image: extractImage(item) || extractImage(payload),
      replies: item.quick_replies || item.buttons || payload.quick_replies || payload.buttons,
      rating: item.rating_request,
      messageId: item.message_id,
    });
  }

  // In history, buttons that were answered must not come back, and a customer
  // message that came from a button click should read as the button's title
  // (the server only knows the payload, e.g. "/affirm").
  function tidyHistory(entries) {
    let lastCustomer = -1;
    entries.forEach((entry, index) => {
      if (entry.sender === 'customer') lastCustomer = index;
    });
    let offered = [];
    entries.forEach((entry, index) => {
      if (entry.quickReplies) offered = entry.quickReplies;
      if (entry.sender === 'customer') {
        const clicked = offered.find((reply) => reply.payload === entry.text);
        if (clicked) entry.text = clicked.title;
        offered = [];
      }
      if (index < lastCustomer) delete entry.quickReplies;
    });
    return entries;
  }

  // ---------------------------------------------------------------------------
  // Transcript (model + DOM kept in step)
  // ---------------------------------------------------------------------------

  function addEntry(entry, options) {
    const opts = Object.assign({ persist: true, live: false }, options);
    const stick = isNearBottom() || entry.sender === 'customer';
    announceAgentIfNew(entry, opts);
    noteJoinNotice(entry);
    state.messages.push(entry);
    ui.messages.append(renderEntry(entry));
    if (state.messages.length > CACHE_LIMIT * 2) trimTranscript();
    if (opts.persist) saveTranscript();
    if (opts.live && entry.sender !== 'customer' && !state.open) bumpUnread();
    if (stick) scrollToBottom();
  }

  // First message of an agent: tell the customer a person has taken over.
  function announceAgentIfNew(entry, opts) {
    if (entry.sender !== 'agent') return;
    const name = entry.agentName || '';
    if (state.seenAgents.has(name)) return;
    state.seenAgents.add(name);
    // Derived locally, so it doesn't count as an unread message of its own.
    const notice = { sender: 'system', text: (name || 'An agent') + ' joined the conversation' };
    addEntry(notice, Object.assign({}, opts, { live: false }));
  }

  // The server may send its own join notice (live or in history): don't repeat it.
  function noteJoinNotice(entry) {
    if (entry.sender !== 'system') return;
    const match = /^(.+) joined the conversation\.?$/.exec(entry.text) || /^You've been transferred to (.+)\.$/.exec(entry.text);
    if (match) state.seenAgents.add(match[1] === 'An agent' ? '' : match[1]);
  }

  function replaceTranscript(entries, options) {
    const opts = Object.assign({ persist: true }, options);
    state.messages = [];
    state.seenAgents = new Set();
    ui.messages.replaceChildren();
    entries.forEach((entry) => addEntry(entry, { persist: false }));
    if (opts.persist) saveTranscript();
    scrollToBottom();
  }

  // A very long-lived page would otherwise grow the DOM forever.
  function trimTranscript() {
    const drop = state.messages.length - CACHE_LIMIT;
    state.messages = state.messages.slice(drop);
    for (let i = 0; i < drop && ui.messages.firstChild; i++) ui.messages.firstChild.remove();
  }

  // Buttons are one-shot: once the customer answered (by click or typing), remove them all.
  function clearQuickReplies() {
    state.messages.forEach((entry) => delete entry.quickReplies);
    ui.messages.querySelectorAll('.baton-quick-replies').forEach((node) => node.remove());
  }

  // ---------------------------------------------------------------------------
  // Rendering (textContent only)
  // ---------------------------------------------------------------------------

  function el(tag, className, attrs) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (attrs) Object.keys(attrs).forEach((name) => node.setAttribute(name, attrs[name]));
    return node;
  }

  function renderEntry(entry) {
    if (entry.sender === 'system') return renderSystemLine(entry);
    const row = el('div', 'baton-row baton-row--' + entry.sender);
    if (entry.sender !== 'customer') row.append(renderLabel(entry));
    const bubble = el('div', 'baton-bubble baton-bubble--' + entry.sender, {
      'data-testid': 'baton-message',
      'data-sender': entry.sender,
    });
    if (entry.sender === 'agent') bubble.setAttribute('data-agent-name', entry.agentName || '');
    if (entry.pending) bubble.setAttribute('data-pending', 'true');
    if (entry.text) appendTextWithLinks(bubble, entry.text);
    if (entry.image) bubble.append(renderImage(entry.image));
    row.append(bubble);
    if (entry.quickReplies) row.append(renderQuickReplies(entry.quickReplies));
    bubbleOf.set(entry, bubble);
    return row;
  }

  function renderLabel(entry) {
    const label = el('div', 'baton-label');
    label.textContent = entry.sender === 'agent' ? entry.agentName || 'Agent' : 'bot';
    return label;
  }

  // One question, one row of numbered buttons; once answered, a thank-you in its place.
  function renderRating(entry) {
    const rating = entry.rating;
    const box = el('div', 'baton-rating', { 'data-testid': 'baton-rating', 'data-message-id': String(rating.messageId) });
    const question = el('div', 'baton-rating-question');
    question.textContent = rating.question;
    box.append(question);
    if (rating.score) {
      box.setAttribute('data-score', String(rating.score));
      const thanks = el('div', 'baton-rating-thanks', { 'data-testid': 'baton-rating-thanks' });
      thanks.textContent = 'Thank you! You rated ' + rating.score + ' out of ' + rating.scale + '.';
      box.append(thanks);
      return box;
    }
    const options = el('div', 'baton-rating-options', { role: 'group', 'aria-label': rating.question });
    for (let score = 1; score <= rating.scale; score++) {
      const button = el('button', 'baton-rating-option', {
        type: 'button', 'data-testid': 'baton-rating-option', 'data-score': String(score),
        'aria-label': score + ' out of ' + rating.scale,
      });
      button.textContent = String(score);
      button.addEventListener('click', () => submitRating(entry, score, box));
      options.append(button);
    }
    const legend = el('div', 'baton-rating-legend');
    legend.textContent = '1 = not at all \u00b7 ' + rating.scale + ' = very';
    const error = el('div', 'baton-rating-error', { role: 'alert' });
    box.append(options, legend, error);
    return box;
  }

  function submitRating(entry, score, box) {
    if (!isReady()) {
      box.querySelector('.baton-rating-error').textContent = 'Not connected; please try again in a moment.';
      ensureConnected();
      return;
    }
    box.querySelectorAll('button').forEach((button) => { button.disabled = true; });
    state.socket.emit('rate', { session_id: state.sessionId, message_id: entry.rating.messageId, score: score }, (answer) => {
      if (answer && (answer.ok || answer.error === 'already_rated')) {
        entry.rating.score = answer.ok ? score : entry.rating.score || score;
        box.replaceWith(renderRating(entry));
        saveTranscript();
      } else {
        box.querySelectorAll('button').forEach((button) => { button.disabled = false; });
        box.querySelector('.baton-rating-error').textContent = (answer && answer.message) || 'Please try again.';
      }
    });
  }

  function renderSystemLine(entry) {
    if (entry.rating) {
      const wrapper = el('div', 'baton-rating-row');
      const line = renderSystemLineOnly(entry);
      wrapper.append(line, renderRating(entry));
      return wrapper;
    }
    return renderSystemLineOnly(entry);
  }

  function renderSystemLineOnly(entry) {
    const line = el('div', 'baton-system' + (entry.kind === 'error' ? ' baton-system--error' : ''), {
      'data-testid': 'baton-message',
      'data-sender': 'system',
      'data-kind': entry.kind === 'error' ? 'error' : 'notice',
    });
    if (entry.kind === 'error') line.setAttribute('role', 'alert');
    line.textContent = entry.text;
    bubbleOf.set(entry, line);
    return line;
  }

  const LINK_PATTERN = /\bhttps?:\/\/[^\s<>"']+/gi;

  // Order tracking links etc. should be clickable. Links are built as elements
  // (href property, text via textContent), so the text itself never becomes markup.
  function appendTextWithLinks(parent, text) {
    let cursor = 0;
    for (const match of text.matchAll(LINK_PATTERN)) {
      const url = match[0].replace(/[.,!?;:)\]}]+$/, ''); // trailing punctuation belongs to the sentence
      parent.append(document.createTextNode(text.slice(cursor, match.index)));
      const link = el('a', 'baton-link', { target: '_blank', rel: 'noopener noreferrer nofollow' });
      link.href = url;
      link.textContent = url;
      parent.append(link);
      cursor = match.index + url.length;
    }
    parent.append(document.createTextNode(text.slice(cursor)));
  }

  function renderImage(src) {
    const image = el('img', 'baton-image', { alt: 'Image', loading: 'lazy' });
    image.referrerPolicy = 'no-referrer';
    image.src = src; // already checked by safeImageUrl
    image.addEventListener('load', () => {
      if (isNearBottom(image.height)) scrollToBottom();
    });
    return image;
  }

  function renderQuickReplies(replies) {
    const box = el('div', 'baton-quick-replies');
    replies.forEach((reply) => {
      const button = el('button', 'baton-quick-reply', { type: 'button', 'data-testid': 'baton-quick-reply' });
      button.textContent = reply.title;
      // The bot gets the payload (e.g. "/affirm"); the customer sees what they clicked.
      button.addEventListener('click', () => sendMessage(reply.payload, reply.title));
      box.append(button);
    });
    return box;
  }

  function isNearBottom(extra) {
    const log = ui.log;
    return log.scrollHeight - log.scrollTop - log.clientHeight < SCROLL_STICK_PX + (extra || 0);
  }

  function scrollToBottom() {
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  function bumpUnread() {
    state.unread += 1;
    renderUnread();
  }

  function renderUnread() {
    ui.unread.hidden = state.unread === 0;
    ui.unread.textContent = state.unread > 9 ? '9+' : String(state.unread);
    ui.launcher.setAttribute('aria-label', state.unread ? 'Open chat (' + state.unread + ' unread)' : state.open ? 'Close chat' : 'Open chat');
  }

  // ---------------------------------------------------------------------------
  // Typing indicators
  // ---------------------------------------------------------------------------

  function showTyping(who) {
    const stick = isNearBottom();
    ui.typing.setAttribute('data-who', who);
    ui.typing.setAttribute('aria-label', (who === 'agent' ? 'Agent' : 'Bot') + ' is typing');
    ui.log.append(ui.typing); // keep it below the newest message
    clearTimeout(state.botTypingTimer);
    state.botTypingTimer = setTimeout(hideTyping, BOT_TYPING_MAX_MS);
    if (stick) scrollToBottom();
  }

  function hideTyping() {
    clearTimeout(state.botTypingTimer);
    ui.typing.remove();
  }

  function onServerTyping(data) {
    if (!data || (data.who !== 'bot' && data.who !== 'agent')) return; // our own echo, if any
    if (data.typing) showTyping(data.who);
    else hideTyping();
  }

  // Agents see "customer is typing": announce the start, refresh it now and
  // then, and announce the stop after a pause or when the message is sent.
  function onCustomerInput() {
    if (!ui.input.value.trim()) {
      stopCustomerTyping();
      return;
    }
    const stale = Date.now() - state.customerTypingSentAt > CUSTOMER_TYPING_REFRESH_MS;
    if (!state.customerTyping || stale) emitCustomerTyping(true);
    clearTimeout(state.customerIdleTimer);
    state.customerIdleTimer = setTimeout(stopCustomerTyping, CUSTOMER_IDLE_MS);
  }

  function stopCustomerTyping() {
    clearTimeout(state.customerIdleTimer);
    if (state.customerTyping) emitCustomerTyping(false);
  }

  function emitCustomerTyping(typing) {
    if (!isReady()) return; // nobody can see it before the session is confirmed
    state.customerTyping = typing;
    state.customerTypingSentAt = Date.now();
    state.socket.emit('typing', { session_id: state.sessionId, typing: typing });
  }

  // ---------------------------------------------------------------------------
  // Sending
  // ---------------------------------------------------------------------------

  // message: what the server gets; shown: what the customer's bubble says.
  function sendMessage(message, shown) {
    const text = typeof message === 'string' ? message.trim() : '';
    if (!text) return false;
    if (text.length > state.maxLength) {
      showError('Messages can be at most ' + state.maxLength + ' characters long.');
      return false;
    }
    clearQuickReplies();
    stopCustomerTyping();
    const entry = { sender: 'customer', text: typeof shown === 'string' && shown ? shown : text };
    const ready = isReady();
    if (!ready) entry.pending = true;
    addEntry(entry);
    if (ready) emitUtterance(text, entry.text);
    else queueMessage(text, entry);
    showTyping('bot');
    return true;
  }

  function isReady() {
    return !!(state.socket && state.socket.connected && state.confirmed && state.sessionId);
  }

  function queueMessage(message, entry) {
    state.outbox.push({ message: message, entry: entry });
    ensureConnected();
  }

  // shown: the button title the customer saw instead of "/affirm", so the backend can store it.
  // isInit: marks the automatic init payload, which the customer never typed.
  function emitUtterance(message, shown, isInit) {
    const customData = Object.assign(
      { page_url: location.href, language: navigator.language },
      config.customer
    );
    if (shown && shown !== message) customData.display_text = shown;
    if (isInit) customData.init_payload = true;
    state.socket.emit('user_uttered', { message: message, session_id: state.sessionId, customData: customData });
  }

  function flushOutbox() {
    const items = state.outbox;
    state.outbox = [];
    state.justFlushed = items;
    items.forEach((item) => {
      delete item.entry.pending;
      const bubble = bubbleOf.get(item.entry);
      if (bubble) bubble.removeAttribute('data-pending');
      emitUtterance(item.message, item.entry.text);
    });
  }

  function showError(message) {
    hideTyping();
    addEntry({ sender: 'system', kind: 'error', text: message, transient: true });
  }

  // ---------------------------------------------------------------------------
  // Server events
  // ---------------------------------------------------------------------------

  function onConnect() {
    setStatus('online');
    state.confirmed = false;
    state.socket.emit('session_request', { session_id: state.sessionId || null, baton_protocol: BATON_PROTOCOL });
  }

  function onDisconnect() {
    state.confirmed = false;
    state.customerTyping = false;
    hideTyping();
    setStatus('offline');
  }

  function onSessionConfirm(data) {
    const id = typeof data === 'string' ? data : data && typeof data.session_id === 'string' ? data.session_id : null;
    if (!id) return;
    if (data && Number.isInteger(data.max_message_chars) && data.max_message_chars > 0) {
      setMaxLength(data.max_message_chars);
    }
    if (data && data.widget && typeof data.widget === 'object') applyServerDefaults(data.widget);
    const isNewSession = id !== state.sessionId;
    state.sessionId = id;
    state.confirmed = true;
    store.set('session_id', id);
    if (isNewSession) startFreshTranscript();
    if (isNewSession && config.initPayload) {
      emitUtterance(config.initPayload, null, true);
      showTyping('bot');
    }
    flushOutbox();
  }

  // The title, colour and greeting an admin set in the console, where the embed sets none.
  function applyServerDefaults(widget) {
    if (!config.fromEmbed.title && typeof widget.title === 'string' && widget.title) {
      config.title = widget.title;
      ui.title.textContent = widget.title;
      ui.panel.setAttribute('aria-label', widget.title);
    }
    if (!config.fromEmbed.color && isValidColor(widget.color)) {
      config.color = widget.color;
      config.textOnColor = readableTextColor(widget.color);
      paintColors();
    }
    if (!config.fromEmbed.greeting && typeof widget.greeting === 'string' && widget.greeting) {
      config.greeting = widget.greeting;
      let greeting = ui.log.querySelector('.baton-greeting');
      if (!greeting) {
        greeting = el('div', 'baton-greeting', { 'data-testid': 'baton-greeting' });
        ui.log.prepend(greeting);
      }
      greeting.textContent = widget.greeting;
    }
  }

  // The server's limit, so a long message is refused here rather than after sending.
  function setMaxLength(limit) {
    state.maxLength = limit;
    ui.input.setAttribute('maxlength', String(limit));
    updateComposer();
  }

  // A new (or expired and replaced) session: the old transcript belongs to
  // someone else's conversation now. Keep what the customer typed meanwhile.
  function startFreshTranscript() {
    state.wait = null;
    renderWait();
    replaceTranscript(state.outbox.map((item) => item.entry));
  }

  function onHistory(data) {
    if (!data || !Array.isArray(data.messages)) return;
    const entries = tidyHistory(data.messages.map(entryFromHistory).filter(Boolean));
    // Messages flushed right after session_confirm usually reach the server after it
    // sent the history, so they are missing from it: keep them unless already there.
    const tail = entries.slice(-(state.justFlushed.length + 5));
    const missing = state.justFlushed
      .filter((item) => !tail.some((e) => e.sender === 'customer' && (e.text === item.message || e.text === item.entry.text)))
      .map((item) => item.entry);
    const unsent = state.outbox.map((item) => item.entry);
    state.justFlushed = [];
    replaceTranscript(entries.concat(missing, unsent));
  }

  function onBotUttered(data) {
    hideTyping();
    state.justFlushed = []; // the server has certainly seen them by now
    const entry = entryFromBotUttered(data);
    if (entry) addEntry(entry, { live: true });
  }

  function onServerError(data) {
    const message = data && typeof data.message === 'string' && data.message ? data.message : 'Something went wrong. Please try again.';
    showError(message);
  }

  // ---------------------------------------------------------------------------
  // Connection
  // ---------------------------------------------------------------------------

  function loadSocketIoClient() {
    if (typeof window.io === 'function') return Promise.resolve(window.io);
    return new Promise((resolve, reject) => {
      const tag = document.createElement('script');
      tag.src = config.server + '/static/vendor/socket.io.min.js';
      tag.async = true;
      tag.addEventListener('load', () => (typeof window.io === 'function' ? resolve(window.io) : reject(new Error('io missing'))));
      tag.addEventListener('error', () => reject(new Error('socket.io client failed to load')));
      document.head.append(tag);
    });
  }

  function ensureConnected() {
    if (state.socket || state.connecting) return;
    state.connecting = true;
    setStatus('connecting');
    loadSocketIoClient()
      .then((io) => {
        const socket = io(config.socketOrigin, {
          path: '/socket.io/',
          transports: ['websocket', 'polling'],
          tryAllTransports: true, // without it a blocked WebSocket never falls back to polling
        });
        state.socket = socket;
        socket.on('connect', onConnect);
        socket.on('disconnect', onDisconnect);
        socket.on('connect_error', () => setStatus('offline'));
        socket.on('session_confirm', onSessionConfirm);
        socket.on('history', onHistory);
        socket.on('bot_uttered', onBotUttered);
        socket.on('typing', onServerTyping);
        socket.on('error', onServerError);
        socket.on('queue_status', onQueueStatus);
      })
      .catch(() => {
        state.connecting = false;
        setStatus('offline');
        showError('Chat is unavailable right now. Please try again later.');
      });
  }

  const STATUS_TEXT = {
    idle: 'We usually reply in a few minutes',
    connecting: 'Connecting\u2026',
    online: 'Online',
    offline: 'Reconnecting\u2026',
  };

  function setStatus(status) {
    state.connection = status;
    renderHeaderStatus();
  }

  // While connected, the header says what the customer is waiting for (a person, or who is
  // here), not "Online": a waiting customer must see that they wait.
  function renderHeaderStatus() {
    const wait = state.wait;
    if (state.connection === 'online' && wait && (wait.state === 'waiting' || wait.state === 'assigned')) {
      const unavailable = wait.state === 'waiting' && wait.offer_message && !wait.left_message;
      ui.status.setAttribute('data-state', wait.state === 'assigned' ? 'assigned' : unavailable ? 'unavailable' : 'waiting');
      ui.status.textContent = wait.headline || (wait.state === 'assigned' ? 'A person is here to help' : 'Waiting for a person');
      return;
    }
    ui.status.setAttribute('data-state', state.connection);
    ui.status.textContent = STATUS_TEXT[state.connection];
  }

  // ---------------------------------------------------------------------------
  // Waiting for a person: the live queue status, and the leave-a-message form
  // ---------------------------------------------------------------------------

  function onQueueStatus(data) {
    if (!data || typeof data !== 'object' || typeof data.state !== 'string') return;
    state.wait = {
      state: data.state,
      position: Number.isInteger(data.position) ? data.position : null,
      headline: typeof data.headline === 'string' ? data.headline : '',
      detail: typeof data.detail === 'string' ? data.detail : '',
      offer_message: data.offer_message === true,
      left_message: data.left_message === true,
    };
    if (data.state === 'waiting') hideTyping(); // nobody is typing an answer while the customer waits
    renderWait();
  }

  function renderWait() {
    const wait = state.wait;
    const waiting = !!(wait && wait.state === 'waiting');
    ui.wait.hidden = !waiting;
    ui.waitDetail.textContent = waiting ? wait.detail : '';
    ui.root.toggleAttribute('data-waiting', waiting);
    if (waiting && wait.position) ui.wait.setAttribute('data-position', String(wait.position));
    else ui.wait.removeAttribute('data-position');
    const offer = waiting && wait.offer_message && !wait.left_message;
    ui.leave.hidden = !offer;
    if (!offer) ui.leaveError.textContent = '';
    renderHeaderStatus();
  }

  function submitLeaveMessage(event) {
    event.preventDefault();
    const email = ui.leaveEmail.value.trim();
    const message = ui.leaveText.value.trim();
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
      ui.leaveError.textContent = 'Please enter a valid e-mail address.';
      ui.leaveEmail.focus();
      return;
    }
    if (message.length > state.maxLength) {
      ui.leaveError.textContent = 'Messages can be at most ' + state.maxLength + ' characters long.';
      return;
    }
    if (!isReady()) {
      ui.leaveError.textContent = 'Not connected yet; please try again in a moment.';
      ensureConnected();
      return;
    }
    ui.leaveError.textContent = '';
    ui.leaveSend.disabled = true;
    if (message) addEntry({ sender: 'customer', text: message });
    state.socket.emit('leave_message', { session_id: state.sessionId, email: email, message: message }, (answer) => {
      ui.leaveSend.disabled = false;
      if (answer && answer.ok) {
        ui.leaveText.value = '';
        if (state.wait) state.wait.left_message = true;
        renderWait();
      } else {
        ui.leaveError.textContent = (answer && answer.message) || 'Your message could not be sent. Please try again.';
      }
    });
  }

  // ---------------------------------------------------------------------------
  // Panel and composer
  // ---------------------------------------------------------------------------

  function openPanel(options) {
    state.open = true;
    store.set('open', '1');
    ui.root.setAttribute('data-open', 'true');
    ui.panel.hidden = false;
    ui.launcher.setAttribute('aria-expanded', 'true');
    state.unread = 0;
    renderUnread();
    ensureConnected();
    scrollToBottom();
    // Only grab focus when the customer asked for the panel, not when restoring it on load.
    if (options && options.focus) ui.input.focus({ preventScroll: true });
  }

  function closePanel() {
    state.open = false;
    store.set('open', '0');
    ui.root.removeAttribute('data-open');
    ui.panel.hidden = true;
    ui.launcher.setAttribute('aria-expanded', 'false');
    renderUnread();
  }

  function togglePanel() {
    if (state.open) closePanel();
    else openPanel({ focus: true });
  }

  function submitComposer() {
    if (sendMessage(ui.input.value)) {
      ui.input.value = '';
      updateComposer();
    }
  }

  function onComposerKeydown(event) {
    // Enter sends, Shift+Enter is a new line; never send half-composed IME text.
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submitComposer();
    }
  }

  function updateComposer() {
    const length = ui.input.value.length;
    ui.send.disabled = ui.input.value.trim() === '';
    ui.counter.textContent = length + '/' + state.maxLength;
    ui.counter.classList.toggle('baton-counter--warn', length >= state.maxLength * COUNTER_WARN_SHARE);
    // Grow with the text up to the CSS max-height, then scroll.
    const border = ui.input.offsetHeight - ui.input.clientHeight;
    ui.input.style.height = 'auto';
    ui.input.style.height = ui.input.scrollHeight + border + 'px';
  }

  // ---------------------------------------------------------------------------
  // DOM construction
  // ---------------------------------------------------------------------------

  const SVG_NS = 'http://www.w3.org/2000/svg';

  // Icons are fixed path data from this file, never from data.
  function icon(pathData, className) {
    const svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    if (className) svg.setAttribute('class', className);
    const path = document.createElementNS(SVG_NS, 'path');
    path.setAttribute('d', pathData);
    path.setAttribute('fill', 'currentColor');
    svg.append(path);
    return svg;
  }

  const ICON_CHAT = 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z';
  const ICON_CLOSE = 'M18.3 5.7a1 1 0 0 0-1.4 0L12 10.6 7.1 5.7a1 1 0 0 0-1.4 1.4l4.9 4.9-4.9 4.9a1 1 0 1 0 1.4 1.4l4.9-4.9 4.9 4.9a1 1 0 0 0 1.4-1.4L13.4 12l4.9-4.9a1 1 0 0 0 0-1.4z';
  const ICON_SEND = 'M3.4 20.4 21 12 3.4 3.6 3.4 10.1 15 12 3.4 13.9z';

  function buildUi() {
    const root = el('div', 'baton-root');

    const launcher = el('button', 'baton-launcher', {
      type: 'button',
      'data-testid': 'baton-launcher',
      'aria-label': 'Open chat',
      'aria-expanded': 'false',
      'aria-controls': 'baton-panel',
    });
    const unread = el('span', 'baton-unread', { 'data-testid': 'baton-unread', 'aria-hidden': 'true' });
    unread.hidden = true;
    launcher.append(icon(ICON_CHAT, 'baton-icon-open'), icon(ICON_CLOSE, 'baton-icon-close'), unread);

    const panel = el('div', 'baton-panel', {
      id: 'baton-panel',
      'data-testid': 'baton-panel',
      role: 'dialog',
      'aria-label': config.title,
    });
    panel.hidden = true;

    const header = el('div', 'baton-header');
    const heading = el('div', 'baton-heading');
    const title = el('div', 'baton-title', { 'data-testid': 'baton-title' });
    title.textContent = config.title;
    const status = el('div', 'baton-status', { 'data-testid': 'baton-status' });
    heading.append(title, status);
    const close = el('button', 'baton-close', { type: 'button', 'data-testid': 'baton-close', 'aria-label': 'Close chat' });
    close.append(icon(ICON_CLOSE));
    header.append(heading, close);

    // The waiting state: where the customer is in the queue, and (when nobody can come soon)
    // a form to leave a message and an e-mail address instead of waiting.
    const wait = el('div', 'baton-wait', { 'data-testid': 'baton-wait', role: 'status', 'aria-live': 'polite' });
    const waitDetail = el('div', 'baton-wait-detail', { 'data-testid': 'baton-wait-detail' });
    const leave = el('form', 'baton-leave', { 'data-testid': 'baton-leave-form', novalidate: 'novalidate' });
    const leaveEmail = el('input', 'baton-leave-email', {
      type: 'email', 'data-testid': 'baton-leave-email', placeholder: 'Your e-mail address', 'aria-label': 'Your e-mail address',
      autocomplete: 'email', maxlength: '320',
    });
    const leaveText = el('textarea', 'baton-leave-text', {
      'data-testid': 'baton-leave-text', rows: '2', placeholder: 'Your message (optional)', 'aria-label': 'Your message',
    });
    const leaveSend = el('button', 'baton-leave-send', { type: 'submit', 'data-testid': 'baton-leave-send' });
    leaveSend.textContent = 'Leave a message';
    const leaveError = el('div', 'baton-leave-error', { 'data-testid': 'baton-leave-error', role: 'alert' });
    leave.append(leaveEmail, leaveText, leaveSend, leaveError);
    leave.hidden = true;
    wait.append(waitDetail, leave);
    wait.hidden = true;

    const log = el('div', 'baton-log', { role: 'log', 'aria-live': 'polite', 'aria-label': 'Conversation' });
    if (config.greeting) {
      const greeting = el('div', 'baton-greeting', { 'data-testid': 'baton-greeting' });
      greeting.textContent = config.greeting;
      log.append(greeting);
    }
    const messages = el('div', 'baton-messages');
    log.append(messages);

    const typing = el('div', 'baton-typing', { 'data-testid': 'baton-typing', role: 'status' });
    typing.append(el('span', 'baton-dot'), el('span', 'baton-dot'), el('span', 'baton-dot'));

    const footer = el('div', 'baton-footer');
    const input = el('textarea', 'baton-input', {
      'data-testid': 'baton-input',
      rows: '1',
      maxlength: String(state.maxLength),
      placeholder: 'Type your message\u2026',
      'aria-label': 'Message',
    });
    const send = el('button', 'baton-send', { type: 'button', 'data-testid': 'baton-send', 'aria-label': 'Send' });
    send.append(icon(ICON_SEND));
    send.disabled = true;
    const counter = el('div', 'baton-counter', { 'data-testid': 'baton-counter', 'aria-live': 'off' });
    footer.append(input, send, counter);

    panel.append(header, wait, log, footer);
    root.append(panel, launcher);

    launcher.addEventListener('click', togglePanel);
    close.addEventListener('click', () => {
      closePanel();
      launcher.focus();
    });
    panel.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        closePanel();
        launcher.focus();
      }
    });
    input.addEventListener('keydown', onComposerKeydown);
    input.addEventListener('input', () => {
      updateComposer();
      onCustomerInput();
    });
    input.addEventListener('blur', stopCustomerTyping);
    send.addEventListener('click', submitComposer);
    leave.addEventListener('submit', submitLeaveMessage);

    return {
      root, launcher, unread, panel, title, status, log, messages, typing, input, send, counter,
      wait, waitDetail, leave, leaveEmail, leaveText, leaveSend, leaveError,
    };
  }

  function paintColors() {
    const root = ui.root;
    root.style.setProperty('--baton-color', config.color);
    root.style.setProperty('--baton-on-color', config.textOnColor);
    // Brand-coloured text on white (buttons, links) is unreadable for light brand colours.
    root.style.setProperty('--baton-accent-text', config.textOnColor === '#ffffff' ? config.color : '#111827');
  }

  // Light DOM (so tests and host-page scripts can query it) with every class
  // prefixed "baton-", plus a reset so the shop's own CSS can't restyle the widget.
  const CSS_TEXT = `
.baton-root { all: initial; display: block; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #111827; }
.baton-root :where(*:not(svg, svg *)) { all: revert; box-sizing: border-box; font: inherit; color: inherit; }
.baton-root [hidden] { display: none !important; }
.baton-root svg { display: block; width: 22px; height: 22px; }

.baton-root .baton-launcher { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; width: 58px; height: 58px;
  display: flex; align-items: center; justify-content: center; margin: 0; padding: 0; border: 0; border-radius: 50%;
  background: var(--baton-color); color: var(--baton-on-color); cursor: pointer;
  box-shadow: 0 8px 24px rgba(17, 24, 39, .25); transition: transform .15s ease; }
.baton-root .baton-launcher:hover { transform: scale(1.06); }
.baton-root .baton-launcher svg { width: 28px; height: 28px; }
.baton-root .baton-icon-close, .baton-root[data-open] .baton-icon-open { display: none; }
.baton-root[data-open] .baton-icon-close { display: block; }
.baton-root .baton-unread { position: absolute; top: -4px; right: -4px; min-width: 20px; height: 20px; padding: 0 6px;
  border-radius: 10px; background: #dc2626; color: #fff; font-size: 11px; font-weight: 700; line-height: 20px; text-align: center; }

.baton-root .baton-panel { position: fixed; right: 20px; bottom: 92px; z-index: 2147483000; width: 370px; max-width: calc(100vw - 40px);
  height: 600px; max-height: calc(100vh - 120px); display: flex; flex-direction: column; overflow: hidden;
  background: #fff; border-radius: 16px; box-shadow: 0 16px 48px rgba(17, 24, 39, .28); animation: baton-pop .18s ease-out; }
@keyframes baton-pop { from { opacity: 0; transform: translateY(12px); } to { opacity: 1; transform: none; } }

.baton-root .baton-header { display: flex; align-items: center; gap: 12px; padding: 14px 14px 14px 18px;
  background: var(--baton-color); color: var(--baton-on-color); }
.baton-root .baton-heading { flex: 1; min-width: 0; }
.baton-root .baton-title { font-size: 16px; font-weight: 700; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.baton-root .baton-status { font-size: 12px; opacity: .85; }
.baton-root .baton-status::before { content: ""; display: inline-block; width: 7px; height: 7px; margin-right: 6px; border-radius: 50%;
  background: #9ca3af; vertical-align: 1px; }
.baton-root .baton-status[data-state="online"]::before { background: #22c55e; }
.baton-root .baton-status[data-state="offline"]::before { background: #f59e0b; }
.baton-root .baton-status[data-state="waiting"]::before { background: #f59e0b; }
.baton-root .baton-status[data-state="unavailable"]::before { background: #ef4444; }
.baton-root .baton-status[data-state="assigned"]::before { background: #22c55e; }
.baton-root .baton-wait { padding: 10px 14px; background: #fffbeb; border-bottom: 1px solid #fde68a; font-size: 13px; color: #78350f; }
.baton-root .baton-wait-detail { white-space: pre-wrap; }
.baton-root .baton-leave { display: grid; gap: 6px; margin-top: 8px; }
.baton-root .baton-leave-email, .baton-root .baton-leave-text { display: block; width: 100%; margin: 0; padding: 7px 10px;
  border: 1px solid #d1d5db; border-radius: 8px; background: #fff; color: #111827; font-size: 13px; resize: vertical; }
.baton-root .baton-leave-send { justify-self: start; margin: 0; padding: 6px 14px; border: 0; border-radius: 999px;
  background: var(--baton-color); color: var(--baton-on-color); font-size: 13px; cursor: pointer; }
.baton-root .baton-leave-send:disabled { opacity: .5; cursor: default; }
.baton-root .baton-leave-error { color: #b91c1c; font-size: 12px; }
.baton-root .baton-leave-error:empty { display: none; }
.baton-root .baton-close { display: flex; align-items: center; justify-content: center; width: 34px; height: 34px; margin: 0; padding: 0;
  border: 0; border-radius: 8px; background: transparent; color: inherit; cursor: pointer; }
.baton-root .baton-close:hover { background: rgba(255, 255, 255, .18); }

.baton-root .baton-log { flex: 1; overflow-y: auto; padding: 16px 14px; background: #f6f7fb; display: flex; flex-direction: column; gap: 8px; }
.baton-root .baton-messages { display: flex; flex-direction: column; gap: 8px; }
.baton-root .baton-row { display: flex; flex-direction: column; align-items: flex-start; max-width: 85%; }
.baton-root .baton-row--customer { align-self: flex-end; align-items: flex-end; }
.baton-root .baton-label { margin: 0 6px 2px; font-size: 11px; color: #6b7280; }
.baton-root .baton-row--bot .baton-label { text-transform: lowercase; letter-spacing: .02em; }
.baton-root .baton-bubble, .baton-root .baton-greeting { padding: 9px 13px; border-radius: 16px; white-space: pre-wrap;
  overflow-wrap: anywhere; background: #fff; border: 1px solid #e5e7eb; }
.baton-root .baton-greeting, .baton-root .baton-bubble--bot { border-bottom-left-radius: 4px; }
.baton-root .baton-greeting { align-self: flex-start; max-width: 85%; }
.baton-root .baton-bubble--agent { border-bottom-left-radius: 4px; border-color: var(--baton-color);
  background: color-mix(in srgb, var(--baton-color) 9%, #fff); }
.baton-root .baton-bubble--customer { border-color: transparent; border-bottom-right-radius: 4px;
  background: var(--baton-color); color: var(--baton-on-color); }
.baton-root .baton-bubble[data-pending] { opacity: .6; }
.baton-root .baton-link { color: inherit; text-decoration: underline; cursor: pointer; }
.baton-root .baton-image { display: block; max-width: 100%; max-height: 260px; border-radius: 10px; }
.baton-root .baton-bubble > .baton-image:not(:first-child) { margin-top: 8px; }
.baton-root .baton-system { align-self: center; max-width: 90%; padding: 4px 12px; border-radius: 10px; text-align: center;
  font-size: 12px; color: #4b5563; background: #e9ebf1; white-space: pre-wrap; }
.baton-root .baton-system--error { color: #b91c1c; background: #fee2e2; }

.baton-root .baton-rating-row { display: flex; flex-direction: column; align-items: center; gap: 6px; }
.baton-root .baton-rating { align-self: stretch; margin: 0 8px; padding: 10px 12px; border: 1px solid #e5e7eb; border-radius: 12px;
  background: #fff; text-align: center; }
.baton-root .baton-rating-question { font-weight: 600; margin-bottom: 8px; }
.baton-root .baton-rating-options { display: flex; justify-content: center; gap: 6px; }
.baton-root .baton-rating-option { width: 36px; height: 36px; margin: 0; padding: 0; border: 1px solid var(--baton-color); border-radius: 50%;
  background: #fff; color: var(--baton-accent-text); font-weight: 700; cursor: pointer; }
.baton-root .baton-rating-option:hover:not(:disabled) { background: var(--baton-color); color: var(--baton-on-color); }
.baton-root .baton-rating-legend { margin-top: 6px; font-size: 11px; color: #6b7280; }
.baton-root .baton-rating-error { color: #b91c1c; font-size: 12px; }
.baton-root .baton-rating-error:empty { display: none; }
.baton-root .baton-rating-thanks { color: #15803d; }
.baton-root .baton-quick-replies { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 6px; }
.baton-root .baton-quick-reply { margin: 0; padding: 6px 12px; border: 1px solid var(--baton-color); border-radius: 999px;
  background: #fff; color: var(--baton-accent-text); font-size: 13px; cursor: pointer; }
.baton-root .baton-quick-reply:hover { background: var(--baton-color); color: var(--baton-on-color); }

.baton-root .baton-typing { align-self: flex-start; display: flex; gap: 4px; padding: 12px 14px; border-radius: 16px;
  border-bottom-left-radius: 4px; background: #fff; border: 1px solid #e5e7eb; }
.baton-root .baton-dot { display: block; width: 7px; height: 7px; border-radius: 50%; background: #9ca3af; animation: baton-bounce 1.2s infinite ease-in-out; }
.baton-root .baton-dot:nth-child(2) { animation-delay: .15s; }
.baton-root .baton-dot:nth-child(3) { animation-delay: .3s; }
@keyframes baton-bounce { 0%, 60%, 100% { transform: translateY(0); opacity: .5; } 30% { transform: translateY(-4px); opacity: 1; } }

.baton-root .baton-footer { display: grid; grid-template-columns: 1fr auto; gap: 4px 8px; align-items: end;
  padding: 10px 12px 6px; border-top: 1px solid #e5e7eb; background: #fff; }
.baton-root .baton-input { display: block; width: 100%; min-height: 40px; max-height: 120px; margin: 0; padding: 9px 12px; resize: none;
  border: 1px solid #d1d5db; border-radius: 12px; background: #fff; color: #111827; line-height: 1.4; overflow-y: auto; }
.baton-root .baton-input:focus { outline: 2px solid var(--baton-color); outline-offset: -1px; border-color: transparent; }
.baton-root .baton-send { display: flex; align-items: center; justify-content: center; width: 40px; height: 40px; margin: 0; padding: 0;
  border: 0; border-radius: 50%; background: var(--baton-color); color: var(--baton-on-color); cursor: pointer; }
.baton-root .baton-send:disabled { opacity: .35; cursor: default; }
.baton-root .baton-send svg { width: 20px; height: 20px; }
.baton-root .baton-counter { grid-column: 1 / -1; text-align: right; font-size: 11px; color: #9ca3af; }
.baton-root .baton-counter--warn { color: #b91c1c; }
.baton-root :where(button, textarea, a):focus-visible { outline: 2px solid var(--baton-color); outline-offset: 2px; }

@media (max-width: 480px) {
  .baton-root .baton-panel { inset: 0; right: 0; bottom: 0; width: 100%; max-width: none; height: 100%; max-height: none; border-radius: 0; }
  .baton-root[data-open] .baton-launcher { display: none; }
}
@media (prefers-reduced-motion: reduce) {
  .baton-root .baton-panel, .baton-root .baton-dot { animation: none; }
  .baton-root .baton-launcher { transition: none; }
}
`;

  function injectStyles() {
    const style = document.createElement('style');
    style.setAttribute('data-baton', VERSION);
    style.textContent = CSS_TEXT;
    document.head.append(style);
  }

  // ---------------------------------------------------------------------------
  // Start
  // ---------------------------------------------------------------------------

  function init() {
    injectStyles();
    ui = buildUi();
    paintColors();
    document.body.append(ui.root);
    setStatus('idle');
    updateComposer();
    restoreCachedTranscript();
    if (store.get('open') === '1') openPanel({ focus: false });
    // A returning customer may have an agent replying: stay connected even while
    // the panel is closed. A first-time visitor connects on first open, so page
    // views that never chat create no session.
    else if (state.sessionId || config.connectOnLoad) ensureConnected();
  }

  // The API exists as soon as the script ran; calls made before the page body
  // exists (script in <head> without defer) run once the widget is built.
  function whenBuilt(fn) {
    return function () {
      const args = arguments;
      if (ui) return fn.apply(null, args);
      document.addEventListener('DOMContentLoaded', () => fn.apply(null, args));
      return undefined;
    };
  }

  window.Baton = Object.freeze({
    version: VERSION,
    open: whenBuilt(() => openPanel({ focus: true })),
    close: whenBuilt(() => closePanel()),
    toggle: whenBuilt(() => togglePanel()),
    // Scripted messages (e.g. an "Ask about this product" button) should be seen, so open the panel.
    send: whenBuilt((text) => {
      if (!state.open) openPanel({ focus: false });
      return sendMessage(text);
    }),
    sessionId: () => state.sessionId,
  });

  if (document.body) init();
  else document.addEventListener('DOMContentLoaded', init);
})();
