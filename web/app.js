// The dashboard app: routes on the URL hash, fetches each page's JSON from the API
// (relative URLs, so any path prefix works), and refreshes the page every 2 seconds.
// Actions are POSTs carrying the CSRF token from the page's meta tag.
'use strict';

const REFRESH_MS = 2000;

const api = {
  async get(path) {
    const response = await fetch('api/' + path, {credentials: 'same-origin', cache: 'no-store'});
    const body = await response.json().catch(() => ({error: 'HTTP ' + response.status}));
    if (!response.ok) throw new Error(body.error || 'HTTP ' + response.status);
    return body;
  },
  async post(action, payload) {
    const token = document.querySelector('meta[name="csrf-token"]').getAttribute('content');
    const response = await fetch('api/' + action, {
      method: 'POST',
      credentials: 'same-origin',
      headers: {'Content-Type': 'application/json', 'X-CSRF-Token': token},
      body: JSON.stringify(payload || {}),
    });
    const body = await response.json().catch(() => ({error: 'HTTP ' + response.status}));
    if (!response.ok) throw new Error(body.error || 'HTTP ' + response.status);
    return body;
  },
};

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== '' && value !== null && value !== undefined) search.set(key, value);
  }
  return search.toString();
}

function notify(message, kind) {
  const notice = document.getElementById('notice');
  replaceChildren(notice, message);
  notice.className = 'notice ' + (kind || 'info');
  notice.hidden = false;
  clearTimeout(notify.timer);
  notify.timer = setTimeout(() => { notice.hidden = true; }, kind === 'error' ? 10000 : 4000);
}

// Runs an action after an optional confirmation, reports the outcome, refreshes.
async function act(action, payload, confirmText, done) {
  if (confirmText && !window.confirm(confirmText)) return;
  try {
    const result = await api.post(action, payload);
    notify(describeResult(action, result), 'ok');
    if (done) done(result);
  } catch (error) {
    notify(error.message, 'error');
  }
  app.refresh();
}

function describeResult(action, result) {
  if ('retried' in result) return 'Retried ' + result.retried + ' failures.';
  if ('removed' in result) return 'Removed ' + result.removed + '.';
  if ('enqueued' in result) {
    return 'Enqueued ' + result.enqueued + (result.enqueued === 1 ? ' job.' : ' jobs.');
  }
  return 'Done: ' + action.replace('/', ' ').replace('_', ' ') + '.';
}

// Parses "#/page/part/part?key=value" into {page, parts, params}.
function parseHash() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path, search] = hash.split('?');
  const segments = path.split('/').filter((s) => s !== '').map(decodeURIComponent);
  return {
    page: segments[0] || 'overview',
    parts: segments.slice(1),
    params: Object.fromEntries(new URLSearchParams(search || '')),
  };
}

// Navigates inside the app; `replace` keeps the browser history from growing.
function go(page, parts, params, replace) {
  const path = [page, ...(parts || []).map((p) => encodeURIComponent(String(p)))].join('/');
  const search = query(params || {});
  const hash = '#/' + path + (search ? '?' + search : '');
  if (replace) location.replace(hash); else location.hash = hash;
}

const app = {
  route: null,
  view: null,
  timer: null,
  live: true,
  generation: 0,

  start() {
    window.addEventListener('hashchange', () => this.navigate());
    document.getElementById('live').addEventListener('click', () => this.toggleLive());
    this.navigate();
  },

  navigate() {
    this.route = parseHash();
    const page = PAGES[this.route.page] || PAGES.overview;
    for (const a of document.querySelectorAll('#nav a')) {
      a.classList.toggle('active', a.dataset.page === (page.nav || this.route.page));
    }
    const main = document.getElementById('main');
    replaceChildren(main);
    this.view = page.mount(main, this.route);
    this.generation += 1;
    this.refresh();
  },

  async refresh() {
    clearTimeout(this.timer);
    const generation = this.generation;
    const live = document.getElementById('live');
    try {
      const data = await api.get(this.view.url());
      if (generation !== this.generation) return;  // navigated away meanwhile
      this.view.render(data);
      live.classList.remove('down');
      live.textContent = this.live ? 'live' : 'paused';
    } catch (error) {
      if (generation !== this.generation) return;
      live.classList.add('down');
      live.textContent = 'offline';
      if (this.view.fail) this.view.fail(error);
    }
    if (this.live) this.timer = setTimeout(() => this.refresh(), REFRESH_MS);
  },

  toggleLive() {
    this.live = !this.live;
    const live = document.getElementById('live');
    live.textContent = this.live ? 'live' : 'paused';
    live.classList.toggle('paused', !this.live);
    if (this.live) this.refresh(); else clearTimeout(this.timer);
  },
};

document.addEventListener('DOMContentLoaded', () => app.start());
