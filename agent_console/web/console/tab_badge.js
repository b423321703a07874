// The browser tab tells an agent what waits without looking: the title counts unread messages
// and queued conversations, and the favicon draws the same number (red when something is unread).

const BASE_TITLE = 'Baton console';
let lastIcon = '';

export function tabTitle(unread, queued) {
  const parts = [];
  if (unread) parts.push(`(${unread})`);
  if (queued) parts.push(`${queued} queued ·`);
  parts.push(BASE_TITLE);
  return parts.join(' ');
}

function iconLink() {
  let link = document.querySelector('link[rel="icon"]');
  if (!link) {
    link = document.createElement('link');
    link.rel = 'icon';
    document.head.append(link);
  }
  return link;
}

/** A 32×32 PNG: the Baton square with the count in a badge (an empty badge when nothing waits). */
function drawIcon(count, urgent) {
  const canvas = document.createElement('canvas');
  canvas.width = 32;
  canvas.height = 32;
  const ctx = canvas.getContext('2d');
  if (!ctx) return '';
  ctx.fillStyle = '#2453d6';
  ctx.fillRect(2, 2, 28, 28);
  if (count > 0) {
    ctx.fillStyle = urgent ? '#dc2626' : '#f59e0b';
    ctx.beginPath();
    ctx.arc(20, 12, 12, 0, Math.PI * 2);
    ctx.fill();
    ctx.fillStyle = '#ffffff';
    ctx.font = 'bold 15px system-ui, sans-serif';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText(count > 9 ? '9+' : String(count), 20, 13);
  }
  return canvas.toDataURL('image/png');
}

export function updateTabBadge(unread, queued) {
  document.title = tabTitle(unread, queued);
  const count = unread + queued;
  const key = `${count}:${unread > 0}`;
  if (key === lastIcon) return;
  lastIcon = key;
  const icon = drawIcon(count, unread > 0);
  if (!icon) return;
  const link = iconLink();
  link.href = icon;
  link.dataset.count = String(count);
}
