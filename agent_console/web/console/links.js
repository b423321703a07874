// Links to a conversation: /console#/conversations/12 opens conversation 12, the same number the
// inbox, the review screen, search and the customer panel show.

const PATTERN = /^#\/conversations\/(\d{1,10})$/;

export function conversationLink(id) {
  return `#/conversations/${encodeURIComponent(id)}`;
}

/** The conversation the address names, or null. */
export function linkedConversation() {
  const match = PATTERN.exec(location.hash);
  return match ? Number(match[1]) : null;
}

/** Keep the address in step with what is open (replace: the back button is not a conversation list). */
export function rememberOpenConversation(id) {
  const wanted = conversationLink(id);
  if (location.hash !== wanted) history.replaceState(null, '', wanted);
}
