// Realtime through the official web SDK: v28 (message protocol, `Realtime`
// service and `client.subscribe`) and v21 (channels in the URL), plus the
// resume extension with a raw WebSocket.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { Client, Account, TablesDB, Realtime, Query, Permission, Role } from 'appwrite';
import * as v21 from 'appwrite-v21';
import * as server from 'node-appwrite';
import { startArcade, pinSession, KEY, PROJECT } from './harness.mjs';

let arcade;
let admin;
const DB = 'casino';
const T = 'bets';
const CHANNEL = `databases.${DB}.tables.${T}.rows`;

before(async () => {
  arcade = await startArcade();
  const c = new server.Client().setEndpoint(arcade.endpoint).setProject(PROJECT).setKey(KEY);
  admin = new server.TablesDB(c);
  await admin.create({ databaseId: DB, name: 'Casino' });
  await admin.createTable({
    databaseId: DB, tableId: T, name: 'Bets',
    permissions: [server.Permission.create(server.Role.users())], rowSecurity: true,
  });
  await admin.createIntegerColumn({ databaseId: DB, tableId: T, key: 'amount', required: true });
  await admin.createStringColumn({ databaseId: DB, tableId: T, key: 'game', size: 16, required: false });
});

after(async () => { await arcade?.stop(); });

function webClient() {
  return new Client().setEndpoint(arcade.endpoint).setProject(PROJECT);
}

/** Collect callback payloads; `next(n)` resolves with the first n, or rejects after ms. */
function collector() {
  const got = [];
  const waiters = [];
  const push = (m) => { got.push(m); waiters.forEach((w) => w()); };
  const next = (n, ms = 5000) => new Promise((resolve, reject) => {
    const check = () => { if (got.length >= n) { resolve(got.slice(0, n)); return true; } return false; };
    if (check()) return;
    const t = setTimeout(() => reject(new Error(`timed out waiting for ${n} messages, got ${got.length}`)), ms);
    waiters.push(() => { if (check()) clearTimeout(t); });
  });
  return { got, push, next };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('v28 Realtime: events reach the owner only, with Appwrite\'s fields', async () => {
  const alice = webClient();
  const bob = webClient();
  await pinSession(alice, () => new Account(alice).createAnonymousSession());
  await pinSession(bob, () => new Account(bob).createAnonymousSession());
  const aliceId = (await new Account(alice).get()).$id;

  const aliceRt = new Realtime(alice);
  const bobRt = new Realtime(bob);
  const a = collector();
  const b = collector();
  const subA = await aliceRt.subscribe(CHANNEL, a.push);
  await bobRt.subscribe([CHANNEL], b.push);
  await sleep(300); // let both sockets authenticate and subscribe

  const row = await new TablesDB(alice).createRow({ databaseId: DB, tableId: T, rowId: 'r1', data: { amount: 5 } });
  const [ev] = await a.next(1);
  assert.ok(ev.events.includes(`databases.*.tables.*.rows.*.create`), ev.events.slice(0, 3).join());
  assert.equal(ev.events[0], `tablesdb.${DB}.tables.${T}.rows.r1.create`);
  assert.ok(ev.channels.includes(CHANNEL) && ev.channels.includes(`${CHANNEL}.r1`) && ev.channels.includes('rows.create'));
  assert.deepEqual(ev.payload, row, 'the payload is the REST row model');
  assert.deepEqual(ev.subscriptions, [subA.id ?? ev.subscriptions[0]]);
  assert.match(ev.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/);
  assert.equal(ev.payload.$permissions.includes(`read("user:${aliceId}")`), true);

  // A public row reaches bob too; bob never saw alice's private one.
  await new TablesDB(alice).createRow({ databaseId: DB, tableId: T, rowId: 'r2', data: { amount: 6 }, permissions: [Permission.read(Role.any()), Permission.update(Role.user(aliceId))] });
  const [pub] = await b.next(1);
  assert.equal(pub.payload.$id, 'r2');
  await a.next(2);
  // Making it private again: the update is not sent to bob (judged on the row as written).
  await new TablesDB(alice).updateRow({ databaseId: DB, tableId: T, rowId: 'r2', data: { amount: 7 }, permissions: [Permission.read(Role.user(aliceId)), Permission.update(Role.user(aliceId))] });
  await a.next(3);
  await sleep(300);
  assert.equal(b.got.length, 1, 'bob got only the public create: ' + JSON.stringify(b.got.map((x) => x.events[0])));
  aliceRt.disconnect?.();
  bobRt.disconnect?.();
});

test('v28 query filters and client.subscribe', async () => {
  const c = webClient();
  await pinSession(c, () => new Account(c).createAnonymousSession());
  const rt = new Realtime(c);
  const big = collector();
  await rt.subscribe(CHANNEL, big.push, [Query.greaterThan('amount', 100)]);
  const legacy = collector();
  const unsub = c.subscribe(`${CHANNEL}.create`, legacy.push);
  await sleep(300);
  const tables = new TablesDB(c);
  await tables.createRow({ databaseId: DB, tableId: T, rowId: 'small', data: { amount: 1 } });
  await tables.createRow({ databaseId: DB, tableId: T, rowId: 'large', data: { amount: 500 } });
  const [only] = await big.next(1);
  assert.equal(only.payload.$id, 'large');
  const both = await legacy.next(2);
  assert.deepEqual(both.map((e) => e.payload.$id), ['small', 'large']);
  await sleep(200);
  assert.equal(big.got.length, 1, 'the filter held');
  unsub();
  rt.disconnect?.();
});

test('v21 (channels in the URL) receives events', async () => {
  const c = new v21.Client().setEndpoint(arcade.endpoint).setProject(PROJECT);
  const got = collector();
  const unsub = c.subscribe('rows', got.push);
  await sleep(300);
  await admin.createRow({ databaseId: DB, tableId: T, rowId: 'pub21', data: { amount: 1 }, permissions: [server.Permission.read(server.Role.any())] });
  const [ev] = await got.next(1);
  assert.equal(ev.payload.$id, 'pub21');
  assert.ok(ev.channels.includes('rows'));
  unsub();
});

function rawSocket(query) {
  const url = `${arcade.url.replace('http', 'ws')}/v1/realtime?project=${PROJECT}${query}`;
  const ws = new WebSocket(url);
  const frames = collector();
  ws.on('message', (d) => frames.push(JSON.parse(d.toString())));
  return { ws, frames, opened: new Promise((r, j) => { ws.once('open', r); ws.once('error', j); }) };
}

test('resume after a forced disconnect loses nothing', async () => {
  const mk = (id, amount) => admin.createRow({ databaseId: DB, tableId: T, rowId: id, data: { amount }, permissions: [server.Permission.read(server.Role.any())] });
  const first = rawSocket(`&channels[]=${CHANNEL}`);
  await first.opened;
  const [connected] = await first.frames.next(1);
  assert.equal(connected.type, 'connected');
  assert.equal(typeof connected.data.seq, 'number');
  await mk('a1', 1);
  const frames = await first.frames.next(2);
  const lastSeq = frames[1].data.seq;
  assert.equal(frames[1].data.payload.$id, 'a1');
  first.ws.terminate(); // forced disconnect

  for (let i = 0; i < 5; i++) await mk(`gap${i}`, i);
  const again = rawSocket(`&channels[]=${CHANNEL}&since=${lastSeq}`);
  await again.opened;
  await mk('after', 9);
  const got = await again.frames.next(8); // connected + 5 missed + resume ack + live
  const events = got.filter((f) => f.type === 'event');
  assert.deepEqual(events.map((e) => e.data.payload.$id), ['gap0', 'gap1', 'gap2', 'gap3', 'gap4', 'after']);
  const seqs = events.map((e) => e.data.seq);
  assert.ok(seqs.every((s, i) => i === 0 || s > seqs[i - 1]), 'in order');
  assert.ok(got.some((f) => f.type === 'response' && f.data.to === 'resume'));
  again.ws.close();
});

test('protocol errors: bad project closes with 1008, bad messages get 1003', async () => {
  const bad = new WebSocket(`${arcade.url.replace('http', 'ws')}/v1/realtime?project=nope&channels[]=rows`);
  const closed = new Promise((r) => bad.on('close', (code) => r(code)));
  const frames = collector();
  bad.on('message', (d) => frames.push(JSON.parse(d.toString())));
  const [err] = await frames.next(1);
  assert.equal(err.type, 'error');
  assert.equal(err.data.code, 1008);
  assert.equal(await closed, 1008);

  const ok = rawSocket('');
  await ok.opened;
  await ok.frames.next(1);
  ok.ws.send('not json');
  ok.ws.send(JSON.stringify({ type: 'dance' }));
  ok.ws.send(JSON.stringify({ type: 'ping' }));
  const [, e1, e2, pong] = await ok.frames.next(4);
  assert.equal(e1.data.code, 1003);
  assert.equal(e2.data.code, 1003);
  assert.equal(pong.type, 'pong', 'the socket stayed open');
  ok.ws.close();
});
