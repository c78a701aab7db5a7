// What the browser checks share about their scratch local server: the emails it writes to
// its data folder, and its end (the server stopped, then the data folder it was given
// removed: a server still shutting down could write into it again).
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** The first email to `address` in the server's outbox, waiting (up to 10 s) for the mail
 * worker: it writes the email a moment after the request that owes it is answered. */
export async function emailTo(dataDir, address) {
  return (await emailsTo(dataDir, address, 1))[0];
}

/** Every email to `address`, oldest first (the files are named by ULID), once there are at
 * least `count` of them (waiting up to 10 s). */
export async function emailsTo(dataDir, address, count) {
  const outbox = join(dataDir, 'outbox');
  for (let i = 0; i < 100; i++) {
    const found = (existsSync(outbox) ? readdirSync(outbox) : [])
      .filter((f) => f.endsWith('.txt'))
      .sort()
      .map((f) => readFileSync(join(outbox, f), 'utf8'))
      .filter((t) => t.includes(`To: ${address}`));
    if (found.length >= count) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`fewer than ${count} emails to ${address}`);
}

export async function stopServer(server, dataDir) {
  if (server.exitCode === null && server.signalCode === null) {
    const exited = new Promise((done) => server.once('exit', done));
    server.kill();
    await exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
}
