// The viewer's security screen: two-step sign-in (setting it up, new recovery codes,
// turning it off), the password, the sessions, linked identities and the security log.
import { call, signedIn } from '../api.js';
import { announce, failure, field, h, loading, moreOf, onSubmit, show, when } from '../dom.js';
import { linkByEmail, needSignIn, secondFactor, typedCode } from './account.js';

/** @typedef {import('../../contract').Schemas} Schemas */

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

/**
 * One security event as a line: when, what, how (the API's few words), and from which
 * device and address, so that a viewer can tell a sign-in that was not theirs.
 * @param {Schemas['SecurityEvent']} e
 */
export const eventItem = (e) =>
  h('li', {}, [when(e.at), e.type.replaceAll('_', ' '), e.detail, e.user_agent ? deviceOf(e.user_agent) : null, e.ip].filter(Boolean).join(' · '));

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
    h('p', {}, `Scan this code with an authenticator app, or type the key below into it, then enter the code it shows within ${Math.max(1, Math.round(setup.expires_in / 60))} minutes.`),
    qr,
    h('p', {}, 'Key: ', h('code', { class: 'secret' }, setup.secret)),
    // A phone cannot scan its own screen: the same key, handed to the app that opens it.
    h('p', {}, h('a', { href: setup.otpauth_uri, class: 'otpauth' }, 'On this phone? Add it to your authenticator app')),
    form,
  );
}
