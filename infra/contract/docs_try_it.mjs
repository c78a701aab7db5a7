// The docs page in a real browser (headless Chromium): a person signs up, activates,
// signs in and calls signed-in routes from the page alone, as the page's "Try it" forms
// and sign-in bar allow. Fails on any script error, CSP violation or unexpected answer.
//
// Usage: node infra/contract/docs_try_it.mjs PATH/TO/marquee-local   (run by ./infra/test)
// CHROMIUM names the browser (default /usr/bin/chromium).
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import puppeteer from 'puppeteer-core';
import { emailTo, stopServer } from './scratch.mjs';

const binary = process.argv[2];
if (!binary) throw new Error('usage: docs_try_it.mjs PATH/TO/marquee-local');
const dataDir = mkdtempSync(join(tmpdir(), 'marquee-docs-'));
// A clean configuration, but what the server does is still logged for the IAM check.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k === 'MARQUEE_USAGE_LOG' || (!k.startsWith('MARQUEE_') && !k.startsWith('AWS_'))));
const server = spawn(binary, [], {
  env: { ...env, MARQUEE_LISTEN: '127.0.0.1:0', MARQUEE_DATA_DIR: dataDir, MARQUEE_DEMO_MOVIES: '12', MARQUEE_LOG: 'warn' },
  stdio: ['ignore', 'pipe', 'ignore'],
});
const base = await new Promise((resolve, reject) => {
  const lines = createInterface({ input: server.stdout });
  lines.on('line', (line) => { if (line.startsWith('Marquee API: ')) resolve(line.slice(13).trim()); });
  server.on('exit', () => reject(new Error('the local server ended before printing its address')));
});

const email = `docs.${Date.now()}@example.com`;
const password = 'Velvet-Lantern-Orbit-42';
const problems = [];
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu'],
});
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => problems.push(`script error: ${e.message}`));
  // Chromium logs every 4xx a page fetches ("Failed to load resource"): answers, not faults.
  // Everything else logged as an error (a CSP refusal above all) is a fault.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`);
  });
  await page.goto(`${base}/docs`, { waitUntil: 'networkidle0' });
  await page.waitForSelector('#op-auth-register');

  // Sends an operation from its "Try it" form; answers the status line and the body shown.
  const send = async (operation, { body, params = {} } = {}) => {
    const details = `#op-${operation}`;
    await page.$eval(details, (d) => { d.open = true; });
    for (const [name, value] of Object.entries(params)) {
      await page.$eval(`${details} input[name="${name}"]`, (i, v) => { i.value = v; }, value);
    }
    if (body !== undefined) {
      await page.$eval(`${details} textarea`, (t, v) => { t.value = v; }, JSON.stringify(body));
    }
    await page.$eval(`${details} .try button`, (b) => b.click());
    await page.waitForFunction((d) => {
      const s = document.querySelector(`${d} .answer .status`);
      return s && s.textContent.length > 0;
    }, { timeout: 10000 }, details);
    return page.$eval(details, (d) => ({
      status: d.querySelector('.answer .status').textContent,
      headers: d.querySelector('.answer .headers').textContent,
      body: d.querySelector('.answer .response').textContent,
    }));
  };
  const expect = (what, answer, status, contains) => {
    if (!answer.status.startsWith(String(status)) || (contains && !answer.body.includes(contains))) {
      throw new Error(`${what}: ${answer.status}\n${answer.body}`);
    }
    console.log(`docs: ${what}: ${answer.status}`);
  };

  // Every body form starts from the schema's shape.
  const prefilled = await page.$eval('#op-auth-register textarea', (t) => JSON.parse(t.value));
  if (!('email' in prefilled && 'password' in prefilled)) throw new Error(`register body not prefilled: ${JSON.stringify(prefilled)}`);

  expect('sign-up', await send('auth-register', { body: { email, password } }), 201, email);
  const token = /token=([A-Za-z0-9_-]+)/.exec(await emailTo(dataDir, email))[1];
  expect('activation', await send('auth-activate', { body: { token } }), 200);

  await page.type('#login-email', email);
  await page.type('#login-password', password);
  await page.click('#login');
  await page.waitForFunction(() => document.getElementById('token').value.length > 20, { timeout: 10000 });
  console.log('docs: the sign-in bar filled the bearer token');

  const me = await send('me-get');
  expect('GET /me with the token', me, 200, email);
  if (!/x-request-id: \S+/.test(me.headers)) throw new Error(`headers not shown: ${me.headers}`);
  expect('PATCH /me', await send('me-update', { body: { first_name: 'Ana' } }), 200, '"first_name": "Ana"');
  const movies = await send('movies-list', { params: { limit: '3' } });
  expect('GET /movies?limit=3', movies, 200, '"items"');
  if (JSON.parse(movies.body).items.length !== 3) throw new Error('limit not sent');
  const movieId = JSON.parse(movies.body).items[0].id;
  expect('GET /movies/{id}', await send('movies-get', { params: { id: movieId } }), 200, movieId);
  expect('PUT a rating', await send('movies-rating-set', { params: { id: movieId }, body: { score: 9 } }), 200);
  expect('a refusal is shown too', await send('genres-create', { body: { name: 'Noir' } }), 403, 'forbidden');
  if (problems.length) throw new Error(problems.join('\n'));
  console.log('docs: the whole journey ran from the page, no script error or CSP violation');
} finally {
  await browser.close();
  await stopServer(server, dataDir);
}
