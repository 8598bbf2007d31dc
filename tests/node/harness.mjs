// Shared harness for the Node tests: start the real `arcade` binary on
// port 0 with a temporary data directory, and give the Appwrite web SDK
// the browser globals it expects (window, WebSocket, localStorage).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const here = dirname(fileURLToPath(import.meta.url));
export const ARCADE_BIN = process.env.ARCADE_BIN ?? join(here, '..', '..', 'target', 'debug', 'arcade');
export const KEY = 'node-test-key';
export const PROJECT = 'local';

// The web SDK runs in browsers; in Node it needs these (see the realtime reference).
class MemoryStorage {
  #m = new Map();
  getItem(k) { return this.#m.has(k) ? this.#m.get(k) : null; }
  setItem(k, v) { this.#m.set(k, String(v)); }
  removeItem(k) { this.#m.delete(k); }
  clear() { this.#m.clear(); }
}
globalThis.window = globalThis;
globalThis.WebSocket = WebSocket;
globalThis.localStorage = new MemoryStorage();

/** Start a fresh server; resolves to { url, endpoint, stop }. */
export async function startArcade(extraArgs = []) {
  const dir = mkdtempSync(join(tmpdir(), 'arcade-node-'));
  const child = spawn(ARCADE_BIN, ['serve', '--data', dir, '--listen', '127.0.0.1:0', ...extraArgs], {
    env: { ...process.env, ARCADE_API_KEY: KEY, ARCADE_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('arcade did not start in 30 s')), 30_000);
    child.stdout.on('data', (chunk) => {
      buf += chunk;
      const m = buf.match(/arcade listening on (http:\/\/\S+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`arcade exited early with ${code}`)); });
  });
  return {
    url,
    endpoint: `${url}/v1`,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Sign a web-SDK client in and pin its session to it. The SDK keeps the
 * session from `X-Fallback-Cookies` in (the shared) localStorage; we move
 * it onto the client with setSession so several users can live in one test.
 */
export async function pinSession(client, createSession) {
  localStorage.clear();
  const session = await createSession();
  const fallback = JSON.parse(localStorage.getItem('cookieFallback') ?? '{}');
  const token = fallback[`a_session_${PROJECT}`];
  if (!token) throw new Error('no session in X-Fallback-Cookies');
  client.setSession(token);
  localStorage.clear();
  return session;
}
