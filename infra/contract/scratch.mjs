// The end of a browser check: its local server stopped, then the data folder it was given
// removed (a server still shutting down could write into it again).
import { rmSync } from 'node:fs';

export async function stopServer(server, dataDir) {
  if (server.exitCode === null && server.signalCode === null) {
    const exited = new Promise((done) => server.once('exit', done));
    server.kill();
    await exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
}
