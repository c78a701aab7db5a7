// The app's shell: the navigation, the signed-in state, and which screen a location shows.
// Screens live behind the `#` (`/#/movies/<id>`), so the same origin serves the API's
// paths and the app, and the static files need no rewriting to deploy.
import { ApiError, call, keepTokens, onSession, refresh, signedIn, whoAmI } from './api.js';
import { announce, failure, h, messageOf, show } from './dom.js';

/**
 * @typedef {{ path: string, params: string[], query: URLSearchParams }} Route
 * @typedef {(main: HTMLElement, route: Route) => (void | (() => void) | Promise<void | (() => void)>)} Screen
 */

// Each screen's module is fetched when the screen is first shown: the front page needs its
// own code only, not the moderators' and admins' screens.
const account = () => import('./screens/account.js');
const shop = () => import('./screens/shop.js');
const manage = () => import('./screens/manage.js');
const cinemas = () => import('./screens/cinemas.js');
const names = () => import('./screens/names.js');
const admin = () => import('./screens/admin.js');

/** @type {[RegExp, () => Promise<Screen>, string][]} */
const screens = [
  [/^\/$/, () => import('./screens/home.js').then((m) => m.render), 'Home'],
  [/^\/browse$/, () => import('./screens/browse.js').then((m) => m.render), 'Browse'],
  [/^\/movies\/([^/]+)$/, () => import('./screens/movie.js').then((m) => m.render), 'Movie'],
  [/^\/watch\/([^/]+)$/, () => import('./screens/player.js').then((m) => m.render), 'Watch'],
  [/^\/library$/, () => import('./screens/library.js').then((m) => m.render), 'Library'],
  [/^\/cart$/, () => shop().then((m) => m.cart), 'Cart'],
  [/^\/orders$/, () => shop().then((m) => m.orders), 'Orders'],
  [/^\/orders\/([^/]+)$/, () => shop().then((m) => m.order), 'Order'],
  [/^\/signin$/, () => account().then((m) => m.signIn), 'Sign in'],
  [/^\/signup$/, () => account().then((m) => m.signUp), 'Sign up'],
  [/^\/forgot$/, () => account().then((m) => m.forgot), 'Reset your password'],
  [/^\/account$/, () => account().then((m) => m.profile), 'Account'],
  [/^\/account\/security$/, () => import('./screens/security.js').then((m) => m.security), 'Security'],
  [/^\/manage$/, () => manage().then((m) => m.catalogue), 'The catalogue'],
  [/^\/manage\/movies\/([^/]+)$/, () => manage().then((m) => m.movie), 'Edit a movie'],
  [/^\/manage\/cinemas$/, () => cinemas().then((m) => m.list), 'Cinemas'],
  [/^\/manage\/cinemas\/([^/]+)$/, () => cinemas().then((m) => m.cinema), 'Edit a cinema'],
  [/^\/manage\/names$/, () => names().then((m) => m.list), 'Genres and people'],
  [/^\/manage\/names\/([^/]+)\/([^/]+)$/, () => names().then((m) => m.edit), 'Edit a name'],
  [/^\/admin$/, () => admin().then((m) => m.overview), 'Admin'],
  [/^\/admin\/users\/([^/]+)$/, () => admin().then((m) => m.user), 'An account'],
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
  const match = screens.map(([pattern, load, title]) => ({ m: pattern.exec(path), load, title })).find((s) => s.m);
  window.scrollTo(0, 0);
  if (!match?.m) {
    notFound(main, 'Nothing here', null);
    return;
  }
  document.title = `${match.title} - Marquee`;
  // Each visit draws into an element of its own: a screen still loading when the viewer
  // moves on draws into a detached element, never over the next screen.
  const view = h('div', { class: 'view' });
  main.replaceChildren(view);
  try {
    const screen = await match.load();
    const leave = await screen(view, { path, params: match.m.slice(1).map(decodeURIComponent), query });
    if (typeof leave === 'function') {
      if (view.isConnected) leaveScreen = leave;
      else leave();
    }
  } catch (error) {
    // What the address names is not there (a movie removed, a mistyped link): trying
    // again would not help.
    if (error instanceof ApiError && error.status === 404) {
      notFound(view, 'Not found', error.message);
    } else {
      show(view, h('h1', {}, 'This page could not be shown'), failure(error, render));
    }
  }
}

/** What an address that names nothing shows: `heading`, the reason if known, the way home. */
function notFound(/** @type {HTMLElement} */ into, /** @type {string} */ heading, /** @type {string | null} */ why) {
  document.title = 'Not found - Marquee';
  show(into, h('h1', {}, heading), why && h('p', {}, why), h('p', {}, h('a', { href: '#/' }, 'Back to the front page')));
}

async function drawNav() {
  const nav = /** @type {HTMLElement} */ (document.getElementById('nav'));
  const link = (/** @type {string} */ href, /** @type {string} */ label) => h('li', {}, h('a', { href }, label));
  const role = signedIn() ? (await whoAmI())?.role : undefined;
  const staff = role === 'moderator' || role === 'admin';
  const isAdmin = role === 'admin';
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
      (await account()).awaitSecondStep(answer.mfa_token);
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
