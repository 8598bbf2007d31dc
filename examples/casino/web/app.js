// The Tarkov Casino page: the official Appwrite web SDK (v28) against Arcade.
//
// Served by Arcade itself (the manifest's `project.site`), so the API is this
// origin's /v1. For serving the page from elsewhere during development,
// `?endpoint=http://127.0.0.1:7700/v1&project=casino` overrides both.
//
// What it shows, and where each piece comes from:
// - your balance: your `user_profiles` row (its $id is your user id), read
//   once, then kept live by realtime on the row's channel;
// - the leaderboard: the top 10 profiles by balance, refetched (debounced)
//   whenever realtime reports a change to any profile;
// - game results: a toast for each new `game_history` row of yours (that
//   table is row-secured, so realtime only sends you your own rows);
// - the lobby chat: the last 50 messages, with creates and deletes live, so a
//   message the `moderateChat` function deletes vanishes in every open page.
//
// Realtime first, snapshot second: every time the server confirms the
// subscriptions (at start and after each reconnect) the page refetches its
// state, so nothing that happened while it was offline is missed. Rows are
// merged by `$updatedAt` and deleted chat messages are remembered, so a
// snapshot that was in flight while an event arrived cannot bring back a
// stale balance or a deleted message.

const SDK = window.Appwrite;
const params = new URLSearchParams(location.search);
const ENDPOINT = params.get('endpoint') || `${location.origin}/v1`;
const PROJECT = params.get('project') || 'casino';
const DB = 'tarkov_casino';
const PROFILES = 'user_profiles';
const HISTORY = 'game_history';
const CHAT = 'chat_messages';
const CHAT_KEEP = 50;
const TOAST_MS = 8000;

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- errors

/** Show an error to the player (and in the console); never swallow it. */
function showError(context, err) {
  const message = err?.message || String(err);
  console.error(`${context}:`, err);
  $('error-text').textContent = `${context}: ${message}`;
  $('error').hidden = false;
}
$('error-close').addEventListener('click', () => { $('error').hidden = true; });
window.addEventListener('unhandledrejection', (e) => showError('Unexpected error', e.reason));

// ---------------------------------------------------------------- state

const state = {
  me: null,            // the Account (user) model
  profile: null,       // my user_profiles row, or null before my first game
  board: new Map(),    // user id -> profile row, for the leaderboard
  boardGen: 0,         // generation of the latest leaderboard fetch
  chat: new Map(),     // message id -> row
  deleted: new Set(),  // ids of chat messages known to be deleted
  toasts: new Set(),   // game ids already toasted
  renaming: null,      // the name being written to my profile, if any
};

/** A row's version: rows are only replaced by ones at least as new. */
const newer = (row, than) => !than || (row.$updatedAt ?? '') >= (than.$updatedAt ?? '');
const isDelete = (ev) => ev.events.some((e) => e.endsWith('.delete'));
const isCreate = (ev) => ev.events.some((e) => e.endsWith('.create'));
const displayName = () => state.me?.name || `player-${(state.me?.$id ?? '').slice(0, 6)}`;

// ---------------------------------------------------------------- client

if (!SDK) {
  showError('Start-up', new Error('vendor/appwrite.js did not load: run scripts/casino-web.sh'));
  throw new Error('no Appwrite SDK');
}
const { Client, Account, TablesDB, Functions, Realtime, Query, ID } = SDK;
const client = new Client().setEndpoint(ENDPOINT).setProject(PROJECT);
const account = new Account(client);
const tables = new TablesDB(client);
const functions = new Functions(client);
const realtime = new Realtime(client);

// ---------------------------------------------------------------- connection state

function setConnection(stateName, detail = '') {
  const el = $('connection');
  el.dataset.state = stateName;
  el.textContent = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…', offline: 'offline' }[stateName] ?? stateName;
  el.title = detail || `Realtime: ${stateName}`;
}

// The SDK resolves subscribe() once the socket is open, before the server has
// taken the subscriptions; the server confirms them with a
// {"type":"response","data":{"to":"subscribe"}} frame, which the SDK does not
// surface. We watch for it on the SDK's socket to call the page "live" only
// when events will really arrive, and to refetch what changed meanwhile.
realtime.onOpen(() => {
  const socket = realtime.socket; // the SDK's current WebSocket (not part of its typed API)
  if (!socket) { onSubscribed(); return; }
  socket.addEventListener('message', (m) => {
    let frame;
    try { frame = JSON.parse(m.data); } catch { return; }
    if (frame?.type === 'response' && frame.data?.to === 'subscribe' && socket === realtime.socket) onSubscribed();
  });
});
realtime.onClose(() => setConnection('reconnecting', 'Realtime connection closed; the SDK reconnects by itself'));
realtime.onError((err, code) => {
  if (code) {
    // An error frame from the server (e.g. a refused subscription): the player should know.
    showError(`Realtime (${code})`, err);
  } else {
    // The socket failed (server unreachable): the pill says so while the SDK retries.
    setConnection('offline', `${err?.message ?? 'connection error'}; retrying`);
  }
});

function onSubscribed() {
  if ($('connection').dataset.state === 'live') return;
  refreshAll().then(() => setConnection('live'), (e) => showError('Loading', e));
}

async function subscribe() {
  const rows = (table) => `databases.${DB}.tables.${table}.rows`;
  // Called together, so the SDK sends them in one subscribe message.
  await Promise.all([
    realtime.subscribe(`${rows(PROFILES)}.${state.me.$id}`, (ev) => {
      if (isDelete(ev)) applyProfile(null); else applyProfile(ev.payload);
    }),
    realtime.subscribe(rows(PROFILES), onBoardEvent),
    realtime.subscribe(rows(HISTORY), (ev) => {
      if (isCreate(ev) && ev.payload.user_id === state.me.$id) toastGame(ev.payload);
    }),
    realtime.subscribe(rows(CHAT), (ev) => {
      if (isDelete(ev)) removeChat(ev.payload.$id); else addChat(ev.payload);
    }),
  ]);
}

// ---------------------------------------------------------------- profile and name

function applyProfile(row) {
  if (row && !newer(row, state.profile)) return;
  state.profile = row;
  const balance = $('balance');
  $('no-profile').hidden = !!row;
  balance.textContent = row ? row.balance.toLocaleString('en-US') : '—';
  balance.dataset.balance = row ? String(row.balance) : '';
  const games = row?.total_games_played ?? 0;
  $('games-played').textContent = games === 0 ? 'no games yet' : `${games} game${games === 1 ? '' : 's'} played`;
  if (row) syncUsername();
}

async function loadProfile() {
  try {
    applyProfile(await tables.getRow({ databaseId: DB, tableId: PROFILES, rowId: state.me.$id }));
  } catch (e) {
    if (e?.code === 404) { if (!state.profile) applyProfile(null); } else throw e;
  }
}

/** Keep the leaderboard name (profile.username) equal to the chosen account name. */
async function syncUsername() {
  const want = state.me?.name;
  const p = state.profile;
  if (!want || !p || p.username === want || state.renaming === want) return;
  state.renaming = want;
  try {
    applyProfile(await tables.updateRow({ databaseId: DB, tableId: PROFILES, rowId: p.$id, data: { username: want } }));
  } catch (e) {
    showError('Saving your name on the leaderboard', e);
  } finally {
    state.renaming = null;
  }
}

$('name-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const name = $('name-input').value.trim();
  if (!name) return;
  $('name-save').disabled = true;
  try {
    state.me = await account.updateName({ name });
    renderMe();
    await syncUsername();
  } catch (err) {
    showError('Saving your name', err);
  } finally {
    $('name-save').disabled = false;
  }
});

function renderMe() {
  $('user-id').textContent = state.me.$id;
  const input = $('name-input');
  if (document.activeElement !== input) input.value = state.me.name || '';
  input.placeholder = displayName();
  document.body.dataset.user = state.me.$id;
}

// ---------------------------------------------------------------- leaderboard

function onBoardEvent(ev) {
  const row = ev.payload;
  if (isDelete(ev)) state.board.delete(row.$id);
  else if (newer(row, state.board.get(row.$id))) state.board.set(row.$id, row);
  renderBoard();
  scheduleBoardRefresh(); // a row outside the top 10 may move in, or one drop out
}

let boardTimer = null;
function scheduleBoardRefresh() {
  clearTimeout(boardTimer);
  boardTimer = setTimeout(() => loadBoard().catch((e) => showError('Leaderboard', e)), 200);
}

async function loadBoard() {
  const gen = ++state.boardGen;
  const list = await tables.listRows({
    databaseId: DB, tableId: PROFILES, queries: [Query.orderDesc('balance'), Query.limit(10)], total: false,
  });
  if (gen !== state.boardGen) return; // a later fetch is under way
  const next = new Map();
  for (const row of list.rows) {
    const known = state.board.get(row.$id);
    next.set(row.$id, known && !newer(row, known) ? known : row);
  }
  state.board = next;
  renderBoard();
}

function renderBoard() {
  const rows = [...state.board.values()]
    .sort((a, b) => b.balance - a.balance || a.username.localeCompare(b.username))
    .slice(0, 10);
  const ol = $('leaderboard');
  ol.replaceChildren(...rows.map((row, i) => {
    const li = document.createElement('li');
    li.dataset.testid = 'leaderboard-row';
    li.dataset.userId = row.$id;
    li.dataset.balance = String(row.balance);
    if (row.$id === state.me?.$id) li.classList.add('me');
    li.append(
      span('lb-rank', `${i + 1}`),
      span('lb-name', row.username, 'leaderboard-name'),
      span('lb-balance', row.balance.toLocaleString('en-US'), 'leaderboard-balance'),
    );
    return li;
  }));
  $('leaderboard-empty').hidden = rows.length > 0;
}

function span(cls, text, testid) {
  const s = document.createElement('span');
  s.className = cls;
  s.textContent = text;
  if (testid) s.dataset.testid = testid;
  return s;
}

// ---------------------------------------------------------------- games

async function execute(functionId, body, label) {
  const out = $('game-result');
  const buttons = document.querySelectorAll('button.play, #daily-bonus');
  buttons.forEach((b) => { b.disabled = true; });
  out.textContent = `${label}…`;
  out.dataset.status = 'pending';
  try {
    const ex = await functions.createExecution({ functionId, body: JSON.stringify(body), async: false });
    let answer;
    try { answer = JSON.parse(ex.responseBody); } catch { answer = ex.responseBody; }
    out.textContent = `${label} → ${ex.responseStatusCode}\n${JSON.stringify(answer, null, 2)}`;
    out.dataset.status = String(ex.responseStatusCode);
    if (ex.status === 'failed' || ex.responseStatusCode >= 400) {
      const why = [
        answer?.error ?? `status ${ex.responseStatusCode}`,
        answer?.next_claim_ms && `next claim at ${new Date(answer.next_claim_ms).toLocaleString()}`,
      ].filter(Boolean).join(', ');
      showError(label, new Error(why));
    }
  } catch (e) {
    out.textContent = `${label} failed: ${e.message}`;
    out.dataset.status = 'error';
    showError(label, e);
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
  }
}

function bet() {
  const n = Number($('bet').value);
  if (!Number.isInteger(n) || n < 1) throw new Error('the bet must be a whole number of at least 1');
  return n;
}

for (const button of document.querySelectorAll('button.play')) {
  button.addEventListener('click', () => {
    const game = button.dataset.game;
    let body;
    try {
      body = { game_type: game, bet_amount: bet() };
    } catch (e) {
      showError('Bet', e);
      return;
    }
    if (game === 'coinflip') body.choice = $('coinflip-choice').value;
    if (game === 'roulette') {
      const c = $('roulette-choice').value;
      body.choice = /^\d+$/.test(c) ? Number(c) : c;
    }
    execute('processGameResult', body, game);
  });
}
for (let n = 0; n <= 36; n++) $('roulette-choice').append(new Option(`number ${n} (36×)`, String(n)));
$('daily-bonus').addEventListener('click', () => execute('dailyBonus', {}, 'daily bonus'));

function toastGame(row) {
  if (state.toasts.has(row.$id)) return;
  state.toasts.add(row.$id);
  const win = row.outcome === 'win';
  const net = row.win_amount - row.bet_amount;
  const text = `${row.game_type}: ${win ? 'win' : 'lose'} · bet ${row.bet_amount} → ${win ? `paid ${row.win_amount}` : 'nothing'} (${net >= 0 ? '+' : ''}${net})`;
  const toast = document.createElement('div');
  toast.className = `toast ${win ? 'win' : 'lose'}`;
  toast.dataset.testid = 'toast';
  toast.dataset.gameId = row.$id;
  toast.dataset.outcome = row.outcome;
  toast.textContent = text;
  toast.addEventListener('click', () => toast.remove());
  $('toasts').prepend(toast);
  setTimeout(() => toast.remove(), TOAST_MS);
}

// ---------------------------------------------------------------- chat

const seqOf = (row) => Number(row.$sequence ?? 0);

function addChat(row) {
  if (state.deleted.has(row.$id)) return; // already deleted (e.g. by moderation)
  const known = state.chat.get(row.$id);
  if (known && !newer(row, known)) return;
  state.chat.set(row.$id, row);
  renderChat();
}

function removeChat(id) {
  state.deleted.add(id);
  if (state.chat.delete(id)) renderChat();
}

async function loadChat() {
  const list = await tables.listRows({
    databaseId: DB, tableId: CHAT, queries: [Query.orderDesc('$sequence'), Query.limit(CHAT_KEEP)], total: false,
  });
  // A message we show inside the snapshot's range but absent from it was
  // deleted while we were not listening; newer ones may simply be newer.
  const ids = new Set(list.rows.map((r) => r.$id));
  const seqs = list.rows.map(seqOf);
  const max = Math.max(...seqs);
  const min = list.rows.length < CHAT_KEEP ? -Infinity : Math.min(...seqs);
  for (const [id, row] of state.chat) {
    if (!ids.has(id) && seqOf(row) <= max && seqOf(row) >= min) state.chat.delete(id);
  }
  for (const row of list.rows) addChat(row);
  renderChat();
}

function renderChat() {
  const ul = $('chat-list');
  const atBottom = ul.scrollHeight - ul.scrollTop - ul.clientHeight < 40;
  const rows = [...state.chat.values()].sort((a, b) => seqOf(a) - seqOf(b));
  for (const old of rows.slice(0, Math.max(0, rows.length - CHAT_KEEP))) state.chat.delete(old.$id);
  ul.replaceChildren(...rows.slice(-CHAT_KEEP).map((row) => {
    const li = document.createElement('li');
    li.dataset.testid = 'chat-message';
    li.dataset.id = row.$id;
    li.dataset.userId = row.user_id;
    if (row.user_id === state.me?.$id) li.classList.add('me');
    const time = document.createElement('time');
    time.dateTime = row.$createdAt;
    time.textContent = new Date(row.$createdAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    li.append(time, span('chat-user', row.username, 'chat-user'), span('chat-text', row.text, 'chat-text'));
    return li;
  }));
  if (atBottom) ul.scrollTop = ul.scrollHeight;
}

$('chat-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const input = $('chat-input');
  const text = input.value.trim();
  if (!text) return;
  $('chat-send').disabled = true;
  try {
    const row = await tables.createRow({
      databaseId: DB, tableId: CHAT, rowId: ID.unique(),
      data: { user_id: state.me.$id, username: displayName(), text },
    });
    input.value = '';
    addChat(row);
  } catch (err) {
    showError('Sending your message', err);
  } finally {
    $('chat-send').disabled = false;
  }
});

// ---------------------------------------------------------------- start

async function refreshAll() {
  await Promise.all([loadProfile(), loadBoard(), loadChat()]);
}

async function signIn() {
  try {
    return await account.get();
  } catch (e) {
    if (e?.code !== 401) throw e;
  }
  await account.createAnonymousSession();
  return account.get();
}

async function main() {
  setConnection('connecting');
  state.me = await signIn();
  renderMe();
  for (const el of document.querySelectorAll('#name-input, #name-save, #chat-input, #chat-send, button.play, #daily-bonus')) {
    el.disabled = false;
  }
  if (!state.me.name) $('name-input').focus();
  // Subscribe first (the socket needs the session), then take the snapshot;
  // onSubscribed() takes it again once the server has the subscriptions.
  await Promise.all([subscribe(), refreshAll()]);
  document.body.dataset.ready = 'true';
}

main().catch((e) => {
  setConnection('offline', e?.message);
  showError('Start-up', e);
});
