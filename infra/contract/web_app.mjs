// The viewer web app in a real browser (headless Chromium) against the local server. A
// newcomer browses and searches (and the browse screen fills a screenful from short pages,
// answers made up in the browser), signs up (the activation link from the outbox), signs in,
// likes, rates, comments (edits one, deletes another) and keeps a favourite, opens a name in
// its credits (that person's movies), buys a movie through the simulated
// checkout, plays it (its time advances), leaves, and finds it under "Continue watching"
// where they stopped. A second viewer turns on two-step sign-in (the QR code's key, a first
// code, the recovery codes), signs out and signs in again with a code; a third changes their
// password with a code, makes new recovery codes and turns two-step sign-in off. A
// moderator deletes a viewer's comment, changes a showtime's price and seats, describes an
// actor (their movies' page says it), adds, renames and removes a genre, and removes a
// movie nobody bought. An account never activated asks for a new link. A moderator pages
// through the catalogue, adds a movie crediting an actor past the API's first page of
// actors (the form offers them all), uploads its trailer (progress to 100 %), and pages
// through a library of every movie as favourites, a security log and a list of orders each
// longer than a page; an anonymous visitor then plays the
// trailer before signing in with Google (the local simulated provider), then chooses a
// password through an emailed link.
// Every screen passes
// axe-core with no serious or critical violation. The run fails on any script error,
// console error (a CSP violation is one), failed request or error answer. It prints the
// home page's first contentful paint (a figure, not a bar) and saves a screenshot of it
// (target/web/home.png; WEB_SCREENSHOT=path saves it there too).
//
// Usage: node infra/contract/web_app.mjs PATH/TO/marquee-local   (run by ./infra/test)
// CHROMIUM names the browser (default /usr/bin/chromium).
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';
import { emailTo, emailsTo, stopServer } from './scratch.mjs';

const binary = process.argv[2];
if (!binary) throw new Error('usage: web_app.mjs PATH/TO/marquee-local');
const here = dirname(fileURLToPath(import.meta.url));
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const dataDir = mkdtempSync(join(tmpdir(), 'marquee-web-'));
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k === 'MARQUEE_USAGE_LOG' || (!k.startsWith('MARQUEE_') && !k.startsWith('AWS_'))));
const server = spawn(binary, [], {
  env: { ...env, MARQUEE_LISTEN: '127.0.0.1:0', MARQUEE_DATA_DIR: dataDir, MARQUEE_DEMO_MOVIES: '24', MARQUEE_LOG: 'warn' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
// The server prints its address, then the first admin's credentials (a fresh data folder).
const [base, admin] = await new Promise((resolve, reject) => {
  const lines = createInterface({ input: server.stdout });
  let address;
  lines.on('line', (line) => {
    if (line.startsWith('Marquee API: ')) address = line.slice(13).trim();
    const first = /^First admin: (\S+) \/ (\S+)/.exec(line);
    if (first) resolve([address, { email: first[1], password: first[2] }]);
  });
  server.on('exit', () => reject(new Error('the local server ended before printing its address and first admin')));
});

const log = (/** @type {string} */ what) => console.log(`web app: ${what}`);
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--autoplay-policy=no-user-gesture-required'],
});

/** Everything a screen did wrong; the run fails on the first. */
const problems = [];
/** Error answers a step provokes on purpose: { status, path, seen }. */
let expected = [];
function expectError(/** @type {number} */ status, /** @type {string} */ path) {
  expected.push({ status, path, seen: false });
}
function watch(page) {
  page.on('pageerror', (e) => problems.push(`script error: ${e.message}`));
  page.on('console', (m) => {
    // The browser logs every error answer; those a step provoked are not the app's fault.
    const provoked = expected.some((e) => m.text().includes(`status of ${e.status} `));
    if (m.type() === 'error' && !provoked) problems.push(`console error: ${m.text()} (${m.location()?.url ?? ''})`);
  });
  page.on('requestfailed', (r) => {
    // A video element drops its range requests when it is taken off the page; the browser
    // refreshes a stale-while-revalidate answer in the background (no initiator) and may
    // drop that refresh. Neither is a request the app made.
    const cutOff = r.failure()?.errorText === 'net::ERR_ABORTED';
    const media = r.resourceType() === 'media';
    const revalidation = r.resourceType() === 'other' && r.initiator()?.type === 'other' && r.method() === 'GET';
    const aborted = cutOff && (media || revalidation);
    if (!aborted) problems.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText} (${r.resourceType()}, on ${page.url()})`);
  });
  page.on('response', (r) => {
    if (r.status() < 400) return;
    const provoked = expected.find((e) => !e.seen && e.status === r.status() && new URL(r.url()).pathname === e.path);
    if (provoked) provoked.seen = true;
    else problems.push(`${r.status()} from ${r.request().method()} ${r.url()}`);
  });
}
function check(/** @type {string} */ where) {
  for (const e of expected) if (!e.seen) problems.push(`expected ${e.status} from ${e.path}, which never came`);
  expected = [];
  if (problems.length) throw new Error(`${where}:\n  ${problems.join('\n  ')}`);
}

/** axe-core on what the page shows now: no serious or critical violation. */
async function accessible(page, /** @type {string} */ screen) {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
  });
  if (violations.length) throw new Error(`axe on ${screen}:\n  ${violations.join('\n  ')}`);
  log(`${screen}: no serious or critical accessibility violation`);
}

/** At 360 px wide nothing scrolls sideways, and every link of the navigation can be
 * scrolled into sight within its row (then back to the desktop width). */
async function fitsAPhone(page, /** @type {string} */ screen) {
  await page.setViewport({ width: 360, height: 740 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  const outOfReach = await page.$$eval('#nav a', (links) =>
    links
      .filter((a) => {
        a.scrollIntoView({ block: 'nearest', inline: 'nearest' });
        const box = a.getBoundingClientRect();
        return box.left < 0 || box.right > document.documentElement.clientWidth;
      })
      .map((a) => a.textContent),
  );
  await page.setViewport({ width: 1280, height: 900 });
  if (overflow > 0) throw new Error(`at 360 px the ${screen} screen scrolls sideways by ${overflow} px`);
  if (outOfReach.length) throw new Error(`at 360 px the ${screen} screen's navigation cannot reach ${outOfReach.join(', ')}`);
}

const textOf = (page, selector) => page.$eval(selector, (e) => e.textContent ?? '');
async function waitForText(page, selector, text, timeout = 10_000) {
  await page.waitForFunction(
    (s, t) => [...document.querySelectorAll(s)].some((e) => (e.textContent ?? '').includes(t)),
    { timeout },
    selector,
    text,
  );
}
async function clickText(page, selector, text) {
  await waitForText(page, selector, text);
  const handles = await page.$$(selector);
  for (const handle of handles) {
    if ((await handle.evaluate((e) => e.textContent ?? '')).includes(text)) return handle.click();
  }
  throw new Error(`no ${selector} says ${text}`);
}

/**
 * Opens the sign-in or sign-up screen, checks it with axe when `screen` names it, fills in
 * the email and password and sends the form.
 */
async function fillTheAccountForm(page, /** @type {string} */ screen, address, secret, /** @type {string | undefined} */ axeName) {
  await page.goto(`${base}/${screen}`);
  await page.waitForSelector('#f-email');
  if (axeName) await accessible(page, axeName);
  await page.type('#f-email', address);
  await page.type('#f-password', secret);
  await page.click('button[type="submit"].primary');
}

/** The link in an activation email. */
const activationLink = (/** @type {string} */ mail) => /(http:\/\/\S+\/activate\?\S+)/.exec(mail)[1];

/** Sign-up through the API, the account left waiting for activation. */
async function register(address, secret) {
  const answer = await fetch(`${base}/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: address, password: secret }) });
  if (answer.status !== 201) throw new Error(`sign up: ${answer.status}`);
}

/** Sign-up and activation through the API, for a journey that starts signed out. */
async function signUpThroughTheApi(address, secret) {
  await register(address, secret);
  const token = /token=([A-Za-z0-9_-]+)/.exec(await emailTo(dataDir, address))[1];
  const activated = await fetch(`${base}/auth/activate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
  if (activated.status !== 200) throw new Error(`activate: ${activated.status}`);
}

/**
 * Two-step sign-in turned on through the API for an active account, confirmed with the
 * code of the step before `at` (one step of drift is allowed), so that the codes of `at`
 * and `at + 30` are left for the journey.
 */
async function twoStepThroughTheApi(address, secret) {
  const json = { 'content-type': 'application/json' };
  const login = await (await fetch(`${base}/auth/login`, { method: 'POST', headers: json, body: JSON.stringify({ email: address, password: secret }) })).json();
  const auth = { ...json, authorization: `Bearer ${login.access_token}` };
  const setup = await (await fetch(`${base}/auth/mfa/totp`, { method: 'POST', headers: auth, body: '{}' })).json();
  const at = Math.floor(Date.now() / 1000);
  const confirmed = await fetch(`${base}/auth/mfa/totp/confirm`, { method: 'POST', headers: auth, body: JSON.stringify({ code: totp(setup.secret, at - 30) }) });
  if (confirmed.status !== 200) throw new Error(`two-step confirm: ${confirmed.status}`);
  return { secret: setup.secret, codes: (await confirmed.json()).recovery_codes, at };
}

/** An authenticator app's code (RFC 6238: SHA-1, 6 digits, 30 s) for a base32 key at `at`. */
function totp(base32, at) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of base32.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 30)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

try {
  // An account left waiting for activation, its link asked for again at the end (the API
  // sends an account at most one email a minute).
  const waiting = { email: `waiting.${Date.now()}@example.com`, signedUpAt: Date.now() };
  await register(waiting.email, 'Chosen-Before-Activation-7');

  const page = await browser.newPage();
  watch(page);

  // The front page, at a phone's width and a desktop's.
  await page.setViewport({ width: 1280, height: 900 });
  await page.goto(`${base}/`, { waitUntil: 'load' });
  await waitForText(page, '.shelf h2', 'Popular');
  await page.waitForSelector('.shelf .card');
  const paint = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1);
  log(`home: first contentful paint ${paint.toFixed(0)} ms`);
  mkdirSync(join(here, '../../target/web'), { recursive: true });
  const shot = join(here, '../../target/web/home.png');
  await page.screenshot({ path: shot });
  if (process.env.WEB_SCREENSHOT) copyFileSync(shot, process.env.WEB_SCREENSHOT);
  await accessible(page, 'home');
  await fitsAPhone(page, 'home');
  // By keyboard: the first Tab reaches the skip link, which moves focus to the screen; the
  // next ones walk the screen's links and open a movie.
  await page.keyboard.press('Tab');
  if ((await page.evaluate(() => document.activeElement?.textContent)) !== 'Skip to content') throw new Error('the first Tab does not reach the skip link');
  await page.keyboard.press('Enter');
  if ((await page.evaluate(() => document.activeElement?.id)) !== 'main') throw new Error('the skip link does not move focus to the screen');
  if ((await page.evaluate(() => location.hash)) !== '') throw new Error('the skip link changed the address');
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => ({ href: document.activeElement?.getAttribute('href'), outline: getComputedStyle(document.activeElement).outlineStyle }));
  if (!focused.href?.startsWith('#/movies/') || focused.outline === 'none') throw new Error(`after the skip link, Tab reaches ${JSON.stringify(focused)}`);
  await page.keyboard.press('Enter');
  await page.waitForSelector('article.movie h1');
  log('by keyboard: skip link, a visible focus on the first card, Enter opens the movie');
  // A genre's row opens all its movies, headed by its name.
  await page.goto(`${base}/`);
  await page.waitForSelector('.see-all a[href*="genre="]');
  const genreRow = await page.$eval('.see-all a[href*="genre="]', (a) => ({ name: a.closest('section')?.querySelector('h2')?.textContent ?? '', href: a.getAttribute('href') }));
  await page.click(`.see-all a[href="${genreRow.href}"]`);
  await waitForText(page, 'h1', genreRow.name);
  await page.waitForSelector('.cards .card');
  log(`"See all" on the ${genreRow.name} row: the genre's movies`);
  check('home');

  // A movie that carries a feature (the demo's first three carry the clip).
  const list = await (await fetch(`${base}/movies?limit=100`)).json();
  let movie;
  for (const card of list.items) {
    const detail = await (await fetch(`${base}/movies/${card.id}`)).json();
    if (detail.media.feature && detail.available) {
      movie = detail;
      break;
    }
  }
  if (!movie) throw new Error('no demo movie carries a feature');
  const word = movie.title.split(/\s+/).find((w) => w.length > 3) ?? movie.title;

  // Search from the header, then open the movie from the results.
  await page.type('#search-q', word);
  await page.keyboard.press('Enter');
  await waitForText(page, 'h1', 'Movies matching');
  await waitForText(page, '.cards .card h3', movie.title);
  await accessible(page, 'browse');
  const sortBy = await page.$eval('#f-sort', (e) => e.value);
  if (sortBy !== 'popularity') throw new Error(`browse sorts by ${sortBy}`);
  log(`searched "${word}": found ${movie.title}`);
  // The filters by certification and price: exactly the movie's, in the form's currency
  // units (the address keeps cents, as the API takes them).
  await page.goto(`${base}/#/browse`);
  await page.waitForSelector('#f-certification');
  await page.type('#f-certification', movie.certification.toLowerCase());
  const euros = (movie.price.amount / 100).toFixed(2);
  await page.type('#f-price_min', euros);
  await page.type('#f-price_max', euros);
  await clickText(page, 'form.filters button', 'Show movies');
  await waitForText(page, '.cards .card h3', movie.title);
  await page.waitForSelector('.list-status .meta, .list-status button.more');
  const filtered = new URLSearchParams((await page.evaluate(() => location.hash)).split('?')[1]);
  if (filtered.get('price_max') !== String(movie.price.amount)) throw new Error(`the address holds price_max=${filtered.get('price_max')}`);
  if ((await page.$eval('#f-price_max', (e) => /** @type {HTMLInputElement} */ (e).value)) !== euros) throw new Error('the form does not show the price asked');
  const priced = await page.$$eval('ul.cards li.card h3 a', (links) => links.map((a) => a.getAttribute('href').split('/').pop()));
  for (const id of priced) {
    const shown = await (await fetch(`${base}/movies/${id}`)).json();
    if (shown.certification !== movie.certification || shown.price.amount !== movie.price.amount) throw new Error(`filtered by ${movie.certification} at ${euros}, the list shows ${shown.title} (${shown.certification}, ${shown.price.amount})`);
  }
  await accessible(page, 'browse, filtered');
  log(`filtered by certification ${movie.certification} and price ${euros}: ${movie.title} among the ${priced.length} listed`);
  check('browse');

  // Filtered pages may come back short or empty with a cursor (the API stops at its read
  // budget, which this small catalogue never reaches): the screen asks on from the cursor,
  // at most five times, before saying anything is missing or offering more.
  {
    const shortPages = await browser.newPage();
    watch(shortPages);
    await shortPages.setRequestInterception(true);
    const [first, second] = list.items;
    /** The cursor and limit of each list request made for the made-up searches. */
    const asked = [];
    const pages = {
      // One screenful from four answers: empty, one movie, empty, one movie and the end.
      thinly: { '': [[], 'a1'], a1: [[first], 'a2'], a2: [[], 'a3'], a3: [[second], null] },
      // Nothing in the first five answers: the screen says so and offers more.
      sparsely: { '': [[], 'b1'], b1: [[], 'b2'], b2: [[], 'b3'], b3: [[], 'b4'], b4: [[], 'b5'], b5: [[first], null] },
      // A movie that moved between two pages comes again on the second: shown once.
      twice: { '': [[first, second], 'c1'], c1: [[second], null] },
    };
    shortPages.on('request', (r) => {
      const url = new URL(r.url());
      const answers = pages[url.searchParams.get('q') ?? ''];
      if (url.pathname !== '/movies' || !answers) return r.continue();
      const cursor = url.searchParams.get('cursor') ?? '';
      asked.push(`${cursor || '-'}/${url.searchParams.get('limit')}`);
      const [items, next] = answers[cursor];
      r.respond({ status: 200, contentType: 'application/json', body: JSON.stringify({ items, next_cursor: next }) });
    });
    await shortPages.goto(`${base}/#/browse?q=thinly`);
    await waitForText(shortPages, '#main .meta', '2 movies');
    const titles = await shortPages.$$eval('.cards .card h3', (e) => e.map((x) => x.textContent));
    if (titles.join('|') !== `${first.title}|${second.title}`) throw new Error(`short pages showed ${titles}`);
    if (asked.join(' ') !== '-/24 a1/24 a2/23 a3/23') throw new Error(`short pages asked ${asked.join(' ')}`);
    asked.length = 0;
    await shortPages.goto(`${base}/#/browse?q=sparsely`);
    await waitForText(shortPages, '#main .empty', 'No movie matches so far');
    if (asked.length !== 5) throw new Error(`empty pages asked ${asked.length} times before offering more`);
    await clickText(shortPages, 'button.more', 'More movies');
    await waitForText(shortPages, '.cards .card h3', first.title);
    await waitForText(shortPages, '#main .meta', '1 movie');
    await shortPages.goto(`${base}/#/browse?q=twice`);
    await waitForText(shortPages, '#main .meta', '2 movies');
    const once = await shortPages.$$eval('.cards .card h3', (e) => e.map((x) => x.textContent));
    if (once.join('|') !== `${first.title}|${second.title}`) throw new Error(`a movie on two pages showed as ${once}`);
    log('short pages: four answers fill one screen; five empty ones offer more; a movie on two pages shows once');
    await accessible(shortPages, 'browse, pages short');
    await shortPages.close();
    check('short pages');
  }

  // Sign up, activate from the emailed link, sign in.
  const email = `newcomer.${Date.now()}@example.com`;
  const password = 'Velvet-Lantern-Orbit-42';
  await page.goto(`${base}/#/forgot`);
  await page.waitForSelector('#f-email');
  await accessible(page, 'password reset');
  await fillTheAccountForm(page, '#/signup', email, password, 'sign up');
  await waitForText(page, 'h1', 'Check your email');
  const mail = await emailTo(dataDir, email);
  await page.goto(activationLink(mail));
  await page.click('button');
  await waitForText(page, '#result.ok', 'Your account is active');
  log('activated from the emailed link');
  // A wrong password first: the API's reason shows above the form, which stays.
  expectError(401, '/auth/login');
  await fillTheAccountForm(page, '#/signin', email, 'Not-The-Password-99', 'sign in');
  await page.waitForSelector('.form-error[role="alert"]');
  log(`a wrong password: "${(await textOf(page, '.form-error')).trim()}"`);
  await accessible(page, 'sign in, refused');
  await page.$eval('#f-password', (e) => { e.value = ''; });
  await page.type('#f-password', password);
  await page.click('button[type="submit"].primary');
  await waitForText(page, '#nav a', 'Library');
  log('signed in');
  check('account');

  // The movie: like, rate, comment, keep.
  await page.goto(`${base}/#/movies/${movie.id}`);
  await waitForText(page, 'h1', movie.title);
  await page.waitForSelector('.marks button');
  const counted = async () => {
    const text = await textOf(page, '.counts');
    const [, likes] = /(\d+) likes/.exec(text) ?? [];
    const [, ratings] = /by (\d+)/.exec(text) ?? [, '0'];
    const [, comments] = /(\d+) comments?$/.exec(text) ?? [];
    return { likes: Number(likes), ratings: Number(ratings), comments: Number(comments) };
  };
  const before = await counted();
  await clickText(page, '.marks button', 'Like');
  await page.waitForFunction(() => [...document.querySelectorAll('.marks button')].some((b) => b.textContent?.includes('Like') && b.getAttribute('aria-pressed') === 'true'));
  await waitForText(page, '.counts', `${before.likes + 1} likes`);
  await page.select('#f-rating', '8');
  await waitForText(page, '.counts', `by ${before.ratings + 1}`);
  await clickText(page, '.marks button', 'Favourite');
  await page.waitForFunction(() => [...document.querySelectorAll('.marks button')].some((b) => b.textContent?.includes('Favourite') && b.getAttribute('aria-pressed') === 'true'));
  await page.type('#f-text', 'Saw it twice; the ending still works.');
  await clickText(page, '.comment-form button', 'Post the comment');
  await waitForText(page, '.comments .comment', 'the ending still works');
  // The author edits the comment in place; a second one, posted by mistake, is deleted.
  await clickText(page, '.comments .comment button', 'Edit');
  await page.$eval('.comments textarea[id^="f-edit-"]', (e) => { e.value = ''; });
  await page.type('.comments textarea[id^="f-edit-"]', 'Saw it three times; the ending still works.');
  await clickText(page, '.comments .comment-form button', 'Save');
  await waitForText(page, '.comments .comment', 'three times');
  await waitForText(page, '.comments .comment .meta', 'edited');
  await page.type('#f-text', 'Posted twice by mistake.');
  await clickText(page, '.comment-form button', 'Post the comment');
  await waitForText(page, '.comments .comment', 'by mistake');
  page.once('dialog', (dialog) => dialog.accept());
  await page.evaluate(() => {
    const mistaken = [...document.querySelectorAll('.comments .comment')].find((c) => c.textContent?.includes('by mistake'));
    [...(mistaken?.querySelectorAll('button') ?? [])].find((b) => b.textContent === 'Delete')?.click();
  });
  await waitForText(page, '.comments .comment', 'This comment was deleted.');
  // Two posted, one deleted: the count moved with each.
  await waitForText(page, '.counts', ` · ${before.comments + 1} comment`);
  await accessible(page, 'movie');
  await fitsAPhone(page, 'movie');
  // What the page showed is what the API keeps: a reload finds the marks.
  await page.reload();
  await page.waitForSelector('.marks button');
  const kept = await page.evaluate(() => ({
    liked: [...document.querySelectorAll('.marks button')].some((b) => b.textContent?.includes('Like') && b.getAttribute('aria-pressed') === 'true'),
    rating: /** @type {HTMLSelectElement} */ (document.querySelector('#f-rating')).value,
    signedIn: [...document.querySelectorAll('#nav a')].some((a) => a.textContent === 'Library'),
  }));
  if (!kept.liked || kept.rating !== '8' || !kept.signedIn) throw new Error(`after a reload: ${JSON.stringify(kept)}`);
  await waitForText(page, '.comments .comment', 'three times');
  const comments = await page.$$eval('.comments .comment .comment-text', (e) => e.map((x) => x.textContent));
  if (!comments.includes('Saw it three times; the ending still works.') || !comments.includes('This comment was deleted.') || comments.some((c) => c?.includes('by mistake'))) {
    throw new Error(`the comments after a reload: ${comments}`);
  }
  log('liked, rated 8, kept as favourite, commented (edited, one deleted); all still there after a reload');
  check('movie');

  // A name in the credits opens that person's movies.
  const [actorLink, actorName] = await page.$eval('.credits a[href*="actor="]', (a) => [a.getAttribute('href'), a.textContent]);
  const castId = new URLSearchParams(actorLink.split('?')[1]).get('actor');
  await clickText(page, '.credits a', actorName);
  await waitForText(page, 'h1', `Movies with ${actorName}`);
  await page.waitForSelector('.list-status .meta, .list-status button.more');
  const theirs = await page.$$eval('ul.cards li.card h3 a', (links) => links.map((a) => a.getAttribute('href').split('/').pop()));
  if (!theirs.includes(movie.id)) throw new Error(`${actorName}'s movies leave out ${movie.title}`);
  for (const id of theirs) {
    const credited = (await (await fetch(`${base}/movies/${id}`)).json()).actors.map((/** @type {{ id: string }} */ a) => a.id);
    if (!credited.includes(castId)) throw new Error(`${actorName}'s movies list ${id}, which does not credit them`);
  }
  await accessible(page, 'a person\'s movies');
  log(`a name in the credits lists ${actorName}'s ${theirs.length} movies`);
  await page.goto(`${base}/#/movies/${movie.id}`);
  await page.waitForSelector('.buy button');

  // Buy it through the cart and the simulated checkout page.
  await clickText(page, '.buy button', 'Buy for');
  await waitForText(page, '.buy', 'In your cart');
  await page.reload();
  await waitForText(page, '.buy', 'In your cart');
  // Tickets for the next showtime with seats, from its movie's page: two, then three in
  // the cart; the same order pays for them and the seats are taken.
  const upcoming = (await (await fetch(`${base}/showtimes?limit=20`)).json()).items.find((/** @type {{ seats_left: number }} */ st) => st.seats_left >= 3);
  if (!upcoming) throw new Error('no showtime with three seats left');
  await page.goto(`${base}/#/movies/${upcoming.movie_id}`);
  await page.waitForSelector(`#f-tickets-${upcoming.id}`);
  await accessible(page, 'a movie in cinemas');
  await page.$eval(`#f-tickets-${upcoming.id}`, (e) => { /** @type {HTMLInputElement} */ (e).value = ''; });
  await page.type(`#f-tickets-${upcoming.id}`, '2');
  await clickText(page, '.showtime button', 'Add tickets');
  await waitForText(page, '#announce', '2 tickets for');
  await waitForText(page, '.showtime a', 'Go to the cart');
  await clickText(page, '.showtime a', 'Go to the cart');
  await waitForText(page, '.lines td', upcoming.cinema_name);
  const ticketLine = await page.$eval('.lines input.quantity', (e) => /** @type {HTMLInputElement} */ (e).value);
  if (ticketLine !== '2') throw new Error(`the cart holds ${ticketLine} tickets`);
  await page.$eval('.lines input.quantity', (e) => { /** @type {HTMLInputElement} */ (e).value = ''; });
  await page.type('.lines input.quantity', '3');
  await clickText(page, '.lines button', 'Change');
  await waitForText(page, '#announce', 'The cart is updated');
  const seatsTotal = new Intl.NumberFormat(undefined, { style: 'currency', currency: upcoming.price.currency }).format((upcoming.price.amount * 3) / 100);
  await waitForText(page, '.lines td', seatsTotal);
  await page.waitForSelector(`.lines a[href="#/movies/${movie.id}"]`);
  await accessible(page, 'cart');
  await fitsAPhone(page, 'cart');
  log(`3 tickets for ${upcoming.movie_title} at ${upcoming.cinema_name} in the cart beside ${movie.title} (${seatsTotal})`);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), clickText(page, 'button', 'Check out')]);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button.pay')]);
  await waitForText(page, '.success', 'your order is paid', 15_000);
  const seatsLeft = (await (await fetch(`${base}/showtimes/${upcoming.id}`)).json()).seats_left;
  if (seatsLeft !== upcoming.seats_left - 3) throw new Error(`${seatsLeft} seats left after buying 3 of ${upcoming.seats_left}`);
  await accessible(page, 'order');
  await page.goto(`${base}/#/orders`);
  await waitForText(page, '.orders li', movie.title);
  await accessible(page, 'orders and payments');
  await page.goto(`${base}/#/account`);
  await page.waitForSelector('#f-first_name');
  await accessible(page, 'account');
  // A field the API refuses: its reason shows under that field.
  expectError(422, '/me');
  await page.type('#f-country', 'd1');
  await clickText(page, 'button', 'Save');
  await page.waitForSelector('#f-country[aria-invalid="true"] + .field-error');
  log(`a refused field: "${await textOf(page, '#f-country + .field-error')}"`);
  await accessible(page, 'account, refused');
  await page.$eval('#f-country', (e) => { e.value = ''; });
  await page.type('#f-country', 'pt');
  await page.$eval('#f-date_of_birth', (e) => { /** @type {HTMLInputElement} */ (e).value = '1991-06-30'; });
  await page.type('#f-avatar_url', 'https://pictures.example.org/me.png');
  await clickText(page, 'button', 'Save');
  await waitForText(page, '#announce', 'Profile saved');
  // What was saved is what the form shows again.
  await page.reload();
  await page.waitForSelector('#f-first_name');
  const saved = await page.$$eval(['#f-date_of_birth', '#f-country', '#f-avatar_url'].join(', '), (all) => all.map((e) => /** @type {HTMLInputElement} */ (e).value));
  if (saved.join(' ') !== '1991-06-30 PT https://pictures.example.org/me.png') throw new Error(`the profile saved: ${saved}`);
  log(`the profile kept its date of birth, country and picture: ${saved.join(', ')}`);
  await page.goto(`${base}/#/orders`);
  await clickText(page, '.orders a', movie.title);
  await waitForText(page, 'h1', 'Your order');
  await waitForText(page, '.lines li', `${upcoming.movie_title} · 3 tickets · `);
  await waitForText(page, '.lines li', ` at ${upcoming.cinema_name}`);
  // The library lists the tickets for the show to come.
  await page.goto(`${base}/#/library`);
  await waitForText(page, '[aria-labelledby="shelf-tickets"] li', `${upcoming.movie_title} · 3 tickets at ${upcoming.cinema_name}`);
  await accessible(page, 'library, tickets');
  await page.goto(`${base}/#/orders`);
  await clickText(page, '.orders a', movie.title);
  await waitForText(page, 'h1', 'Your order');
  log('bought it on the simulated checkout page');
  const refundedOrder = (await page.evaluate(() => location.hash)).split('/').pop();
  check('purchase');

  // Play it: the time advances; then leave.
  await clickText(page, 'a', `Watch ${movie.title}`);
  await page.waitForSelector('video');
  await page.evaluate(() => {
    const video = document.querySelector('video');
    if (video) video.muted = true;
  });
  await page.waitForFunction(() => (document.querySelector('video')?.currentTime ?? 0) > 3, { timeout: 20_000 });
  await accessible(page, 'player');
  const stoppedAt = await page.evaluate(() => {
    const video = /** @type {HTMLVideoElement} */ (document.querySelector('video'));
    video.pause();
    return video.currentTime;
  });
  log(`played to ${stoppedAt.toFixed(1)} s`);
  await page.goto(`${base}/#/`);
  check('player');

  // Back home: "Continue watching" has it, at the place it stopped.
  await waitForText(page, '.shelf h2', 'Continue watching');
  const resume = await page.$eval('#shelf-continue-watching + .cards .card', (e) => e.textContent ?? '');
  if (!resume.includes(movie.title)) throw new Error(`continue watching shows ${resume}`);
  const [, minutes, seconds] = /Resume at (\d+):(\d\d)/.exec(resume) ?? [];
  const at = Number(minutes) * 60 + Number(seconds);
  if (!(Math.abs(at - stoppedAt) <= 1.5)) throw new Error(`resumes at ${at} s, stopped at ${stoppedAt} s`);
  log(`continue watching: ${movie.title} at ${at} s`);
  await clickText(page, '#shelf-continue-watching + .cards a', movie.title);
  await page.waitForFunction((s) => (document.querySelector('video')?.currentTime ?? 0) >= s - 1.5, { timeout: 20_000 }, stoppedAt);
  log('the player resumed there');
  await page.goto(`${base}/#/library`);
  await waitForText(page, '#shelf-purchased + .cards', movie.title);
  await accessible(page, 'library');
  // The show is off for the viewer: a refund of the order asked from its page (an admin
  // approves it further on).
  await page.goto(`${base}/#/orders/${refundedOrder}`);
  const refundReason = `Cannot make it that evening ${Date.now()}`;
  await page.waitForSelector('#f-reason');
  await page.type('#f-reason', refundReason);
  await clickText(page, 'button', 'Ask for a refund');
  await waitForText(page, '#announce', 'Refund requested');
  check('library');
  // What closing the page cuts off is not the app's doing.
  page.removeAllListeners('requestfailed');
  await page.close();

  // A second viewer turns on two-step sign-in, signs out, and signs in again with a code.
  const context = await browser.createBrowserContext();
  const second = await context.newPage();
  watch(second);
  const email2 = `careful.${Date.now()}@example.com`;
  await signUpThroughTheApi(email2, password);
  await fillTheAccountForm(second, '#/signin', email2, password);
  await waitForText(second, '#nav a', 'Account');
  await second.goto(`${base}/#/account/security`);
  await clickText(second, 'button', 'Turn on two-step sign-in');
  await second.waitForSelector('code.secret');
  await accessible(second, 'two-step setup');
  const secret = await textOf(second, 'code.secret');
  const handedOver = new URL(await second.$eval('a.otpauth', (a) => /** @type {HTMLAnchorElement} */ (a).href));
  if (handedOver.protocol !== 'otpauth:' || handedOver.searchParams.get('secret') !== secret) throw new Error(`the authenticator link: ${handedOver}`);
  const now = Math.floor(Date.now() / 1000);
  // Typed as authenticators show it, in two halves.
  await second.type('#f-code', totp(secret, now).replace(/^(\d{3})/, '$1 '));
  await clickText(second, 'button', 'Turn it on');
  await second.waitForSelector('ul.codes li');
  const codes = await second.$$eval('ul.codes li', (items) => items.length);
  if (codes !== 10) throw new Error(`${codes} recovery codes shown`);
  log('two-step sign-in on, 10 recovery codes shown');
  await second.goto(`${base}/#/account`);
  await clickText(second, 'button', 'Sign out');
  await waitForText(second, '#nav a', 'Sign in');
  await fillTheAccountForm(second, '#/signin', email2, password);
  await waitForText(second, 'h1', 'Two-step sign-in');
  await accessible(second, 'second step');
  // The next step's code: the one just used may not be used again, one step of drift is allowed.
  await second.type('#f-code', totp(secret, now + 30));
  await clickText(second, 'button', 'Continue');
  await waitForText(second, '#nav a', 'Library');
  log('signed in again with a code');
  check('two-step sign-in');
  await context.close();

  // A third viewer, two-step sign-in turned on through the API, signs in with a recovery
  // code; on the security screen a new password takes a code, new recovery codes kill the
  // old ones, and a recovery code of the new set turns two-step sign-in off.
  const third = await (await browser.createBrowserContext()).newPage();
  watch(third);
  const email3 = `twostep.${Date.now()}@example.com`;
  await signUpThroughTheApi(email3, password);
  const { secret: secret3, codes: codes3, at: confirmedAt } = await twoStepThroughTheApi(email3, password);
  await fillTheAccountForm(third, '#/signin', email3, password);
  await waitForText(third, 'h1', 'Two-step sign-in');
  await third.type('#f-code', codes3[0]);
  await clickText(third, 'button', 'Continue');
  await waitForText(third, '#nav a', 'Library');
  await third.waitForFunction(() => location.hash === '#/');
  await third.goto(`${base}/#/account/security`);
  await waitForText(third, '#two-step ~ p', '9 recovery codes left');
  const newPassword = 'Quiet-Harbour-Signal-58';
  await third.type('#f-current_password', password);
  await third.type('#f-new_password', newPassword);
  await third.type('#f-password-code', totp(secret3, confirmedAt));
  await clickText(third, 'button', 'Change the password');
  await waitForText(third, '#announce', 'Password changed');
  await clickText(third, 'button', 'New recovery codes');
  await third.type('#f-mfa-password', newPassword);
  await third.type('#f-mfa-code', totp(secret3, confirmedAt + 30));
  await clickText(third, 'button', 'Make new codes');
  await third.waitForSelector('ul.codes li');
  const renewed = await third.$$eval('ul.codes li', (items) => items.map((i) => i.textContent));
  if (renewed.length !== 10 || renewed.some((c) => codes3.includes(c))) throw new Error(`new recovery codes: ${renewed}`);
  await accessible(third, 'security, new recovery codes');
  await fitsAPhone(third, 'security, new recovery codes');
  await clickText(third, 'button', 'Turn off two-step sign-in');
  await third.type('#f-mfa-password', newPassword);
  await third.type('#f-mfa-code', codes3[1]);
  expectError(422, '/auth/mfa/totp');
  await clickText(third, 'button', 'Turn it off');
  await waitForText(third, '.form-error', 'recovery code is not one of your unused recovery codes');
  await third.$eval('#f-mfa-code', (e) => { e.value = ''; });
  await third.type('#f-mfa-code', renewed[0]);
  await clickText(third, 'button', 'Turn it off');
  await waitForText(third, '#two-step ~ p', 'Off.');
  await accessible(third, 'security, two-step off');
  const signIn3 = await (
    await fetch(`${base}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'curl/8.5.0' }, body: JSON.stringify({ email: email3, password: newPassword }) })
  ).json();
  if (!('access_token' in signIn3)) throw new Error('the third viewer still needs a second step');
  log('a new password with a code; new recovery codes; an old code refused; two-step sign-in off with a new one');
  // That sign-in is among the viewer's sessions, named as it names itself beside the
  // browser's; ending it from the screen signs it out.
  await third.reload();
  await waitForText(third, '[aria-labelledby="sessions"] li', 'curl/8.5.0 · 127.0.0.1 · last used');
  const sessions3 = await third.$$eval('[aria-labelledby="sessions"] li', (items) => items.map((i) => i.textContent ?? ''));
  if (sessions3.length !== 2 || !sessions3.some((line) => line.startsWith('Chrome (headless) on Linux · ') && line.endsWith('(this one)'))) throw new Error(`the sessions listed: ${sessions3}`);
  await clickText(third, '[aria-labelledby="sessions"] button', 'End this session');
  await waitForText(third, '#announce', 'Session ended');
  await third.waitForFunction(() => document.querySelectorAll('[aria-labelledby="sessions"] li').length === 1);
  const ended = await fetch(`${base}/me`, { headers: { authorization: `Bearer ${signIn3.access_token}` } });
  if (ended.status !== 401) throw new Error(`the session ended from the screen answers ${ended.status}`);
  log(`the sessions: "${sessions3.join('", "')}"; the API's ended from the screen`);
  check('two-step changes');
  await third.browserContext().close();

  // A moderator adds a movie and uploads its trailer; an anonymous visitor plays it. With
  // more actors than one page of the API (100), the form offers them all: the movie
  // credits one beyond the first page.
  const signedInAdmin = await (await fetch(`${base}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(admin) })).json();
  const asAdmin = { 'content-type': 'application/json', authorization: `Bearer ${signedInAdmin.access_token}` };
  for (let n = 1; n <= 80; n += 1) {
    const added = await fetch(`${base}/actors`, { method: 'POST', headers: asAdmin, body: JSON.stringify({ name: `Zofia Zielinska ${n}` }) });
    if (added.status !== 201) throw new Error(`adding an actor: ${added.status}`);
  }
  const firstActors = await (await fetch(`${base}/actors?limit=100`)).json();
  const onFirstPage = new Set(firstActors.items.map((/** @type {{ id: string }} */ a) => a.id));
  /** @type {{ id: string, name: string } | undefined} */
  let actor;
  for (let cursor = firstActors.next_cursor; cursor && !actor; ) {
    const page = await (await fetch(`${base}/actors?limit=100&cursor=${encodeURIComponent(cursor)}`)).json();
    actor = page.items.find((/** @type {{ id: string }} */ a) => !onFirstPage.has(a.id));
    cursor = page.next_cursor;
  }
  if (!actor) throw new Error('no actor beyond the first page of 100');
  const actorId = actor.id;
  const staffContext = await browser.createBrowserContext();
  const staff = await staffContext.newPage();
  // Far from every cinema of the demo: the staff's clock is not the cinemas'.
  await staff.emulateTimezone('America/New_York');
  watch(staff);
  await fillTheAccountForm(staff, '#/signin', admin.email, admin.password);
  await waitForText(staff, '#nav a', 'Manage');
  // A moderator may delete a viewer's comment, not edit it.
  await staff.goto(`${base}/#/movies/${movie.id}`);
  await waitForText(staff, '.comments .comment', 'three times');
  const offered = await staff.$$eval('.comments .comment', (items) =>
    items.filter((c) => c.textContent?.includes('three times')).flatMap((c) => [...c.querySelectorAll('.comment-tools button')].map((b) => b.textContent)),
  );
  if (offered.join('|') !== 'Delete') throw new Error(`a moderator is offered ${offered} on a viewer's comment`);
  staff.once('dialog', (dialog) => dialog.accept());
  await staff.evaluate(() => {
    const viewers = [...document.querySelectorAll('.comments .comment')].find((c) => c.textContent?.includes('three times'));
    [...(viewers?.querySelectorAll('.comment-tools button') ?? [])].find((b) => b.textContent === 'Delete')?.click();
  });
  await staff.waitForFunction(() => ![...document.querySelectorAll('.comments .comment-text')].some((e) => e.textContent?.includes('three times')));
  log("a moderator deleted a viewer's comment (offered no edit)");
  // The catalogue a page at a time: 20 movies, then the rest.
  await staff.goto(`${base}/#/manage`);
  await waitForText(staff, 'button.more', 'More movies');
  await accessible(staff, 'the catalogue');
  await fitsAPhone(staff, 'catalogue');
  // Opened on a phone, the navigation shows the current screen's link without scrolling.
  await staff.setViewport({ width: 360, height: 740 });
  await staff.reload({ waitUntil: 'networkidle0' });
  await waitForText(staff, '#nav a[aria-current="page"]', 'Manage');
  const manageLink = await staff.$eval('#nav a[aria-current="page"]', (a) => {
    const box = a.getBoundingClientRect();
    return [box.left, box.right, document.documentElement.clientWidth];
  });
  await staff.setViewport({ width: 1280, height: 900 });
  if (manageLink[0] < 0 || manageLink[1] > manageLink[2]) throw new Error(`on a phone the current screen's link is out of sight (${manageLink.join(', ')})`);
  await waitForText(staff, 'button.more', 'More movies');
  const firstPage = await staff.$$eval('ul.orders li', (items) => items.length);
  if (firstPage !== 20) throw new Error(`the catalogue's first page shows ${firstPage} movies`);
  await clickText(staff, 'button.more', 'More movies');
  await staff.waitForFunction(() => document.querySelectorAll('ul.orders li').length > 20 && !document.querySelector('button.more'), { timeout: 10_000 });
  await staff.goto(`${base}/#/manage/movies/new`);
  await staff.waitForSelector('#f-title');
  await accessible(staff, 'add a movie');
  // The cast's find box narrows the list to the one name typed (in lower case), and what
  // is ticked is said above the list.
  const castShown = () => staff.$$eval('#f-actor_ids ~ ul li:not([hidden]) input', (boxes) => boxes.map((b) => /** @type {HTMLInputElement} */ (b).value));
  const allCast = (await castShown()).length;
  if (allCast <= 100) throw new Error(`the cast list offers ${allCast} actors`);
  await staff.type('#f-actor_ids', actor.name.toLowerCase());
  const narrowed = await castShown();
  if (narrowed.length !== 1 || narrowed[0] !== actorId) throw new Error(`finding ${actor.name} shows ${narrowed.length} actors`);
  await staff.click(`input[name="actor_ids"][value="${actorId}"]`);
  await waitForText(staff, '#f-actor_ids-chosen', `Chosen: ${actor.name}`);
  // A director the catalogue lacks, added from the find box and chosen at once.
  const newDirector = `Ida Quist ${Date.now()}`;
  await staff.type('#f-director_ids', newDirector);
  await clickText(staff, 'button.adder', `Add “${newDirector}” as a new director`);
  await waitForText(staff, '#f-director_ids-chosen', `Chosen: ${newDirector}`);
  const title = `Night Tram ${Date.now()}`;
  await staff.type('#f-title', title);
  await staff.type('#f-description', 'A conductor, a last tram, a city that will not sleep.');
  await staff.$eval('#f-release_date', (e) => { e.value = '2024-03-01'; });
  await staff.type('#f-duration_min', '97');
  await staff.type('#f-certification', '12A');
  await staff.type('#f-amount', '6.99');
  await clickText(staff, 'button', 'Add the movie');
  await staff.waitForFunction(() => /#\/manage\/movies\/[0-9A-Z]{26}$/.test(location.hash), { timeout: 10_000 });
  const newId = (await staff.evaluate(() => location.hash)).split('/').pop();
  const added = await (await fetch(`${base}/movies/${newId}`)).json();
  if (added.directors.map((/** @type {{ name: string }} */ d) => d.name).join() !== newDirector) throw new Error(`the new movie's directors: ${JSON.stringify(added.directors)}`);
  await waitForText(staff, 'h1', `Edit ${title}`);
  await accessible(staff, 'edit a movie');
  // What the movie credits is ticked, first in its list.
  const firstInCast = await staff.$eval('#f-actor_ids ~ ul input', (box) => [/** @type {HTMLInputElement} */ (box).value, /** @type {HTMLInputElement} */ (box).checked]);
  if (firstInCast[0] !== actorId || !firstInCast[1]) throw new Error('the edit form does not show an actor the movie credits');
  // Before an upload there is nothing to stop or remove, and no progress to show.
  const shownInPanels = () => staff.$$eval('.media-panel button, .media-panel progress', (all) => all.filter((e) => e.getClientRects().length > 0).map((e) => e.textContent || e.tagName));
  const idle = await shownInPanels();
  if (idle.some((t) => t === 'Stop the upload' || t === 'PROGRESS' || t.startsWith('Remove'))) throw new Error(`before any upload the media panels show ${idle.join(', ')}`);
  const chooser = await staff.$('#f-media-trailer');
  await chooser.uploadFile(join(here, '../demo/clip.mp4'));
  await clickText(staff, 'button', 'Upload the trailer');
  await waitForText(staff, '.media-panel [role="status"]', 'Trailer ready', 20_000);
  const bar = await staff.$eval('.media-panel progress', (e) => e.value);
  if (bar !== 100) throw new Error(`the progress bar stopped at ${bar}`);
  if (!(await shownInPanels()).includes('Remove the trailer')) throw new Error('an uploaded trailer offers no removal');
  // A cinema added from the catalogue's Cinemas: a zone the database lacks is refused under
  // its field; two screens, the second added with the next number.
  await staff.goto(`${base}/#/manage`);
  await clickText(staff, 'a', 'Cinemas');
  await waitForText(staff, 'h1', 'Cinemas');
  await accessible(staff, 'cinemas');
  await clickText(staff, 'a', 'Add a cinema');
  await staff.waitForSelector('#f-time_zone');
  const zoneGuess = await staff.$eval('#f-time_zone', (e) => /** @type {HTMLInputElement} */ (e).value);
  if (zoneGuess !== 'America/New_York') throw new Error(`a new cinema's zone is ${zoneGuess}, not the browser's`);
  const cinemaName = `Cinema Paradiso ${Date.now()}`;
  await staff.type('#f-name', cinemaName);
  await staff.type('#f-address', 'Via del Corso 1');
  await staff.type('#f-city', 'Rome');
  await staff.type('#f-country', 'it');
  await staff.$eval('#f-time_zone', (e) => { /** @type {HTMLInputElement} */ (e).value = 'Rome'; });
  await clickText(staff, 'button', 'Add a screen');
  await staff.$$eval('input[name="screen_seats"]', (all) => all.forEach((e, i) => { /** @type {HTMLInputElement} */ (e).value = String(150 - i * 70); }));
  await accessible(staff, 'add a cinema');
  expectError(422, '/cinemas');
  await clickText(staff, 'button', 'Add the cinema');
  await staff.waitForSelector('#f-time_zone[aria-invalid="true"] + .field-error');
  log(`a zone the database lacks: "${await textOf(staff, '#f-time_zone + .field-error')}"`);
  await staff.$eval('#f-time_zone', (e) => { /** @type {HTMLInputElement} */ (e).value = 'Europe/Rome'; });
  await clickText(staff, 'button', 'Add the cinema');
  await staff.waitForFunction(() => /#\/manage\/cinemas\/[0-9A-Z]{26}$/.test(location.hash), { timeout: 10_000 });
  const cinemaId = (await staff.evaluate(() => location.hash)).split('/').pop();
  const cinema = await (await fetch(`${base}/cinemas/${cinemaId}`)).json();
  if (cinema.name !== cinemaName || cinema.country !== 'IT' || cinema.time_zone !== 'Europe/Rome' || JSON.stringify(cinema.screens) !== JSON.stringify([{ number: 1, seats: 150 }, { number: 2, seats: 80 }])) throw new Error(`the cinema added: ${JSON.stringify(cinema)}`);
  await waitForText(staff, 'h1', `Edit ${cinemaName}`);
  await accessible(staff, 'edit a cinema');
  await staff.goto(`${base}/#/manage/cinemas`);
  await waitForText(staff, '.orders li', `${cinemaName} · Rome, IT · 2 screens, 230 seats · Europe/Rome`);
  log(`added ${cinemaName} (Europe/Rome, 2 screens) from the Cinemas screen`);
  // A showtime scheduled from the form, a month ahead at 09:00 on the cinema's clock (the
  // staff's is New York's): listed there and on the movie's page in the cinema's time,
  // with every seat of its screen on sale; then removed.
  await staff.goto(`${base}/#/manage/movies/${newId}`);
  await staff.waitForSelector('#f-starts_at');
  await staff.select('#f-cinema_id', cinemaId);
  const cinemaTime = `${cinema.time_zone.split('/').pop().replaceAll('_', ' ')} time`;
  await waitForText(staff, 'label[for="f-starts_at"]', `Starts at (${cinemaTime})`);
  const day = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
  await staff.$eval('#f-starts_at', (e, wall) => { /** @type {HTMLInputElement} */ (e).value = wall; }, `${day}T09:00`);
  await clickText(staff, 'button', 'Schedule it');
  await waitForText(staff, '#announce', 'Scheduled for');
  await accessible(staff, 'schedule a showtime');
  const scheduled = (await (await fetch(`${base}/showtimes?movie=${newId}`)).json()).items;
  /** An instant as `zone`'s clock shows it, "2027-01-06T09:00". */
  const onClockOf = (/** @type {string} */ instant, /** @type {string} */ zone) => {
    const parts = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' }).formatToParts(new Date(instant));
    const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
    return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
  };
  const shownAt = scheduled.length === 1 ? onClockOf(scheduled[0].starts_at, cinema.time_zone) : '';
  if (shownAt !== `${day}T09:00` || scheduled[0].time_zone !== cinema.time_zone || scheduled[0].seats !== cinema.screens[0].seats) throw new Error(`scheduled ${JSON.stringify(scheduled)}, not ${day} 09:00 in ${cinema.time_zone} with ${cinema.screens[0].seats} seats`);
  await waitForText(staff, 'ul.schedule li', `9:00 AM (${cinemaTime}) · ${cinema.name}`);
  // Its price and seats on sale, changed in place.
  await clickText(staff, 'ul.schedule button', 'Change');
  await staff.$eval('ul.schedule input[name="price_amount"]', (e) => { /** @type {HTMLInputElement} */ (e).value = '9.50'; });
  await staff.$eval('ul.schedule input[name="seats"]', (e) => { /** @type {HTMLInputElement} */ (e).value = '40'; });
  await accessible(staff, 'a showtime changed');
  await clickText(staff, 'ul.schedule button', 'Save');
  await waitForText(staff, 'ul.schedule li', '9.50 a seat · 40 of 40 seats left');
  const changed = (await (await fetch(`${base}/showtimes?movie=${newId}`)).json()).items[0];
  if (changed.price.amount !== 950 || changed.seats !== 40) throw new Error(`the showtime changed: ${JSON.stringify(changed)}`);
  await staff.goto(`${base}/#/movies/${newId}`);
  await waitForText(staff, '.showtime', `9:00 AM (${cinemaTime})`);
  // And when the show ends, on the same clock.
  const ends = new Date(changed.ends_at).toLocaleTimeString('en-US', { timeStyle: 'short', timeZone: cinema.time_zone });
  await waitForText(staff, '.showtime', ` · ends ${ends} · ${cinema.name}`);
  log(`scheduled from New York at 09:00 ${cinemaTime} (${scheduled[0].starts_at}); the movie page says "${await textOf(staff, '.showtime p')}"`);
  // Where the clocks change, a start is read as the API's zones read it: the earlier of two
  // when they go back, past the gap when they go forward.
  const readings = await staff.evaluate(async () => {
    const { fromWallClock } = await import('/app/dom.js');
    return [
      ['2026-10-25T02:30', 'Europe/Paris', '2026-10-25T00:30:00.000Z'],
      ['2026-10-25T03:30', 'Europe/Paris', '2026-10-25T02:30:00.000Z'],
      ['2026-03-29T02:30', 'Europe/Paris', '2026-03-29T01:30:00.000Z'],
      ['2026-03-29T10:00', 'Europe/Paris', '2026-03-29T08:00:00.000Z'],
      ['2026-03-28T23:00', 'Europe/Paris', '2026-03-28T22:00:00.000Z'],
      ['2026-12-08T09:00', 'Asia/Kolkata', '2026-12-08T03:30:00.000Z'],
    ].map(([wall, zone, want]) => [wall, zone, fromWallClock(wall, zone).toISOString(), want]);
  });
  const misread = readings.filter(([, , got, want]) => got !== want);
  if (misread.length) throw new Error(`wall clocks misread: ${JSON.stringify(misread)}`);
  // The cinema cannot go while it has a show; once the show is removed, it can.
  const removeCinema = async () => {
    await staff.goto(`${base}/#/manage/cinemas/${cinemaId}`);
    await waitForText(staff, 'h1', `Edit ${cinemaName}`);
    staff.once('dialog', (dialog) => dialog.accept());
    await clickText(staff, 'button', 'Remove the cinema');
  };
  expectError(409, `/cinemas/${cinemaId}`);
  await removeCinema();
  await waitForText(staff, '[aria-labelledby="remove-title"] [role="alert"]', 'showtimes');
  log(`a cinema with a show stays: "${await textOf(staff, '[aria-labelledby="remove-title"] [role="alert"]')}"`);
  await staff.goto(`${base}/#/manage/movies/${newId}`);
  await clickText(staff, 'ul.schedule button', 'Remove');
  await waitForText(staff, '#announce', 'is removed');
  const left = (await (await fetch(`${base}/showtimes?movie=${newId}`)).json()).items.length;
  if (left !== 0) throw new Error(`${left} showtimes left after removing the one scheduled`);
  await removeCinema();
  await waitForText(staff, 'h1', 'Cinemas');
  await staff.waitForFunction((name) => ![...document.querySelectorAll('.orders li')].some((li) => li.textContent?.includes(name)) && document.querySelectorAll('.orders li').length > 0, { timeout: 10_000 }, cinemaName);
  if ((await fetch(`${base}/cinemas/${cinemaId}`)).status !== 404) throw new Error('the cinema removed is still there');
  log(`removed the showtime of ${title} at ${scheduled[0].cinema_name}, then the cinema`);
  // An actor added and credited elsewhere (the API) just after the form read its lists: the
  // form opened again shows the credit ticked, so saving it keeps it.
  const lateActor = await (await fetch(`${base}/actors`, { method: 'POST', headers: asAdmin, body: JSON.stringify({ name: `Wren Okoye ${Date.now()}` }) })).json();
  const unedited = await (await fetch(`${base}/movies/${newId}`)).json();
  const credited = await fetch(`${base}/movies/${newId}`, {
    method: 'PATCH',
    headers: { ...asAdmin, 'if-match': `"${unedited.version}"` },
    body: JSON.stringify({ actor_ids: [actorId, lateActor.id] }),
  });
  if (credited.status !== 200) throw new Error(`crediting an actor: ${credited.status}`);
  await staff.goto(`${base}/#/manage`);
  await staff.goto(`${base}/#/manage/movies/${newId}`);
  await staff.waitForSelector(`input[name="actor_ids"][value="${lateActor.id}"]`);
  if (!(await staff.$eval(`input[name="actor_ids"][value="${lateActor.id}"]`, (e) => /** @type {HTMLInputElement} */ (e).checked))) throw new Error('the form leaves unticked an actor the movie credits');
  log(`the form opened again ticks ${lateActor.name}, credited a moment after it read its lists`);
  log(`a moderator added ${title} and uploaded its trailer`);
  // Genres and people: the actor beyond the first page found by name, born and described,
  // which the viewers' page of their movies says; they stay while a movie credits them.
  await staff.goto(`${base}/#/manage`);
  await clickText(staff, 'a', 'Genres and people');
  await clickText(staff, '.row a', 'Actors');
  await staff.waitForSelector('#f-names-q');
  await staff.type('#f-names-q', actor.name);
  await clickText(staff, 'form[role="search"] button', 'Find');
  await waitForText(staff, '.orders li a', actor.name);
  await accessible(staff, 'genres and people');
  await fitsAPhone(staff, 'genres and people');
  await clickText(staff, '.orders li a', actor.name);
  await staff.waitForSelector('#f-birth_date');
  await accessible(staff, 'edit a person');
  await fitsAPhone(staff, 'edit a person');
  await staff.$eval('#f-birth_date', (e) => { /** @type {HTMLInputElement} */ (e).value = '1990-04-02'; });
  await staff.type('#f-bio', 'Began on the stage in Lodz.');
  await staff.type('#f-photo_url', 'https://photos.example.org/zofia.jpg');
  await clickText(staff, 'button', 'Save the changes');
  await waitForText(staff, '#announce', `${actor.name} saved`);
  expectError(409, `/actors/${actorId}`);
  staff.once('dialog', (dialog) => dialog.accept());
  await clickText(staff, 'button', 'Remove the actor');
  await waitForText(staff, '[aria-labelledby="remove-title"] [role="alert"]', 'movies still reference it');
  await clickText(staff, 'a', 'Their movies');
  await waitForText(staff, 'h1', `Movies with ${actor.name}`);
  await waitForText(staff, '.person', 'Began on the stage in Lodz.');
  await waitForText(staff, '.person .meta', 'Born 1990-04-02');
  const photo = await staff.$eval('.person a', (a) => [a.textContent, /** @type {HTMLAnchorElement} */ (a).href]);
  if (photo[0] !== 'A photo, at photos.example.org' || photo[1] !== 'https://photos.example.org/zofia.jpg') throw new Error(`the actor's photo link: ${photo}`);
  await waitForText(staff, '.cards .card h3', title);
  // A genre added, renamed, then removed (no movie is in it).
  await staff.goto(`${base}/#/manage/names?kind=genres`);
  await clickText(staff, 'a', 'Add a genre');
  await staff.waitForSelector('#f-name');
  const genreName = `Slow cinema ${Date.now()}`;
  await staff.type('#f-name', genreName);
  await clickText(staff, 'button', 'Add the genre');
  await waitForText(staff, 'h1', `Edit ${genreName}`);
  await staff.$eval('#f-name', (e) => { /** @type {HTMLInputElement} */ (e).value = ''; });
  await staff.type('#f-name', `${genreName} revisited`);
  await clickText(staff, 'button', 'Save the changes');
  await waitForText(staff, '#announce', `${genreName} revisited saved`);
  staff.once('dialog', (dialog) => dialog.accept());
  await clickText(staff, 'button', 'Remove the genre');
  await waitForText(staff, 'h1', 'Genres and people');
  const genresLeft = (await (await fetch(`${base}/genres?q=${encodeURIComponent(genreName)}`)).json()).items;
  if (genresLeft.length) throw new Error(`the genre removed is still listed: ${JSON.stringify(genresLeft)}`);
  log(`${actor.name} born and described, kept while credited; a genre added, renamed and removed`);
  // A movie bought stays; one nobody bought goes.
  expectError(409, `/movies/${movie.id}`);
  await staff.goto(`${base}/#/manage/movies/${movie.id}`);
  await waitForText(staff, 'h1', `Edit ${movie.title}`);
  staff.once('dialog', (dialog) => dialog.accept());
  await clickText(staff, 'button', 'Remove the movie');
  await waitForText(staff, '[aria-labelledby="remove-title"] [role="alert"]', 'viewers bought it');
  const mistaken = await (await fetch(`${base}/movies`, {
    method: 'POST',
    headers: asAdmin,
    body: JSON.stringify({ title: `Added by mistake ${Date.now()}`, description: 'Twice.', release_date: '2020-01-01', duration_min: 90, certification: 'PG', price: { amount: 499, currency: 'EUR' } }),
  })).json();
  await staff.goto(`${base}/#/manage/movies/${mistaken.id}`);
  await waitForText(staff, 'h1', `Edit ${mistaken.title}`);
  staff.once('dialog', (dialog) => dialog.accept());
  await clickText(staff, 'button', 'Remove the movie');
  await waitForText(staff, 'h1', 'The catalogue');
  if ((await fetch(`${base}/movies/${mistaken.id}`)).status !== 404) throw new Error('the movie removed is still there');
  log('a bought movie stays; one added by mistake is removed');
  // The admin's screens: the viewer's refund approved (the simulated Stripe's event
  // completes it and the three seats come back); the second viewer found by email, made a
  // moderator, which ends their session, and their two-step sign-in turned off.
  await waitForText(staff, '#nav a', 'Admin');
  await clickText(staff, '#nav a', 'Admin');
  await waitForText(staff, '[aria-labelledby="refunds-title"] li', refundReason);
  await waitForText(staff, '[aria-labelledby="sales-title"] p', 'from ');
  await accessible(staff, 'admin');
  await fitsAPhone(staff, 'admin');
  const refundTotal = (await textOf(staff, '[aria-labelledby="refunds-title"] button')).replace('Refund ', '');
  await clickText(staff, '[aria-labelledby="refunds-title"] button', 'Refund');
  await waitForText(staff, '#announce', 'is sent');
  let refunded = false;
  for (let i = 0; i < 100 && !refunded; i++) {
    const done = (await (await fetch(`${base}/admin/orders?status=refunded&limit=100`, { headers: asAdmin })).json()).items;
    refunded = done.some((/** @type {{ id: string }} */ o) => o.id === refundedOrder);
    if (!refunded) await new Promise((r) => setTimeout(r, 100));
  }
  if (!refunded) throw new Error('the refund approved left the order unrefunded for 10 s');
  const seatsBack = (await (await fetch(`${base}/showtimes/${upcoming.id}`)).json()).seats_left;
  if (seatsBack !== upcoming.seats_left) throw new Error(`${seatsBack} seats left after the refund, not ${upcoming.seats_left}`);
  log(`an admin approved the refund asked ("${refundReason}"); the order is refunded and its 3 seats are back`);
  // Every order, by status: the refunded one; today's sales count its refund.
  await staff.reload();
  await staff.waitForSelector('#f-orders-status');
  await staff.select('#f-orders-status', 'refunded');
  await waitForText(staff, '[aria-labelledby="orders-title"] li', `${upcoming.movie_title} (3 tickets) · ${refundTotal} · refunded`);
  const today = new Date().toISOString().slice(0, 10);
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  const setDay = (/** @type {string} */ field, /** @type {string} */ day) => staff.$eval(field, (e, d) => { /** @type {HTMLInputElement} */ (e).value = d; }, day);
  for (const end of ['#f-sales-from', '#f-sales-to']) await setDay(end, today);
  await clickText(staff, '[aria-labelledby="sales-title"] button', 'Show');
  await waitForText(staff, '[aria-labelledby="sales-title"] p', `from 0 paid orders: 0 movies, 0 tickets. ${refundTotal} refunded, 1 order.`);
  const todayRow = await staff.$$eval('[aria-labelledby="sales-title"] tbody tr', (rows) => rows.map((r) => [...r.children].map((c) => c.textContent)));
  const [soldOn, revenue, paidOrders, refundedCell] = todayRow.length === 1 ? todayRow[0] : [];
  if (soldOn !== today || !revenue?.includes('0.00') || paidOrders !== '0' || refundedCell !== `${refundTotal} (1 order)`) throw new Error(`today's sales by day: ${JSON.stringify(todayRow)}`);
  log(`the admin's orders list it as refunded; today's sales say "${await textOf(staff, '[aria-labelledby="sales-title"] p')}", by day ${JSON.stringify(todayRow[0])}`);
  // Orders and payments of chosen days: days that end before they start are refused on
  // their field; tomorrow has no order; today has the refunded one and its payment.
  await setDay('#f-orders-from', tomorrow);
  await setDay('#f-orders-to', today);
  expectError(400, '/admin/orders');
  await clickText(staff, '[aria-labelledby="orders-title"] button', 'Show');
  await waitForText(staff, '#f-orders-to-error', 'must not be before from');
  await setDay('#f-orders-to', tomorrow);
  await clickText(staff, '[aria-labelledby="orders-title"] button', 'Show');
  await waitForText(staff, '[aria-labelledby="orders-title"] p.empty', 'No order.');
  if (await staff.$('#f-orders-to-error')) throw new Error('the days refused stay marked after a good range');
  await setDay('#f-orders-from', today);
  await setDay('#f-orders-to', today);
  await clickText(staff, '[aria-labelledby="orders-title"] button', 'Show');
  await waitForText(staff, '[aria-labelledby="orders-title"] li', `${upcoming.movie_title} (3 tickets) · ${refundTotal} · refunded`);
  await staff.select('#f-payments-status', 'refunded');
  await waitForText(staff, '[aria-labelledby="payments-title"] li', `${refundTotal} · refunded`);
  await accessible(staff, 'admin, lists by days');
  log(`the admin's orders and payments by days: today's refunded order and "${await textOf(staff, '[aria-labelledby="payments-title"] li')}"`);
  // The buyer's account lists the payment.
  await clickText(staff, '[aria-labelledby="orders-title"] li a', 'the buyer');
  await waitForText(staff, 'h1', email);
  await waitForText(staff, '[aria-labelledby="payments-title"] li', refundTotal);
  log(`the buyer's account lists the payment: "${await textOf(staff, '[aria-labelledby="payments-title"] li')}"`);
  await staff.goto(`${base}/#/admin`);
  await staff.waitForSelector('#f-admin-email');
  await staff.type('#f-admin-email', 'careful.');
  await clickText(staff, '[role="search"] button', 'Find');
  await waitForText(staff, '[aria-labelledby="accounts-title"] li', email2);
  await clickText(staff, '[aria-labelledby="accounts-title"] a', email2);
  await waitForText(staff, 'h1', email2);
  await waitForText(staff, '[aria-labelledby="events-title"] li', 'mfa enabled');
  await accessible(staff, 'an account');
  await staff.select('#f-role', 'moderator');
  await clickText(staff, 'button', 'Save');
  await waitForText(staff, '#announce', 'Saved; 1 session ended');
  await clickText(staff, 'button', 'Turn two-step sign-in off');
  await waitForText(staff, '#announce', 'Two-step sign-in is off');
  await waitForText(staff, 'main p', 'two-step sign-in off');
  const again = await (await fetch(`${base}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: email2, password }) })).json();
  const role2 = again.access_token ? (await (await fetch(`${base}/me`, { headers: { authorization: `Bearer ${again.access_token}` } })).json()).role : `no token: ${JSON.stringify(again)}`;
  if (role2 !== 'moderator') throw new Error(`the second viewer signs in with their password alone as ${role2}`);
  log(`an admin made ${email2} a moderator and turned their two-step sign-in off; they sign in with their password alone`);
  // The library a page at a time: with every movie a favourite, 20, then the rest.
  const everyMovie = await (await fetch(`${base}/movies?sort=title&limit=100`)).json();
  for (const { id } of everyMovie.items) {
    const kept = await fetch(`${base}/me/favorites/${id}`, { method: 'PUT', headers: asAdmin });
    if (kept.status >= 300) throw new Error(`keeping a favourite: ${kept.status}`);
  }
  await staff.goto(`${base}/#/library`);
  const favourites = '[aria-labelledby="shelf-favourites"]';
  await waitForText(staff, `${favourites} button.more`, 'More: favourites');
  await accessible(staff, 'the library');
  const shelfOf = (/** @type {string} */ sel) => staff.$$eval(`${sel} li.card`, (cards) => cards.length);
  if ((await shelfOf(favourites)) !== 20) throw new Error(`the favourites shelf starts with ${await shelfOf(favourites)} movies`);
  await clickText(staff, `${favourites} button.more`, 'More: favourites');
  await staff.waitForFunction(
    (sel, all) => document.querySelectorAll(`${sel} li.card`).length === all && !document.querySelector(`${sel} button.more`),
    { timeout: 10_000 },
    favourites,
    everyMovie.items.length,
  );
  log(`the library shows ${everyMovie.items.length} favourites, 20 at a time`);
  // The security log a page at a time: 20 more sign-ins make it longer than one page.
  for (let n = 0; n < 20; n += 1) {
    const again = await fetch(`${base}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'curl/8.5.0' }, body: JSON.stringify(admin) });
    if (again.status !== 200) throw new Error(`signing in again: ${again.status}`);
  }
  await staff.goto(`${base}/#/account/security`);
  await waitForText(staff, '[aria-labelledby="log"] button.more', 'Older events');
  await accessible(staff, 'security');
  const logged = () => staff.$$eval('[aria-labelledby="log"] li', (items) => items.length);
  if ((await logged()) !== 20) throw new Error(`the security log starts with ${await logged()} events`);
  // Each event says from which device and address it came.
  const newest = await textOf(staff, '[aria-labelledby="log"] li');
  if (!/ · sign in · with a password · curl\/8\.5\.0 · 127\.0\.0\.1$/.test(newest)) throw new Error(`the newest security event: "${newest}"`);
  await clickText(staff, '[aria-labelledby="log"] button.more', 'Older events');
  await staff.waitForFunction(() => document.querySelectorAll('[aria-labelledby="log"] li').length > 20, { timeout: 10_000 });
  log(`the security log shows ${await logged()} events after "Older events", the newest "${newest}"`);
  // The orders a page at a time: 21 orders of one cart, each canceled.
  const forSale = everyMovie.items.find((/** @type {{ available: boolean }} */ m) => m.available);
  const carted = await fetch(`${base}/cart/items`, { method: 'POST', headers: asAdmin, body: JSON.stringify({ movie_id: forSale.id }) });
  if (carted.status >= 300) throw new Error(`adding to the cart: ${carted.status}`);
  for (let n = 0; n < 21; n += 1) {
    const placed = await fetch(`${base}/orders`, { method: 'POST', headers: { ...asAdmin, 'idempotency-key': `paging-${n}` } });
    if (placed.status !== 201) throw new Error(`ordering: ${placed.status}`);
    const canceled = await fetch(`${base}/orders/${(await placed.json()).id}/cancel`, { method: 'POST', headers: asAdmin });
    if (canceled.status >= 300) throw new Error(`canceling: ${canceled.status}`);
  }
  await staff.goto(`${base}/#/orders`);
  await waitForText(staff, 'button.more', 'More orders');
  await accessible(staff, 'orders');
  const ordersShown = () => staff.$$eval('main ul.orders li', (items) => items.length);
  if ((await ordersShown()) !== 20) throw new Error(`the orders screen starts with ${await ordersShown()} orders`);
  await clickText(staff, 'button.more', 'More orders');
  await staff.waitForFunction(() => document.querySelectorAll('main ul.orders li').length === 21 && !document.querySelector('button.more'), { timeout: 10_000 });
  log('the orders screen shows 21 orders, 20 at a time');
  // An order whose movie's price rises before it is paid: checking out from the cart goes
  // to the order, which says the new total and offers to pay that.
  const placed = await (await fetch(`${base}/orders`, { method: 'POST', headers: { ...asAdmin, 'idempotency-key': 'repriced' } })).json();
  const beforeRise = await (await fetch(`${base}/movies/${forSale.id}`)).json();
  let risen = { amount: beforeRise.price.amount + 100, currency: beforeRise.price.currency };
  const rise = await fetch(`${base}/movies/${forSale.id}`, { method: 'PATCH', headers: { ...asAdmin, 'if-match': `"${beforeRise.version}"` }, body: JSON.stringify({ price: risen }) });
  if (rise.status !== 200) throw new Error(`raising the price: ${rise.status}`);
  const price = (/** @type {{ amount: number, currency: string }} */ p) => new Intl.NumberFormat(undefined, { style: 'currency', currency: p.currency }).format(p.amount / 100);
  await staff.goto(`${base}/#/cart`);
  await waitForText(staff, 'main td', price(risen));
  expectError(409, `/orders/${placed.id}/checkout`);
  await clickText(staff, 'button', 'Check out');
  await staff.waitForFunction((id) => location.hash === `#/orders/${id}`, {}, placed.id);
  await waitForText(staff, '.notice', `the total is now ${price(risen)}, not ${price(beforeRise.price)}`);
  await accessible(staff, 'an order repriced');
  // Risen again while the page is open: paying says so and shows the newest total.
  const beforeSecond = await (await fetch(`${base}/movies/${forSale.id}`)).json();
  const risenOnce = risen;
  risen = { amount: risenOnce.amount + 100, currency: risenOnce.currency };
  const riseAgain = await fetch(`${base}/movies/${forSale.id}`, { method: 'PATCH', headers: { ...asAdmin, 'if-match': `"${beforeSecond.version}"` }, body: JSON.stringify({ price: risen }) });
  if (riseAgain.status !== 200) throw new Error(`raising the price again: ${riseAgain.status}`);
  expectError(409, `/orders/${placed.id}/checkout`);
  await clickText(staff, 'button', `Pay ${price(risenOnce)}`);
  await waitForText(staff, '.notice', `the total is now ${price(risen)}, not ${price(beforeRise.price)}`);
  await Promise.all([staff.waitForNavigation({ waitUntil: 'load' }), clickText(staff, 'button', `Pay ${price(risen)}`)]);
  await waitForText(staff, 'body', `${(risen.amount / 100).toFixed(2)} ${risen.currency}`);
  // A declined card: the payment says why on the buyer's orders screen.
  await Promise.all([staff.waitForNavigation({ waitUntil: 'load' }), clickText(staff, 'button', 'Decline')]);
  await waitForText(staff, '.note', 'Your card was declined.');
  await staff.goto(`${base}/#/orders`);
  await waitForText(staff, 'main li', `${price(risen)} · failed: Your card was declined. Try a different payment method.`);
  await staff.goto(`${base}/#/orders/${placed.id}`);
  await clickText(staff, 'button', 'Cancel the order');
  await waitForText(staff, '#announce', 'Order canceled');
  log(`a price risen twice after ordering: the order asks to pay ${price(risenOnce)}, then ${price(risen)}, which the checkout page asks for; a declined card says why`);
  // What is left in the cart, taken out at once.
  await staff.goto(`${base}/#/cart`);
  await waitForText(staff, 'main td a', forSale.title);
  staff.once('dialog', (dialog) => dialog.accept());
  await clickText(staff, 'button', 'Empty the cart');
  await waitForText(staff, 'main .empty', 'Your cart is empty.');
  const leftInCart = (await (await fetch(`${base}/cart`, { headers: asAdmin })).json()).items.length;
  if (leftInCart) throw new Error(`${leftInCart} items left in the cart emptied`);
  log('the cart emptied');
  // More genres than one page of the API (100), for the visitor's browse screen.
  for (let n = 1; n <= 90; n += 1) {
    const added = await fetch(`${base}/genres`, { method: 'POST', headers: asAdmin, body: JSON.stringify({ name: `Zeitgeist ${n}` }) });
    if (added.status !== 201) throw new Error(`adding a genre: ${added.status}`);
  }
  let genreCount = 0;
  for (let cursor = ''; ; ) {
    const page = await (await fetch(`${base}/genres?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)).json();
    genreCount += page.items.length;
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  check('moderator');
  await staffContext.close();

  const visitorContext = await browser.createBrowserContext();
  const visitor = await visitorContext.newPage();
  watch(visitor);
  await visitor.goto(`${base}/#/movies/${newId}`);
  await waitForText(visitor, 'h1', title);
  await clickText(visitor, 'button', 'Play the trailer');
  await visitor.waitForSelector('.trailer video');
  await visitor.evaluate(() => {
    const video = document.querySelector('.trailer video');
    if (video) video.muted = true;
  });
  await visitor.waitForFunction(() => (document.querySelector('.trailer video')?.currentTime ?? 0) > 1, { timeout: 20_000 });
  log('an anonymous visitor plays the new trailer');
  // A link to the movie removed earlier: not found, with no offer to try again.
  expectError(404, `/movies/${mistaken.id}`);
  await visitor.goto(`${base}/#/movies/${mistaken.id}`);
  await waitForText(visitor, 'h1', 'Not found');
  await waitForText(visitor, 'main p', 'No such movie');
  if ((await visitor.$$('main button')).length) throw new Error('a removed movie offers to try again');
  await accessible(visitor, 'not found');
  await visitor.goto(`${base}/#/browse`);
  await visitor.waitForFunction((all) => document.querySelectorAll('#f-genre option').length === all + 1, { timeout: 10_000 }, genreCount);
  log(`browse offers all ${genreCount} genres`);
  check('visitor');

  // The account left waiting: signing in is refused with a new link offered; the link asks
  // for the password again (anyone may ask for one) and the first link dies.
  await new Promise((done) => setTimeout(done, Math.max(0, waiting.signedUpAt + 61_000 - Date.now())));
  expectError(403, '/auth/login');
  await fillTheAccountForm(visitor, '#/signin', waiting.email, 'Chosen-Before-Activation-7');
  await waitForText(visitor, '.form-error', 'Activate it with the link we emailed you');
  await clickText(visitor, '.activation button', 'Email me a new activation link');
  await waitForText(visitor, '.activation [role="status"]', 'a new link is on its way');
  await accessible(visitor, 'sign in, not activated');
  const [firstMail, newMail] = await emailsTo(dataDir, waiting.email, 2);
  const firstToken = new URL(activationLink(firstMail)).searchParams.get('token');
  const dead = await fetch(`${base}/auth/activate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: firstToken }) });
  if (dead.status !== 400) throw new Error(`the first activation link, after a new one: ${dead.status}`);
  await visitor.goto(activationLink(newMail));
  await visitor.type('#password', 'Chosen-Again-On-Activation-8');
  await visitor.type('#password_confirm', 'Chosen-Again-On-Activation-8');
  await visitor.click('button');
  await waitForText(visitor, '#result.ok', 'Your account is active');
  await fillTheAccountForm(visitor, '#/signin', waiting.email, 'Chosen-Again-On-Activation-8');
  await waitForText(visitor, '#nav a', 'Library');
  await visitor.goto(`${base}/#/account`);
  await clickText(visitor, 'button', 'Sign out');
  await waitForText(visitor, '#nav a', 'Sign in');
  log('refused before activation; a new link asked for, the first dead; activated with the password chosen again');
  check('activation asked again');

  // The visitor signs in with Google (simulated here): the provider's page, then back to
  // the app, which exchanges the one-time code and drops it from the address.
  await visitor.goto(`${base}/#/signin`);
  await Promise.all([visitor.waitForNavigation({ waitUntil: 'load' }), clickText(visitor, '.providers a', 'Google')]);
  const visitorEmail = `visitor.${Date.now()}@example.com`;
  await visitor.type('#email', visitorEmail);
  await visitor.type('#name', 'Visiting Viewer');
  await Promise.all([visitor.waitForNavigation({ waitUntil: 'load' }), visitor.click('button[value="allow"]')]);
  await waitForText(visitor, '#nav a', 'Library');
  if (visitor.url().includes('login_code')) throw new Error(`the code stayed in the address: ${visitor.url()}`);
  log('signed in with Google (simulated)');
  // The account has no password: the security screen offers to choose one by email, not
  // to change it; the link sets it, and the password then signs in.
  await visitor.goto(`${base}/#/account/security`);
  await clickText(visitor, '[aria-labelledby="pw"] button', 'Email me a link');
  await waitForText(visitor, '[aria-labelledby="pw"] [role="status"]', 'on its way');
  if (await visitor.$('#f-current_password')) throw new Error('an account with no password is asked for its current one');
  await accessible(visitor, 'security, no password');
  const resetLink = /(http:\/\/\S+\/reset-password\?\S+)/.exec(await emailTo(dataDir, visitorEmail))[1];
  await visitor.goto(resetLink);
  await visitor.type('#new_password', 'Lantern-Over-Harbour-31');
  await visitor.type('#new_password_confirm', 'Lantern-Over-Harbour-31');
  await visitor.click('button[type="submit"]');
  await waitForText(visitor, '#result.ok', 'Your password was changed');
  // The new password signed every device out: the app's stored session is refused.
  expectError(401, '/auth/refresh');
  await fillTheAccountForm(visitor, '#/signin', visitorEmail, 'Lantern-Over-Harbour-31');
  await waitForText(visitor, '#nav a', 'Library');
  // Signed in, the app moves on to the front page: only then is it sent elsewhere.
  await visitor.waitForFunction(() => location.hash === '#/');
  await visitor.goto(`${base}/#/account/security`);
  await visitor.waitForSelector('#f-current_password');
  log('the Google account chose a password through an emailed link, and signs in with it');
  check('provider sign-in');
  await visitorContext.close();
  log('passed');
} finally {
  await browser.close();
  await stopServer(server, dataDir);
}
