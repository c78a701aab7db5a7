// The viewer's account: signing up, in (with the second step when two-step sign-in is on,
// or through Google or Facebook) and out, the profile, and the security screen (two-step
// sign-in, password, sessions, linked identities, the security log).
import { ApiError, call, forgetTokens, keepTokens, signedIn, whoAmI } from '../api.js';
import { announce, failure, field, h, loading, moreOf, onSubmit, show, text, when } from '../dom.js';

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

/** Marks in a user agent and the browser they name, the more specific first (Edge's and Opera's also say Chrome; Chrome's, Safari). */
const BROWSERS = [
  ['Edg', 'Edge'],
  ['OPR/', 'Opera'],
  ['Firefox/', 'Firefox'],
  ['FxiOS/', 'Firefox'],
  ['CriOS/', 'Chrome'],
  ['HeadlessChrome/', 'Chrome (headless)'],
  ['Chrome/', 'Chrome'],
  ['Safari/', 'Safari'],
];
/** Marks in a user agent and the system they name (iPhones' also say Mac OS X; Android's, Linux). */
const SYSTEMS = [
  ['iPhone', 'iOS'],
  ['iPad', 'iPadOS'],
  ['Android', 'Android'],
  ['Windows', 'Windows'],
  ['Mac OS X', 'macOS'],
  ['CrOS', 'ChromeOS'],
  ['Linux', 'Linux'],
];

/**
 * A session's device as a viewer knows it ("Firefox on Windows"); a client that is not a
 * browser ("curl/8.5.0") as it names itself.
 * @param {string | null | undefined} agent the session's user agent
 */
function deviceOf(agent) {
  if (!agent) return 'An unknown device';
  const named = (/** @type {string[][]} */ marks) => marks.find(([mark]) => agent.includes(mark))?.[1];
  const browser = named(BROWSERS);
  const system = named(SYSTEMS);
  if (!browser && !system) return agent.length > 60 ? `${agent.slice(0, 59)}…` : agent;
  return `${browser ?? 'A browser'} on ${system ?? 'another system'}`;
}

/** The code typed in a form's `code` field, without the spaces authenticators show inside it ("123 456"). */
const typedCode = (/** @type {FormData} */ data) => text(data, 'code').replace(/\s+/g, '');

/** What the viewer typed as a second step: six digits are an authenticator's code, anything else a recovery code. */
function secondFactor(/** @type {FormData} */ data) {
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
function linkByEmail(lead, label, send, sent) {
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
    field('Country (two letters)', { name: 'country', value: me.country ?? '', autocomplete: 'country', maxlength: 2 }),
    h('div', { class: 'field' }, h('label', { for: 'f-bio' }, 'About you'), h('textarea', { id: 'f-bio', name: 'bio', rows: 3 }, me.bio ?? '')),
    h('button', { type: 'submit', class: 'primary' }, 'Save'),
  );
  onSubmit(form, async (data) => {
    const value = (/** @type {string} */ name) => text(data, name) || null;
    const country = value('country')?.toUpperCase() ?? null;
    await call('patch', '/me', { body: { first_name: value('first_name'), last_name: value('last_name'), country, bio: value('bio') } });
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

/** @param {HTMLElement} main */
export async function security(main) {
  if (!signedIn()) return needSignIn(main, 'your security settings');
  show(main, h('h1', {}, 'Security'), loading('your security settings'));
  const [me, sessions, identities, events] = await Promise.all([
    call('get', '/me'),
    call('get', '/me/sessions'),
    call('get', '/me/identities'),
    call('get', '/me/security-events', { query: { limit: 20 } }),
  ]);
  const twoStep = h('section', { 'aria-labelledby': 'two-step' }, h('h2', { id: 'two-step' }, 'Two-step sign-in'));
  if (me.mfa_enabled) {
    twoStep.append(h('p', {}, `On. ${me.recovery_codes_remaining ?? 0} recovery codes left.`), twoStepChanges(me.has_password, () => security(main)));
  } else {
    const start = h('button', { type: 'button', class: 'primary' }, 'Turn on two-step sign-in');
    start.addEventListener('click', () => setUpTwoStep(twoStep));
    twoStep.append(h('p', {}, 'Off. With it on, signing in also asks for a code from an authenticator app.'), start);
  }
  const revoke = async (/** @type {string} */ id) => {
    try {
      await call('delete', '/me/sessions/{id}', { params: { id } });
      announce('Session ended');
      await security(main);
    } catch (error) {
      show(main, failure(error));
    }
  };
  const unlink = async (/** @type {Schemas['Provider']} */ provider) => {
    try {
      await call('delete', '/me/identities/{provider}', { params: { provider } });
      announce(`${provider} unlinked`);
      await security(main);
    } catch (error) {
      // The last way to sign in stays (409): the reason is shown where the viewer looks.
      const list = main.querySelector('[aria-labelledby="identities"]');
      list?.append(failure(error));
    }
  };
  const eventList = h('ul', {}, events.items.map(eventItem));
  const password = me.has_password ? passwordChange(me.mfa_enabled) : choosePassword(me.email);
  show(
    main,
    h('h1', {}, 'Security'),
    twoStep,
    h('section', { 'aria-labelledby': 'pw' }, h('h2', { id: 'pw' }, 'Password'), password),
    h(
      'section',
      { 'aria-labelledby': 'sessions' },
      h('h2', { id: 'sessions' }, 'Where you are signed in'),
      h(
        'ul',
        {},
        sessions.items.map((s) =>
          h(
            'li',
            {},
            h('span', { title: s.user_agent ?? '' }, deviceOf(s.user_agent)),
            ` · ${s.ip ? `${s.ip} · ` : ''}last used ${when(s.last_used_at)}`,
            s.current ? ' (this one)' : [' ', h('button', { type: 'button', class: 'link', onclick: () => revoke(s.id) }, 'End this session')],
          ),
        ),
      ),
    ),
    h(
      'section',
      { 'aria-labelledby': 'identities' },
      h('h2', { id: 'identities' }, 'Linked sign-in providers'),
      identities.items.length
        ? h(
            'ul',
            {},
            identities.items.map((i) =>
              h('li', {}, `${i.provider}: ${i.email ?? ''}, linked ${when(i.linked_at)} `, h('button', { type: 'button', class: 'link', onclick: () => unlink(i.provider) }, `Unlink ${i.provider}`)),
            ),
          )
        : h('p', { class: 'empty' }, 'None: sign in with Google or Facebook using this email to link one.'),
    ),
    h(
      'section',
      { 'aria-labelledby': 'log' },
      h('h2', { id: 'log' }, 'Recent security events'),
      events.items.length ? [eventList, moreOf(eventList, events.next_cursor, olderEvents, eventItem, 'Older events')] : h('p', { class: 'empty' }, 'Nothing yet.'),
    ),
  );
}

/**
 * The password changed: the current one, the new one, and a code while two-step sign-in is on.
 * @param {boolean} twoStepOn
 */
function passwordChange(twoStepOn) {
  const form = h(
    'form',
    { class: 'card-form' },
    field('Current password', { name: 'current_password', type: 'password', autocomplete: 'current-password', required: true }),
    field('New password (at least 10 characters)', { name: 'new_password', type: 'password', autocomplete: 'new-password', required: true, minlength: 10 }),
    twoStepOn && field('The 6-digit code your authenticator app shows', { name: 'code', id: 'f-password-code', autocomplete: 'one-time-code', inputmode: 'numeric', required: true }),
    h('button', { type: 'submit' }, 'Change the password'),
  );
  onSubmit(form, async (data) => {
    await call('post', '/auth/password/change', {
      body: {
        current_password: String(data.get('current_password') ?? ''),
        new_password: String(data.get('new_password') ?? ''),
        code: twoStepOn ? typedCode(data) : null,
      },
    });
    form.reset();
    announce('Password changed; your other sessions have ended');
  });
  return form;
}

/**
 * An account made through Google or Facebook has no password: it chooses one through an
 * emailed link, as a forgotten one is chosen again.
 * @param {string} email
 */
const choosePassword = (email) =>
  linkByEmail(
    'You sign in with Google or Facebook. To sign in with a password too, choose one through a link we email you.',
    'Email me a link',
    () => call('post', '/auth/password/forgot', { body: { email } }),
    `A link to choose a password is on its way to ${email} (at most one a minute).`,
  );

/** @param {Schemas['SecurityEvent']} e */
const eventItem = (e) => h('li', {}, `${when(e.at)} · ${e.type.replaceAll('_', ' ')}${e.ip ? ` · ${e.ip}` : ''}`);

/** The security log's next page, from `cursor`. */
const olderEvents = (/** @type {string} */ cursor) => call('get', '/me/security-events', { query: { limit: 20, cursor } });

/**
 * While two-step sign-in is on: a new set of recovery codes, or turning it off. Each asks
 * for the password and a code again (an account with no password, one made through
 * Google or Facebook, needs a sign-in within the last 10 minutes instead).
 * @param {boolean} hasPassword
 * @param {() => Promise<void>} turnedOff draws the screen again
 */
function twoStepChanges(hasPassword, turnedOff) {
  const slot = h('div');
  /** @param {'codes' | 'off'} change */
  const open = (change) => {
    const form = h(
      'form',
      { class: 'card-form' },
      hasPassword
        ? field('Your password', { name: 'password', id: 'f-mfa-password', type: 'password', autocomplete: 'current-password', required: true })
        : h('p', { class: 'meta' }, 'Your account has no password: this works within 10 minutes of signing in.'),
      change === 'codes'
        ? field('The 6-digit code your authenticator app shows', { name: 'code', id: 'f-mfa-code', autocomplete: 'one-time-code', inputmode: 'numeric', required: true })
        : field('Code from your authenticator app, or a recovery code', { name: 'code', id: 'f-mfa-code', autocomplete: 'one-time-code', required: true, spellcheck: false }),
      h('button', { type: 'submit', class: 'primary' }, change === 'codes' ? 'Make new codes' : 'Turn it off'),
    );
    onSubmit(form, async (data) => {
      const password = String(data.get('password') ?? '') || null;
      if (change === 'codes') {
        const answer = await call('post', '/auth/mfa/recovery-codes', { body: { password, code: typedCode(data) } });
        show(slot, recoveryCodes(answer.recovery_codes, 'Your new recovery codes. The ones you had before no longer work.'));
        announce('New recovery codes made');
      } else {
        await call('delete', '/auth/mfa/totp', { body: { password, ...secondFactor(data) } });
        announce('Two-step sign-in is off; your other sessions have ended');
        await turnedOff();
      }
    });
    show(slot, form);
    form.querySelector('input')?.focus();
  };
  return h(
    'div',
    {},
    h('p', { class: 'row' }, h('button', { type: 'button', onclick: () => open('codes') }, 'New recovery codes'), ' ', h('button', { type: 'button', onclick: () => open('off') }, 'Turn off two-step sign-in')),
    slot,
  );
}

/**
 * Recovery codes, shown once.
 * @param {string[]} codes
 * @param {string} lead
 */
const recoveryCodes = (codes, lead) => [
  h('p', {}, `${lead} Keep them somewhere safe: each signs you in once if you lose your phone. They are not shown again.`),
  h('ul', { class: 'codes' }, codes.map((c) => h('li', {}, h('code', {}, c)))),
];

/**
 * Setting up two-step sign-in: the QR code (or the secret), a first code, then the
 * recovery codes, shown once.
 * @param {HTMLElement} into
 */
async function setUpTwoStep(into) {
  show(into, h('h2', { id: 'two-step' }, 'Two-step sign-in'), loading('the setup'));
  /** @type {Schemas['SetupAnswer']} */
  let setup;
  try {
    setup = await call('post', '/auth/mfa/totp', { body: {} });
  } catch (error) {
    // Long after signing in, the API asks for the password again.
    const form = h(
      'form',
      { class: 'card-form' },
      field('Your password', { name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
      h('button', { type: 'submit' }, 'Continue'),
    );
    onSubmit(form, async (data) => {
      setup = await call('post', '/auth/mfa/totp', { body: { password: String(data.get('password') ?? '') } });
      confirmStep(into, setup);
    });
    show(into, h('h2', { id: 'two-step' }, 'Two-step sign-in'), failure(error), form);
    return;
  }
  confirmStep(into, setup);
}

/**
 * @param {HTMLElement} into
 * @param {Schemas['SetupAnswer']} setup
 */
function confirmStep(into, setup) {
  const qr = h('img', { src: `data:image/svg+xml;base64,${btoa(setup.qr_svg)}`, alt: 'QR code to scan with an authenticator app', width: 200, height: 200 });
  const form = h(
    'form',
    { class: 'card-form' },
    field('The 6-digit code the app shows', { name: 'code', autocomplete: 'one-time-code', inputmode: 'numeric', required: true }),
    h('button', { type: 'submit', class: 'primary' }, 'Turn it on'),
  );
  onSubmit(form, async (data) => {
    const answer = await call('post', '/auth/mfa/totp/confirm', { body: { code: typedCode(data) } });
    show(
      into,
      h('h2', { id: 'two-step' }, 'Two-step sign-in is on'),
      recoveryCodes(answer.recovery_codes, 'Your recovery codes.'),
    );
    announce('Two-step sign-in is on');
  });
  show(
    into,
    h('h2', { id: 'two-step' }, 'Two-step sign-in'),
    h('p', {}, 'Scan this code with an authenticator app, or type the key below into it.'),
    qr,
    h('p', {}, 'Key: ', h('code', { class: 'secret' }, setup.secret)),
    form,
  );
}
