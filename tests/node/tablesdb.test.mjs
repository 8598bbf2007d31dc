// The official web SDK (appwrite@28) and server SDK (node-appwrite) against
// Arcade, unchanged: schema through node-appwrite with an API key, then a
// game frontend's calls through the web SDK with real sessions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, Account, TablesDB, ID, Query, Permission, Role, AppwriteException } from 'appwrite';
import * as server from 'node-appwrite';
import { startArcade, pinSession, KEY, PROJECT } from './harness.mjs';

let arcade;
let admin;

before(async () => {
  arcade = await startArcade();
  const c = new server.Client().setEndpoint(arcade.endpoint).setProject(PROJECT).setKey(KEY);
  admin = new server.TablesDB(c);
  await admin.create({ databaseId: 'tarkov_casino', name: 'Casino' });
  await admin.createTable({
    databaseId: 'tarkov_casino',
    tableId: 'user_profiles',
    name: 'Profiles',
    permissions: [server.Permission.create(server.Role.users()), server.Permission.read(server.Role.users())],
    rowSecurity: true,
  });
  await admin.createStringColumn({ databaseId: 'tarkov_casino', tableId: 'user_profiles', key: 'username', size: 32, required: true });
  await admin.createIntegerColumn({ databaseId: 'tarkov_casino', tableId: 'user_profiles', key: 'balance', required: false, min: 0, xdefault: 1000 });
  await admin.createIntegerColumn({ databaseId: 'tarkov_casino', tableId: 'user_profiles', key: 'total_games_played', required: false, xdefault: 0 });
  await admin.createIndex({ databaseId: 'tarkov_casino', tableId: 'user_profiles', key: 'by_balance', type: server.TablesDBIndexType.Key, columns: ['balance'] });
});

after(async () => {
  await arcade?.stop();
});

function webClient() {
  return new Client().setEndpoint(arcade.endpoint).setProject(PROJECT);
}

test('a player plays through the web SDK', async () => {
  const client = webClient();
  const account = new Account(client);
  const tables = new TablesDB(client);

  const session = await pinSession(client, () => account.createAnonymousSession());
  assert.equal(session.provider, 'anonymous');
  const me = await account.get();
  assert.equal(me.$id, session.userId);

  const row = await tables.createRow({
    databaseId: 'tarkov_casino',
    tableId: 'user_profiles',
    rowId: me.$id,
    data: { username: 'ann' },
  });
  assert.equal(row.$id, me.$id);
  assert.equal(row.balance, 1000, 'column default');
  assert.equal(row.$tableId, 'user_profiles');
  assert.equal(typeof row.$sequence, 'string');
  assert.deepEqual(row.$permissions.sort(), [
    `delete("user:${me.$id}")`, `read("user:${me.$id}")`, `update("user:${me.$id}")`,
  ]);

  const got = await tables.getRow({ databaseId: 'tarkov_casino', tableId: 'user_profiles', rowId: me.$id });
  assert.equal(got.username, 'ann');

  await tables.createRow({ databaseId: 'tarkov_casino', tableId: 'user_profiles', rowId: ID.unique(), data: { username: 'alt', balance: 5 } });
  const rich = await tables.listRows({
    databaseId: 'tarkov_casino',
    tableId: 'user_profiles',
    queries: [Query.greaterThan('balance', 100), Query.orderDesc('balance'), Query.limit(10)],
  });
  assert.equal(rich.total, 1);
  assert.equal(rich.rows[0].username, 'ann');
  const all = await tables.listRows({ databaseId: 'tarkov_casino', tableId: 'user_profiles', queries: [Query.orderAsc('balance')] });
  assert.deepEqual(all.rows.map((r) => r.username), ['alt', 'ann']);

  const updated = await tables.updateRow({ databaseId: 'tarkov_casino', tableId: 'user_profiles', rowId: me.$id, data: { balance: 1200 } });
  assert.equal(updated.balance, 1200);
  assert.equal(updated.username, 'ann');

  const bumped = await tables.incrementRowColumn({
    databaseId: 'tarkov_casino', tableId: 'user_profiles', rowId: me.$id, column: 'total_games_played', value: 1, max: 2,
  });
  assert.equal(bumped.total_games_played, 1);
  await tables.incrementRowColumn({ databaseId: 'tarkov_casino', tableId: 'user_profiles', rowId: me.$id, column: 'total_games_played', value: 1, max: 2 });
  await assert.rejects(
    tables.incrementRowColumn({ databaseId: 'tarkov_casino', tableId: 'user_profiles', rowId: me.$id, column: 'total_games_played', value: 1, max: 2 }),
    (e) => e instanceof AppwriteException && e.code === 400 && e.type === 'column_limit_exceeded',
  );
  const after = await tables.getRow({ databaseId: 'tarkov_casino', tableId: 'user_profiles', rowId: me.$id });
  assert.equal(after.total_games_played, 2, 'the refused increment changed nothing');
  const down = await tables.decrementRowColumn({ databaseId: 'tarkov_casino', tableId: 'user_profiles', rowId: me.$id, column: 'balance', value: 200, min: 0 });
  assert.equal(down.balance, 1000);

  await tables.deleteRow({ databaseId: 'tarkov_casino', tableId: 'user_profiles', rowId: me.$id });
  await assert.rejects(
    tables.getRow({ databaseId: 'tarkov_casino', tableId: 'user_profiles', rowId: me.$id }),
    (e) => e.code === 404 && e.type === 'row_not_found',
  );
});

test('a second user is denied another player\'s private row', async () => {
  const alice = webClient();
  const bob = webClient();
  await new Account(alice).create({ userId: 'alice', email: 'alice@example.com', password: 'password123', name: 'Alice' });
  await pinSession(alice, () => new Account(alice).createEmailPasswordSession({ email: 'alice@example.com', password: 'password123' }));
  await pinSession(bob, () => new Account(bob).createAnonymousSession());
  const at = new TablesDB(alice);
  const bt = new TablesDB(bob);

  // Private: only alice may read, despite the table-level read for users.
  await admin.updateTable({ databaseId: 'tarkov_casino', tableId: 'user_profiles', name: 'Profiles', permissions: [server.Permission.create(server.Role.users())], rowSecurity: true });
  await at.createRow({ databaseId: 'tarkov_casino', tableId: 'user_profiles', rowId: 'alice', data: { username: 'alice', balance: 50 } });

  await assert.rejects(bt.getRow({ databaseId: 'tarkov_casino', tableId: 'user_profiles', rowId: 'alice' }), (e) => e.code === 404 && e.type === 'row_not_found');
  const seen = await bt.listRows({ databaseId: 'tarkov_casino', tableId: 'user_profiles' });
  assert.ok(!seen.rows.some((r) => r.$id === 'alice'), 'bob does not see alice in lists');
  await assert.rejects(
    bt.updateRow({ databaseId: 'tarkov_casino', tableId: 'user_profiles', rowId: 'alice', data: { balance: 999999 } }),
    (e) => e.code === 401 && e.type === 'user_unauthorized',
  );
  await assert.rejects(
    bt.incrementRowColumn({ databaseId: 'tarkov_casino', tableId: 'user_profiles', rowId: 'alice', column: 'balance', value: 1 }),
    (e) => e.code === 401,
  );
  await assert.rejects(
    bt.createRow({ databaseId: 'tarkov_casino', tableId: 'user_profiles', rowId: 'x', data: { username: 'x' }, permissions: [Permission.read(Role.user('alice'))] }),
    (e) => e.code === 401 && e.type === 'user_unauthorized',
  );
  const mine = await at.getRow({ databaseId: 'tarkov_casino', tableId: 'user_profiles', rowId: 'alice' });
  assert.equal(mine.balance, 50, 'untouched');
});

test('server SDK reads the same data and errors keep Appwrite\'s shape', async () => {
  const list = await admin.listRows({ databaseId: 'tarkov_casino', tableId: 'user_profiles', queries: [server.Query.equal('username', ['alice'])] });
  assert.equal(list.total, 1);
  await assert.rejects(
    admin.getRow({ databaseId: 'tarkov_casino', tableId: 'nope', rowId: 'x' }),
    (e) => e.code === 404 && e.type === 'table_not_found' && /nope/.test(e.message),
  );
  await assert.rejects(
    admin.createRow({ databaseId: 'tarkov_casino', tableId: 'user_profiles', rowId: 'bad', data: { username: 'x', color: 'red' } }),
    (e) => e.code === 400 && e.type === 'row_invalid_structure',
  );
});
