// Functions through the official SDKs, as a game would use them: the server
// SDK (node-appwrite 27) creates the casino tables and deploys the
// processGameResult component (multipart upload, as the SDK sends it); a
// signed-in player runs it with the web SDK's Functions.createExecution
// (appwrite 28) and sees, on realtime, the rows it wrote and the execution.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Account, Functions, Realtime, TablesDB, Query } from 'appwrite';
import * as server from 'node-appwrite';
import { InputFile } from 'node-appwrite/file';
import { startArcade, pinSession, KEY, PROJECT } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const WASM = join(here, '..', '..', 'functions', 'dist', 'processGameResult.wasm');
const DB = 'tarkov_casino';

let arcade;

before(async () => {
  if (!existsSync(WASM)) throw new Error(`${WASM} is missing: run scripts/build-functions.sh`);
  arcade = await startArcade();
  const c = new server.Client().setEndpoint(arcade.endpoint).setProject(PROJECT).setKey(KEY);
  const tables = new server.TablesDB(c);
  await tables.create({ databaseId: DB, name: 'Tarkov Casino' });
  await tables.createTable({
    databaseId: DB, tableId: 'user_profiles', name: 'Profiles',
    permissions: [server.Permission.read(server.Role.users())], rowSecurity: true,
  });
  await tables.createStringColumn({ databaseId: DB, tableId: 'user_profiles', key: 'username', size: 32, required: true });
  await tables.createIntegerColumn({ databaseId: DB, tableId: 'user_profiles', key: 'balance', required: false, min: 0, xdefault: 1000 });
  await tables.createIntegerColumn({ databaseId: DB, tableId: 'user_profiles', key: 'total_games_played', required: false, min: 0, xdefault: 0 });
  await tables.createIntegerColumn({ databaseId: DB, tableId: 'user_profiles', key: 'last_bonus_ms', required: false });
  await tables.createTable({ databaseId: DB, tableId: 'game_history', name: 'History', permissions: [], rowSecurity: true });
  await tables.createStringColumn({ databaseId: DB, tableId: 'game_history', key: 'user_id', size: 36, required: true });
  await tables.createEnumColumn({ databaseId: DB, tableId: 'game_history', key: 'game_type', elements: ['coinflip', 'roulette', 'slots'], required: true });
  await tables.createIntegerColumn({ databaseId: DB, tableId: 'game_history', key: 'bet_amount', required: true, min: 1 });
  await tables.createIntegerColumn({ databaseId: DB, tableId: 'game_history', key: 'win_amount', required: true, min: 0 });
  await tables.createEnumColumn({ databaseId: DB, tableId: 'game_history', key: 'outcome', elements: ['win', 'lose'], required: true });

  const functions = new server.Functions(c);
  await functions.create({
    functionId: 'processGameResult', name: 'Process game result', runtime: 'wasi-0.2',
    execute: [server.Role.users()], timeout: 15,
  });
  const deployment = await functions.createDeployment({
    functionId: 'processGameResult', code: InputFile.fromPath(WASM, 'processGameResult.wasm'), activate: true,
  });
  assert.equal(deployment.status, 'ready', JSON.stringify(deployment));
  const f = await functions.get({ functionId: 'processGameResult' });
  assert.equal(f.deploymentId, deployment.$id, 'the upload is the active deployment');
});

after(async () => { await arcade?.stop(); });

/** Collect realtime callbacks; `until(pred)` resolves with the first that matches, or rejects after ms. */
function collector() {
  const got = [];
  const waiters = new Set();
  const push = (m) => { got.push(m); for (const w of waiters) w(); };
  const until = (pred, what, ms = 5000) => new Promise((resolve, reject) => {
    const check = () => { const hit = got.find(pred); if (hit) { resolve(hit); return true; } return false; };
    if (check()) return;
    const waiter = () => { if (check()) { clearTimeout(t); waiters.delete(waiter); } };
    const t = setTimeout(() => {
      waiters.delete(waiter);
      reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(got.map((g) => g.events[0]))}`));
    }, ms);
    waiters.add(waiter);
  });
  return { got, push, until };
}

test('a player runs processGameResult with Functions.createExecution and sees it live', async () => {
  const player = new Client().setEndpoint(arcade.endpoint).setProject(PROJECT);
  await pinSession(player, () => new Account(player).createAnonymousSession());
  const me = await new Account(player).get();

  const live = collector();
  const realtime = new Realtime(player);
  await realtime.subscribe(
    ['executions', `databases.${DB}.tables.user_profiles.rows.${me.$id}`, `databases.${DB}.tables.game_history.rows`],
    live.push,
  );
  await new Promise((r) => setTimeout(r, 300)); // the socket authenticates and subscribes

  const functions = new Functions(player);
  const execution = await functions.createExecution({
    functionId: 'processGameResult',
    body: JSON.stringify({ game_type: 'coinflip', bet_amount: 100, choice: 'heads' }),
    async: false,
  });
  assert.equal(execution.status, 'completed', JSON.stringify(execution));
  assert.equal(execution.trigger, 'http');
  assert.equal(execution.responseStatusCode, 200);
  const result = JSON.parse(execution.responseBody);
  assert.ok(['win', 'lose'].includes(result.outcome), execution.responseBody);
  const won = result.outcome === 'win';
  assert.equal(result.win_amount, won ? 200 : 0);
  assert.equal(result.balance, won ? 1100 : 900);

  // The balance and the history changed, as the player reads them.
  const tables = new TablesDB(player);
  const profile = await tables.getRow({ databaseId: DB, tableId: 'user_profiles', rowId: me.$id });
  assert.equal(profile.balance, result.balance);
  assert.equal(profile.total_games_played, 1);
  const history = await tables.listRows({ databaseId: DB, tableId: 'game_history', queries: [Query.equal('user_id', me.$id)] });
  assert.equal(history.total, 1);
  assert.equal(history.rows[0].$id, result.game_id);
  assert.equal(history.rows[0].bet_amount, 100);

  // Realtime: the rows the function wrote, then the execution itself, created finished as in Appwrite.
  // (The first game creates the profile at 1,000, then settles the bet on it.)
  const profileEvent = await live.until(
    (e) => e.payload.$id === me.$id && e.payload.total_games_played === 1, 'the settled profile row',
  );
  assert.equal(profileEvent.payload.balance, result.balance);
  const gameEvent = await live.until((e) => e.payload.$id === result.game_id, 'the game_history row');
  assert.equal(gameEvent.events[0], `tablesdb.${DB}.tables.game_history.rows.${result.game_id}.create`);
  const execEvent = await live.until((e) => e.payload.$id === execution.$id, 'the execution');
  assert.ok(execEvent.events.includes(`functions.processGameResult.executions.${execution.$id}.create`), execEvent.events.join());
  assert.ok(execEvent.channels.includes('executions') && execEvent.channels.includes(`executions.${execution.$id}`));
  assert.equal(execEvent.payload.status, 'completed');
  assert.equal(execEvent.payload.responseStatusCode, 200);
  assert.ok(live.got.indexOf(gameEvent) < live.got.indexOf(execEvent), 'the writes commit with the execution, before its event');

  // A bet above the balance gets a 4xx answer and writes nothing.
  const seen = live.got.length;
  const refused = await functions.createExecution({
    functionId: 'processGameResult', body: JSON.stringify({ game_type: 'slots', bet_amount: 1_000_000 }),
  });
  assert.equal(refused.status, 'completed');
  assert.ok(refused.responseStatusCode >= 400 && refused.responseStatusCode < 500, refused.responseBody);
  assert.equal(typeof JSON.parse(refused.responseBody).error, 'string');
  await live.until((e) => e.payload.$id === refused.$id, 'the refused execution');
  const after = live.got.slice(seen).filter((e) => !e.events[0].startsWith('functions.'));
  assert.deepEqual(after, [], 'no row changed');
  assert.equal((await tables.getRow({ databaseId: DB, tableId: 'user_profiles', rowId: me.$id })).balance, result.balance);
  realtime.disconnect?.();
});

test('guests may not execute it (execute: users)', async () => {
  const guest = new Client().setEndpoint(arcade.endpoint).setProject(PROJECT);
  await assert.rejects(
    new Functions(guest).createExecution({ functionId: 'processGameResult', body: '{}' }),
    (e) => e.code === 401 && e.type === 'user_unauthorized',
  );
});
