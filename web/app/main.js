// The app's shell: the navigation, the signed-in state, and which screen a location shows.
// Screens live behind the `#` (`/#/movies/<id>`), so the same origin serves the API's
// paths and the app, and the static files need no rewriting to deploy.
import { call, keepTokens, onSession, refresh, signedIn } from './api.js';
import { announce, failure, h, messageOf, show } from './dom.js';
import * as account from './screens/account.js';
import * as admin from './screens/admin.js';
import * as browse from './screens/browse.js';
import * as cinemas from './screens/cinemas.js';
import * as home from './screens/home.js';
import * as library from './screens/library.js';
import * as manage from './screens/manage.js';
import * as movie from './screens/movie.js';
import * as names from './screens/names.js';
import * as player from './screens/player.js';
import * as shop from './screens/shop.js';

/**
 * @typedef {{ path: string, params: string[], query: URLSearchParams }} Route
 * @typedef {(main: HTMLElement, route: Route) => (void | (() => void) | Promise<void | (() => void)>)} Screen
 */

/** @type {[RegExp, Screen, string][]} */
const screens = [
  [/^\/$/, home.render, 'Home'],
  [/^\/browse$/, browse.render, 'Browse'],
  [/^\/movies\/([^/]+)$/, movie.render, 'Movie'],
  [/^\/watch\/([^/]+)$/, player.render, 'Watch'],
  [/^\/library$/, library.render, 'Library'],
  [/^\/cart$/, shop.cart, 'Cart'],
  [/^\/orders$/, shop.orders, 'Orders'],
  [/^\/orders\/([^/]+)$/, shop.order, 'Order'],
  [/^\/signin$/, account.signIn, 'Sign in'],
  [/^\/signup$/, account.signUp, 'Sign up'],
  [/^\/forgot$/, account.forgot, 'Reset your password'],
  [/^\/account$/, account.profile, 'Account'],
  [/^\/account\/security$/, account.security, 'Security'],
  [/^\/manage$/, manage.catalogue, 'The catalogue'],
  [/^\/manage\/movies\/([^/]+)$/, manage.movie, 'Edit a movie'],
  [/^\/manage\/cinemas$/, cinemas.list, 'Cinemas'],
  [/^\/manage\/cinemas\/([^/]+)$/, cinemas.cinema, 'Edit a cinema'],
  [/^\/manage\/names$/, names.list, 'Genres and people'],
  [/^\/manage\/names\/([^/]+)\/([^/]+)$/, names.edit, 'Edit a name'],
  [/^\/admin$/, admin.overview, 'Admin'],
  [/^\/admin\/users\/([^/]+)$/, admin.user, 'An account'],
];

const main = /** @type {HTMLElement} */ (document.getElementById('main'));
/** @type {(() => void) | null} */
let leaveScreen = null;

/** The current location as a route. */
function route() {
  const [path, search = ''] = (location.hash.replace(/^#/, '') || '/').split('?');
  return { path, query: new URLSearchParams(search) };
}

async function render() {
  leaveScreen?.();
  leaveScreen = null;
  const { path, query } = route();
  const match = screens.map(([pattern, screen, title]) => ({ m: pattern.exec(path), screen, title })).find((s) => s.m);
  window.scrollTo(0, 0);
  if (!match?.m) {
    document.title = 'Not found - Marquee';
    show(main, h('h1', {}, 'Nothing here'), h('p', {}, h('a', { href: '#/' }, 'Back to the front page')));
    return;
  }
  document.title = `${match.title} - Marquee`;
  // Each visit draws into an element of its own: a screen still loading when the viewer
  // moves on draws into a detached element, never over the next screen.
  const view = h('div', { class: 'view' });
  main.replaceChildren(view);
  try {
    const leave = await match.screen(view, { path, params: match.m.slice(1).map(decodeURIComponent), query });
    if (typeof leave === 'function') {
      if (view.isConnected) leaveScreen = leave;
      else leave();
    }
  } catch (error) {
    show(view, failure(error, render));
  }
}

async function drawNav() {
  const nav = /** @type {HTMLElement} */ (document.getElementById('nav'));
  const link = (/** @type {string} */ href, /** @type {string} */ label) => h('li', {}, h('a', { href }, label));
  const staff = signedIn() && (await manage.isStaff());
  const isAdmin = staff && (await admin.isAdmin());
  show(
    nav,
    link('#/browse', 'Browse'),
    signedIn()
      ? [link('#/library', 'Library'), link('#/cart', 'Cart'), link('#/orders', 'Orders'), staff && link('#/manage', 'Manage'), isAdmin && link('#/admin', 'Admin'), link('#/account', 'Account')]
      : [link('#/signin', 'Sign in'), link('#/signup', 'Sign up')],
  );
  markCurrent();
}

function markCurrent() {
  const here = `#${route().path}`;
  document.querySelectorAll('#nav a').forEach((a) => {
    if (a.getAttribute('href') !== here) {
      a.removeAttribute('aria-current');
      return;
    }
    a.setAttribute('aria-current', 'page');
    // On a phone the links scroll sideways in their row: the current one is kept in sight.
    const row = a.closest('ul');
    if (!row) return;
    const [box, rowBox] = [a.getBoundingClientRect(), row.getBoundingClientRect()];
    if (box.right > rowBox.right) row.scrollLeft += box.right - rowBox.right;
    else if (box.left < rowBox.left) row.scrollLeft -= rowBox.left - box.left;
  });
}

/** A provider sign-in comes back to `/?login_code=…`: the code is exchanged once, then dropped from the address. */
async function finishProviderSignIn() {
  const params = new URLSearchParams(location.search);
  const code = params.get('login_code');
  if (!code) return;
  history.replaceState(null, '', `/${location.hash}`);
  try {
    const answer = await call('post', '/auth/oauth/exchange', { body: { login_code: code } });
    if ('access_token' in answer) {
      keepTokens(answer);
    } else {
      account.awaitSecondStep(answer.mfa_token);
      location.hash = '#/signin';
    }
  } catch (error) {
    // A code that expired or was used already: say so, and offer the sign-in screen.
    announce(`Signing in did not finish: ${messageOf(error)}`);
    location.hash = '#/signin';
  }
}

// The skip link moves focus to the screen; as a plain `#main` link it would be taken for a
// screen's address.
document.querySelector('.skip')?.addEventListener('click', (event) => {
  event.preventDefault();
  main.focus();
});

document.getElementById('search')?.addEventListener('submit', (event) => {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.currentTarget);
  const q = new FormData(form).get('q');
  location.hash = `#/browse?q=${encodeURIComponent(String(q ?? '').trim())}`;
});

onSession(drawNav);
window.addEventListener('hashchange', () => {
  markCurrent();
  render();
});
// A stored session is restored before screens that need it decide anything.
await Promise.all([refresh(), finishProviderSignIn()]);
await drawNav();
render();
