// The viewer's account: signing up, in (with the second step when two-step sign-in is on,
// or through Google or Facebook) and out, and the profile; what other screens ask of it
// (a sign-in first, a role). The security screen is security.js.
import { ApiError, call, forgetTokens, keepTokens, signedIn, whoAmI } from '../api.js';
import { announce, failure, field, h, loading, onSubmit, show, text, when } from '../dom.js';

/** @typedef {import('../../contract').Schemas} Schemas */

/** The second step a sign-in is waiting for (an `mfa_token`), if any. */
let secondStep = /** @type {string | null} */ (null);

/** A provider sign-in that needs a code too hands its token to the sign-in screen. */
export function awaitSecondStep(/** @type {string} */ mfaToken) {
  secondStep = mfaToken;
}

/** What a screen for signed-in viewers shows to everyone else. */
export function needSignIn(/** @type {HTMLElement} */ main, /** @type {string} */ what) {
  show(
    main,
    h('h1', {}, 'Sign in'),
    h('p', {}, `Sign in to see ${what}.`),
    h('p', {}, h('a', { href: `#/signin?then=${encodeURIComponent(location.hash)}`, class: 'button primary' }, 'Sign in'), ' ', h('a', { href: '#/signup' }, 'or create an account')),
  );
}

/**
 * What a screen for some roles shows everyone else: the sign-in to the signed out, a refusal
 * to other roles. True when it showed one of them.
 * @param {HTMLElement} main
 * @param {import('../../contract').Schemas['Role'][]} roles
 * @param {{ tools: string, title: string, why: string }} say
 */
export async function refusedUnless(main, roles, { tools, title, why }) {
  const me = await whoAmI();
  if (me === null) {
    needSignIn(main, tools);
    return true;
  }
  if (!roles.includes(me.role)) {
    show(main, h('h1', {}, title), h('p', {}, why));
    return true;
  }
  return false;
}

/** Where to go once signed in: back where the viewer was asked to sign in, or home. */
function onward(/** @type {URLSearchParams} */ query) {
  const then = query.get('then');
  location.hash = then && then.startsWith('#/') ? then : '#/';
}

/**
 * @param {HTMLElement} main
 * @param {import('../main.js').Route} route
 */
export function signIn(main, { query }) {
  if (secondStep) return codeStep(main, secondStep, query);
  const form = h(
    'form',
    { class: 'card-form' },
    field('Email', { name: 'email', type: 'email', autocomplete: 'username', required: true }),
    field('Password', { name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
  );
  // An account never activated: its link may have expired or gone astray, so a new one is offered.
  const activation = h('div', { class: 'activation' });
  onSubmit(form, async (data) => {
    const email = text(data, 'email');
    show(activation);
    const answer = await call('post', '/auth/login', { body: { email, password: String(data.get('password') ?? '') } }).catch((error) => {
      if (error instanceof ApiError && error.code === 'account_inactive') show(activation, resendActivation(email));
      throw error;
    });
    if ('access_token' in answer) {
      keepTokens(answer);
      onward(query);
    } else {
      secondStep = answer.mfa_token;
      codeStep(main, answer.mfa_token, query);
    }
  });
  const back = `${location.origin}/`;
  show(
    main,
    h('h1', {}, 'Sign in'),
    form,
    activation,
    h(
      'div',
      { class: 'providers' },
      h('p', {}, 'Or sign in with'),
      h('a', { class: 'button', href: `/auth/oauth/google?redirect_to=${encodeURIComponent(back)}` }, 'Google'),
      ' ',
      h('a', { class: 'button', href: `/auth/oauth/facebook?redirect_to=${encodeURIComponent(back)}` }, 'Facebook'),
    ),
    h('p', {}, h('a', { href: '#/signup' }, 'Create an account'), ' · ', h('a', { href: '#/forgot' }, 'Forgot your password?')),
  );
}

/**
 * The second step: a code from the authenticator app, or a recovery code.
 * @param {HTMLElement} main
 * @param {string} mfaToken
 * @param {URLSearchParams} query
 */
function codeStep(main, mfaToken, query) {
  const form = h(
    'form',
    { class: 'card-form' },
    field('Code from your authenticator app, or a recovery code', { name: 'code', autocomplete: 'one-time-code', required: true, spellcheck: false }),
    h('button', { type: 'submit', class: 'primary' }, 'Continue'),
  );
  onSubmit(form, async (data) => {
    keepTokens(await call('post', '/auth/mfa/verify', { body: { mfa_token: mfaToken, ...secondFactor(data) } }));
    secondStep = null;
    onward(query);
  });
  const restart = h('button', { type: 'button', class: 'link' }, 'Start again');
  restart.addEventListener('click', () => {
    secondStep = null;
    signIn(main, { path: '/signin', params: [], query });
  });
  show(main, h('h1', {}, 'Two-step sign-in'), h('p', {}, 'Enter the 6-digit code your authenticator app shows for Marquee.'), form, restart);
  form.querySelector('input')?.focus();
}

/** The code typed in a form's `code` field, without the spaces authenticators show inside it ("123 456"). */
export const typedCode = (/** @type {FormData} */ data) => text(data, 'code').replace(/\s+/g, '');

/** What the viewer typed as a second step: six digits are an authenticator's code, anything else a recovery code. */
export function secondFactor(/** @type {FormData} */ data) {
  const code = typedCode(data);
  return /^\d{6}$/.test(code) ? { code } : { recovery_code: code };
}

/** @param {HTMLElement} main */
export function signUp(main) {
  const form = h(
    'form',
    { class: 'card-form' },
    field('Email', { name: 'email', type: 'email', autocomplete: 'email', required: true }),
    field('Password (at least 10 characters)', { name: 'password', type: 'password', autocomplete: 'new-password', required: true, minlength: 10 }),
    h('button', { type: 'submit', class: 'primary' }, 'Create the account'),
  );
  onSubmit(form, async (data) => {
    const email = text(data, 'email');
    await call('post', '/auth/register', { body: { email, password: String(data.get('password') ?? '') } });
    show(
      main,
      h('h1', {}, 'Check your email'),
      h('p', { role: 'status' }, `We sent a link to ${email}. Open it to activate your account, then sign in.`),
      h('p', {}, h('a', { href: '#/signin', class: 'button' }, 'Sign in')),
      resendActivation(email),
    );
  });
  show(main, h('h1', {}, 'Create an account'), form, h('p', {}, 'Already have one? ', h('a', { href: '#/signin' }, 'Sign in')));
}

/**
 * A button that emails `email` a new activation link (the one sent before stops working).
 * @param {string} email
 */
const resendActivation = (email) =>
  linkByEmail(
    'No email, or the link expired?',
    'Email me a new activation link',
    () => call('post', '/auth/activation/resend', { body: { email } }),
    `If ${email} is waiting to be activated, a new link is on its way (at most one a minute): it asks you to choose your password, and the link sent before stops working.`,
  );

/**
 * A button that asks the API to email a link, then says what to expect. The API answers
 * alike whether or not the address has such an account, so the screen does too.
 * @param {string} lead
 * @param {string} label
 * @param {() => Promise<unknown>} send
 * @param {string} sent
 */
export function linkByEmail(lead, label, send, sent) {
  const button = h('button', { type: 'button' }, label);
  const problem = h('div');
  const place = h('div', {}, h('p', {}, lead), button, problem);
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await send();
      show(place, h('p', { role: 'status' }, sent));
    } catch (error) {
      button.disabled = false;
      show(problem, failure(error));
    }
  });
  return place;
}

/** @param {HTMLElement} main */
export function forgot(main) {
  const form = h(
    'form',
    { class: 'card-form' },
    field('Email', { name: 'email', type: 'email', autocomplete: 'email', required: true }),
    h('button', { type: 'submit', class: 'primary' }, 'Email me a link'),
  );
  onSubmit(form, async (data) => {
    await call('post', '/auth/password/forgot', { body: { email: text(data, 'email') } });
    show(main, h('h1', {}, 'Check your email'), h('p', { role: 'status' }, 'If an account uses that address, a link to choose a new password is on its way.'));
  });
  show(main, h('h1', {}, 'Reset your password'), form);
}

/** @param {HTMLElement} main */
export async function profile(main) {
  if (!signedIn()) return needSignIn(main, 'your account');
  show(main, h('h1', {}, 'Your account'), loading('your profile'));
  const me = await call('get', '/me');
  const form = h(
    'form',
    { class: 'card-form' },
    field('First name', { name: 'first_name', value: me.first_name ?? '', autocomplete: 'given-name' }),
    field('Last name', { name: 'last_name', value: me.last_name ?? '', autocomplete: 'family-name' }),
    // The API takes a past day (UTC) from 1900 on.
    field('Date of birth (optional)', { name: 'date_of_birth', type: 'date', value: me.date_of_birth ?? '', autocomplete: 'bday', min: '1900-01-01', max: new Date(Date.now() - 86_400_000).toISOString().slice(0, 10) }),
    field('Country (two letters)', { name: 'country', value: me.country ?? '', autocomplete: 'country', maxlength: 2 }),
    field('Picture (an https address, optional)', { name: 'avatar_url', type: 'url', pattern: 'https://.*', maxlength: 2048, value: me.avatar_url ?? '' }),
    h('div', { class: 'field' }, h('label', { for: 'f-bio' }, 'About you'), h('textarea', { id: 'f-bio', name: 'bio', rows: 3 }, me.bio ?? '')),
    h('button', { type: 'submit', class: 'primary' }, 'Save'),
  );
  onSubmit(form, async (data) => {
    const value = (/** @type {string} */ name) => text(data, name) || null;
    const country = value('country')?.toUpperCase() ?? null;
    const body = { first_name: value('first_name'), last_name: value('last_name'), date_of_birth: value('date_of_birth'), country, avatar_url: value('avatar_url'), bio: value('bio') };
    await call('patch', '/me', { body });
    announce('Profile saved');
  });
  const signOut = h('button', { type: 'button' }, 'Sign out');
  signOut.addEventListener('click', () => leave(false));
  const everywhere = h('button', { type: 'button' }, 'Sign out everywhere');
  everywhere.addEventListener('click', () => leave(true));
  show(
    main,
    h('h1', {}, 'Your account'),
    h('p', {}, `${me.email} · ${me.role} · member since ${when(me.created_at)}`),
    form,
    h('p', {}, h('a', { href: '#/account/security' }, 'Security: two-step sign-in, password, sessions, sign-in history')),
    h('p', { class: 'row' }, signOut, ' ', everywhere),
  );
}

async function leave(/** @type {boolean} */ all) {
  try {
    await call('post', '/auth/logout', { body: { all } });
  } finally {
    forgetTokens();
    location.hash = '#/';
  }
}
