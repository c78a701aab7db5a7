// Buying a demo movie and watching it, in a real browser (headless Chromium) against the
// local server: a viewer signs up, buys a movie that carries the demo clip through the
// cart, an order and the simulated checkout page, asks for playback, and a <video> plays
// the signed URL as it is: its time advances, a seek lands, and once the URL has expired
// (the server caps URLs at a few seconds here) loading it again fails.
//
// Usage: node infra/contract/watch_in_browser.mjs PATH/TO/marquee-local   (run by ./infra/test)
// CHROMIUM names the browser (default /usr/bin/chromium).
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import puppeteer from 'puppeteer-core';
import { emailTo, stopServer } from './scratch.mjs';

const binary = process.argv[2];
if (!binary) throw new Error('usage: watch_in_browser.mjs PATH/TO/marquee-local');
const URL_SECS = 10;
const dataDir = mkdtempSync(join(tmpdir(), 'marquee-watch-'));
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k === 'MARQUEE_USAGE_LOG' || (!k.startsWith('MARQUEE_') && !k.startsWith('AWS_'))));
const server = spawn(binary, [], {
  env: { ...env, MARQUEE_LISTEN: '127.0.0.1:0', MARQUEE_DATA_DIR: dataDir, MARQUEE_DEMO_MOVIES: '6', MARQUEE_LOG: 'warn', MARQUEE_PLAYBACK_URL_MAX_SECS: String(URL_SECS) },
  stdio: ['ignore', 'pipe', 'ignore'],
});
const base = await new Promise((resolve, reject) => {
  const lines = createInterface({ input: server.stdout });
  lines.on('line', (line) => { if (line.startsWith('Marquee API: ')) resolve(line.slice(13).trim()); });
  server.on('exit', () => reject(new Error('the local server ended before printing its address')));
});

const step = (what, answer, status) => {
  if (answer.status !== status) throw new Error(`${what}: ${answer.status}, not ${status}: ${JSON.stringify(answer.body)}`);
  console.log(`watch: ${what}`);
  return answer.body;
};
const api = async (method, path, { token, body, headers = {} } = {}) => {
  const response = await fetch(base + path, {
    method,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  let parsed;
  try { parsed = JSON.parse(text); } catch { parsed = text; }
  return { status: response.status, body: parsed };
};

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--autoplay-policy=no-user-gesture-required'],
});
try {
  const email = `viewer.${Date.now()}@example.com`;
  const password = 'Velvet-Lantern-Orbit-42';
  step('sign up', await api('POST', '/auth/register', { body: { email, password } }), 201);
  const mail = await emailTo(dataDir, email);
  step('activate', await api('POST', '/auth/activate', { body: { token: /token=([A-Za-z0-9_-]+)/.exec(mail)[1] } }), 200);
  const token = step('sign in', await api('POST', '/auth/login', { body: { email, password } }), 200).access_token;

  // A demo movie that carries a feature.
  const page1 = step('browse', await api('GET', '/movies?limit=100'), 200);
  let movie;
  for (const card of page1.items) {
    const detail = step(`open ${card.id}`, await api('GET', `/movies/${card.id}`), 200);
    if (detail.media.feature && detail.available) { movie = detail; break; }
  }
  if (!movie) throw new Error('no demo movie carries a feature');
  const refused = await api('POST', `/movies/${movie.id}/playback`, { token, body: { kind: 'feature' } });
  if (refused.status !== 403 || refused.body.code !== 'not_purchased') throw new Error(`before buying: ${JSON.stringify(refused)}`);

  step('add to cart', await api('POST', '/cart/items', { token, body: { movie_id: movie.id } }), 201);
  const order = step('order', await api('POST', '/orders', { token, headers: { 'idempotency-key': `watch-${Date.now()}` } }), 201);
  const checkout = step('check out', await api('POST', `/orders/${order.id}/checkout`, { token }), 200);
  const page = await browser.newPage();
  await page.goto(checkout.checkout_url, { waitUntil: 'load' });
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button.pay')]);
  let paid;
  for (let i = 0; i < 50 && paid?.status !== 'paid'; i++) {
    paid = step('order status', await api('GET', `/orders/${order.id}`, { token }), 200);
    if (paid.status !== 'paid') await new Promise((r) => setTimeout(r, 200));
  }
  if (paid.status !== 'paid') throw new Error(`the order is ${paid.status}`);
  console.log('watch: paid on the simulated checkout page');

  const playback = step('playback', await api('POST', `/movies/${movie.id}/playback`, { token, body: { kind: 'feature' } }), 200);
  if (!playback.grant_id || playback.url.includes(token)) throw new Error(`playback: ${JSON.stringify(playback)}`);
  const problems = [];
  page.on('pageerror', (e) => problems.push(`script error: ${e.message}`));
  // A page of the server's own origin hosts the player: Chromium refuses a loopback
  // resource to an opaque origin such as about:blank (Private Network Access).
  await page.goto(`${base}/health`);
  const played = await page.evaluate(async (url) => {
    const video = document.createElement('video');
    video.muted = true;
    video.src = url;
    document.body.append(video);
    await video.play();
    const started = video.currentTime;
    await new Promise((resolve, reject) => {
      const check = () => (video.currentTime > started + 1 ? resolve() : setTimeout(check, 100));
      video.onerror = () => reject(new Error(`video error ${video.error?.code}`));
      check();
    });
    const advanced = video.currentTime;
    video.currentTime = 9;
    await new Promise((resolve) => video.addEventListener('seeked', resolve, { once: true }));
    return { advanced, landed: video.currentTime, duration: video.duration };
  }, playback.url);
  if (!(played.advanced > 1)) throw new Error(`time did not advance: ${JSON.stringify(played)}`);
  if (!(played.landed >= 9 && played.landed < 10)) throw new Error(`the seek did not land: ${JSON.stringify(played)}`);
  console.log(`watch: played (time advanced to ${played.advanced.toFixed(2)} s, a seek landed at ${played.landed.toFixed(2)} s of ${played.duration.toFixed(2)} s)`);

  const wait = playback.expires_at * 1000 - Date.now() + 1500;
  await new Promise((r) => setTimeout(r, Math.max(wait, 0)));
  // A player that loads the URL again (a new tab, nothing of it kept) is refused.
  const fresh = await (await browser.createBrowserContext()).newPage();
  await fresh.goto(`${base}/health`);
  const expired = await fresh.evaluate(async (url) => {
    const video = document.createElement('video');
    video.muted = true;
    video.src = url;
    document.body.append(video);
    return await new Promise((resolve) => {
      video.onerror = () => resolve({ refused: true, code: video.error?.code });
      video.oncanplay = () => resolve({ refused: false });
    });
  }, playback.url);
  if (!expired.refused) throw new Error('an expired URL still played');
  const status = (await fetch(playback.url, { headers: { range: 'bytes=0-99' } })).status;
  if (status !== 403) throw new Error(`an expired URL answered ${status}`);
  console.log('watch: the expired URL stopped playing (403)');
  if (problems.length) throw new Error(problems.join('\n'));
} finally {
  await browser.close();
  await stopServer(server, dataDir);
}
