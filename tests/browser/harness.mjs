// Start the casino demo the way a player gets it: the real `arcade` binary
// applying examples/casino/arcade.toml (schema, functions, the page at /),
// on a free port with a temporary data directory.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(here, '..', '..');
export const ARCADE_BIN = process.env.ARCADE_BIN ?? join(ROOT, 'target', 'debug', 'arcade');
export const CHROMIUM = process.env.ARCADE_CHROMIUM ?? '/usr/bin/chromium';
export const MANIFEST = join(ROOT, 'examples', 'casino', 'arcade.toml');
export const PROJECT = 'casino';
export const KEY = 'browser-test-key';

/** What must exist before the test can run, and the command that makes it. */
export function missingPrerequisites() {
  const need = [
    [ARCADE_BIN, 'cargo build (or set ARCADE_BIN)'],
    [CHROMIUM, 'scripts/browser-setup.sh (or set ARCADE_CHROMIUM)'],
    [join(ROOT, 'examples/casino/web/vendor/appwrite.js'), 'scripts/casino-web.sh'],
    ...['processGameResult', 'dailyBonus', 'moderateChat'].map((f) => [
      join(ROOT, `functions/dist/${f}.wasm`), 'scripts/build-functions.sh',
    ]),
  ];
  return need.filter(([path]) => !existsSync(path)).map(([path, fix]) => `${path} is missing: run ${fix}`);
}

/** Start the server; resolves to { url, pageUrl, api, stop }. */
export async function startCasino() {
  const dir = mkdtempSync(join(tmpdir(), 'arcade-casino-'));
  const child = spawn(
    ARCADE_BIN,
    ['serve', '--manifest', MANIFEST, '--data', dir, '--listen', '127.0.0.1:0'],
    { env: { ...process.env, ARCADE_API_KEY: KEY, ARCADE_LOG: process.env.ARCADE_LOG ?? 'warn' }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = await new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('arcade did not start in 60 s')), 60_000);
    child.stdout.on('data', (chunk) => {
      buf += chunk;
      const m = buf.match(/arcade listening on (http:\/\/\S+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`arcade exited early with ${code}:\n${buf}`)); });
  });
  child.stdout.resume();

  /** A call to the REST API with the server key (for checks the page cannot make). */
  async function api(method, path, body) {
    const res = await fetch(`${url}/v1${path}`, {
      method,
      headers: { 'X-Appwrite-Project': PROJECT, 'X-Appwrite-Key': KEY, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  return {
    url,
    pageUrl: `${url}/`,
    api,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
