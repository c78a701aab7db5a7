// The API as this app calls it: every call typed by the contract (../contract.d.ts), the
// access token kept in memory only, the refresh token in localStorage so that a reload stays
// signed in, and one refresh at a time across tabs (a refresh token works once: two tabs
// refreshing with the same one would end the session).

/** @typedef {import('../contract').Paths} Paths */
/** @typedef {import('../contract').Schemas} Schemas */

const REFRESH_KEY = 'marquee.refresh';

/** A problem+json answer (or a network failure) as an Error the screens can show. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {Partial<Schemas['ProblemBody']>} problem
   */
  constructor(status, problem) {
    super(problem.detail || problem.title || `The server answered ${status}`);
    this.status = status;
    this.code = problem.code ?? '';
    /** @type {Schemas['FieldError'][]} */
    this.errors = problem.errors ?? [];
  }
}

/** @type {string | null} */
let accessToken = null;
/** @type {Set<(signedIn: boolean) => void>} */
const listeners = new Set();

/** Called with the new state whenever the viewer signs in or out. */
export function onSession(/** @type {(signedIn: boolean) => void} */ listener) {
  listeners.add(listener);
}

export function signedIn() {
  return accessToken !== null;
}

/** @type {Promise<Schemas['UserView'] | null> | null} */
let me = null;

/** The signed-in viewer's profile (read once per session), or null when signed out. */
export function whoAmI() {
  if (!accessToken) return Promise.resolve(null);
  me ??= call('get', '/me').catch(() => {
    me = null;
    return null;
  });
  return me;
}

/**
 * @param {Schemas['TokenPair']} pair
 * @param {boolean} [renewed] the same viewer's session, refreshed (their profile still holds)
 */
export function keepTokens(pair, renewed = false) {
  accessToken = pair.access_token;
  if (!renewed) me = null;
  localStorage.setItem(REFRESH_KEY, pair.refresh_token);
  listeners.forEach((l) => l(true));
}

export function forgetTokens() {
  const was = accessToken !== null;
  accessToken = null;
  me = null;
  localStorage.removeItem(REFRESH_KEY);
  if (was) listeners.forEach((l) => l(false));
}

/** @type {Promise<boolean> | null} */
let refreshing = null;

/**
 * Exchanges the stored refresh token for a new pair; false when there is none or it is
 * no longer good (then the viewer is signed out).
 */
export function refresh() {
  refreshing ??= withRefreshLock(async () => {
    const stored = localStorage.getItem(REFRESH_KEY);
    if (!stored) return false;
    const answer = await fetch('/auth/refresh', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: stored }),
    }).catch(() => null);
    if (!answer) return false;
    if (!answer.ok) {
      // Another tab may have rotated it meanwhile: only a token still ours is dropped.
      if (localStorage.getItem(REFRESH_KEY) === stored) forgetTokens();
      return false;
    }
    keepTokens(await answer.json(), true);
    return true;
  }).finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/**
 * @template T
 * @param {() => Promise<T>} work
 * @returns {Promise<T>}
 */
function withRefreshLock(work) {
  return navigator.locks ? /** @type {Promise<T>} */ (navigator.locks.request('marquee-refresh', work)) : work();
}

/**
 * One call of the API.
 * @template {keyof Paths} P
 * @template {import('../contract').MethodOf<P>} M
 * @param {M} method
 * @param {P} path the contract's path, `{name}` parameters filled from `options.params`
 * @param {import('../contract').Options<P, M>} [options]
 * @returns {Promise<import('../contract').Answer<P, M>>}
 */
export async function call(method, path, options = {}) {
  const url = new URL(fill(String(path), options.params), location.origin);
  for (const [name, value] of Object.entries(options.query ?? {})) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(name, String(value));
  }
  /** @param {string | null} token */
  const send = (token) => {
    /** @type {Record<string, string>} */
    const headers = { accept: 'application/json', ...options.headers };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (token) headers.authorization = `Bearer ${token}`;
    return fetch(url, {
      method: String(method).toUpperCase(),
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      keepalive: options.keepalive,
      cache: options.fresh ? 'no-cache' : 'default',
    });
  };
  let answer;
  try {
    answer = await send(accessToken);
    if (answer.status === 401 && accessToken && (await refresh())) answer = await send(accessToken);
  } catch {
    throw new ApiError(0, { detail: 'The server cannot be reached. Check your connection and try again.' });
  }
  // Read to the end even when empty: an unread answer is cut off when the page unloads.
  const text = await answer.text();
  if (answer.status === 204 || answer.status === 304) return /** @type {any} */ (undefined);
  let parsed;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!answer.ok) throw new ApiError(answer.status, parsed ?? {});
  return parsed;
}

/**
 * @param {string} path
 * @param {Record<string, string> | undefined} params
 */
function fill(path, params) {
  return path.replace(/\{(\w+)\}/g, (_, name) => encodeURIComponent(params?.[name] ?? ''));
}
