// The casino demo in headless Chromium (Debian's), against the real server
// started from examples/casino/arcade.toml: two browser contexts are two
// players, Alice (A) and Bob (B), each with their own anonymous session.
//
// Everything is asserted on what the pages show. Waits are Playwright's
// auto-waiting locators and waitForFunction with generous timeouts (the
// machine may be small and busy), never fixed sleeps. An init script records
// every chat message and toast the page ever renders, so a message that is
// shown and then removed by moderation can be proven to have appeared.
//
// Set up with scripts/browser-setup.sh (Chromium, playwright-core, the
// vendored SDK) and scripts/build-functions.sh; run with
//   node --test --test-force-exit tests/browser/
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { startCasino, missingPrerequisites, CHROMIUM } from './harness.mjs';

const WAIT = 45_000; // for anything that crosses the server and realtime
const testOptions = { timeout: 240_000 };

let casino;
let browser;
let alice;
let bob;

/** What the page renders, recorded from the start (see the file comment). */
function recordRenders() {
  window.__seen = { chat: [], toasts: [] };
  document.addEventListener('DOMContentLoaded', () => {
    new MutationObserver((records) => {
      for (const r of records) {
        for (const n of r.addedNodes) {
          if (!(n instanceof HTMLElement)) continue;
          if (n.dataset.testid === 'chat-message') {
            window.__seen.chat.push({ id: n.dataset.id, text: n.querySelector('[data-testid=chat-text]')?.textContent });
          }
          if (n.dataset.testid === 'toast') {
            window.__seen.toasts.push({ gameId: n.dataset.gameId, outcome: n.dataset.outcome, text: n.textContent });
          }
        }
      }
    }).observe(document.body, { childList: true, subtree: true });
  });
}

/** A new player: own browser context (cookies, storage), page loaded and live, name chosen. */
async function openPlayer(name) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addInitScript(recordRenders);
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(casino.pageUrl);
  await page.locator('[data-testid=connection][data-state=live]').waitFor({ timeout: WAIT });
  const userId = await page.locator('body[data-user]').getAttribute('data-user', { timeout: WAIT });
  assert.match(userId, /^[a-zA-Z0-9._-]{1,36}$/);
  await page.locator('[data-testid=name-input]').fill(name);
  await page.locator('[data-testid=name-save]').click();
  // The account name is saved when the page shows it as the field's placeholder.
  await page.locator(`[data-testid=name-input][placeholder="${name}"]`).waitFor({ state: 'attached', timeout: WAIT });
  // A reload would lose this marker: "live" must mean without reloading.
  await page.evaluate(() => { window.__sameDocument = true; });
  return { name, context, page, userId, pageErrors };
}

/** Click a game (or bonus) button and return the JSON answer the page shows. */
async function play(player, button) {
  const { page } = player;
  await page.locator(`[data-testid=${button}]`).click();
  const result = page.locator('[data-testid=game-result]');
  // The click sets data-status to "pending" synchronously; wait for the answer.
  await page.locator('[data-testid=game-result]:not([data-status="pending"])').waitFor({ timeout: WAIT });
  const text = await result.textContent();
  assert.equal(await result.getAttribute('data-status'), '200', text);
  return JSON.parse(text.slice(text.indexOf('\n') + 1));
}

const leaderboardRow = (page, userId) => page.locator(`[data-testid=leaderboard-row][data-user-id="${userId}"]`);
const chatMessage = (page, text) => page.locator('[data-testid=chat-message]', { hasText: text });

async function sendChat(player, text) {
  await player.page.locator('[data-testid=chat-input]').fill(text);
  await player.page.locator('[data-testid=chat-send]').click();
}

/** The moderateChat execution for this chat row, once it has finished (server key). */
async function moderation(rowId) {
  const deadline = Date.now() + WAIT;
  for (;;) {
    const list = await casino.api('GET', '/functions/moderateChat/executions');
    const ex = list.executions.find((e) => e.logs.includes(`message ${rowId} `));
    if (ex && ['completed', 'failed'].includes(ex.status)) return ex;
    if (Date.now() > deadline) {
      const seen = list.executions.map((e) => [e.trigger, e.status, e.logs, e.errors]);
      throw new Error(`no finished moderateChat execution for ${rowId}: ${JSON.stringify(seen)}`);
    }
    await new Promise((r) => setTimeout(r, 250)); // polling the server, not waiting for the page
  }
}

before(async () => {
  const missing = missingPrerequisites();
  if (missing.length) throw new Error(`the browser test is not set up:\n${missing.join('\n')}`);
  casino = await startCasino();
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  alice = await openPlayer('Alice');
  bob = await openPlayer('Bob');
});

after(async () => {
  await browser?.close();
  await casino?.stop();
});

test('the page is served by Arcade and signs each context in as its own player', testOptions, async () => {
  assert.notEqual(alice.userId, bob.userId);
  for (const p of [alice, bob]) {
    assert.equal(await p.page.locator('[data-testid=user-id]').textContent(), p.userId);
    // No profile before the first round.
    await p.page.locator('[data-testid=no-profile]').waitFor({ state: 'visible', timeout: WAIT });
    assert.equal(await p.page.locator('[data-testid=balance]').getAttribute('data-balance'), '');
  }
  assert.equal(await leaderboardRow(bob.page, alice.userId).count(), 0, 'Alice is not on the board before playing');
});

test('a round played by Alice shows her result and balance, and updates the leaderboard in Bob\'s page live', testOptions, async () => {
  const first = await play(alice, 'play-coinflip');
  assert.ok(['win', 'lose'].includes(first.outcome));
  assert.equal(first.balance, first.outcome === 'win' ? 1010 : 990);

  // Alice: her balance (from realtime) and a notification for this round.
  await alice.page.locator(`[data-testid=balance][data-balance="${first.balance}"]`).waitFor({ timeout: WAIT });
  await alice.page.locator('[data-testid=no-profile]').waitFor({ state: 'hidden', timeout: WAIT });
  await alice.page.waitForFunction((id) => window.__seen.toasts.some((t) => t.gameId === id), first.game_id, { timeout: WAIT });
  const toast = await alice.page.evaluate((id) => window.__seen.toasts.find((t) => t.gameId === id), first.game_id);
  assert.equal(toast.outcome, first.outcome);
  assert.match(toast.text, new RegExp(`^coinflip: ${first.outcome}`));

  // Bob: Alice appears on his leaderboard, under her chosen name, with her balance.
  const row = leaderboardRow(bob.page, alice.userId);
  await bob.page.locator(`[data-testid=leaderboard-row][data-user-id="${alice.userId}"][data-balance="${first.balance}"]`)
    .filter({ hasText: 'Alice' }).waitFor({ timeout: WAIT });
  assert.equal(await row.locator('[data-testid=leaderboard-name]').textContent(), 'Alice');
  assert.equal(await row.locator('[data-testid=leaderboard-balance]').textContent(), first.balance.toLocaleString('en-US'));

  // A second round (a coin flip always moves the balance) changes it in Bob's page again.
  const second = await play(alice, 'play-coinflip');
  assert.notEqual(second.balance, first.balance);
  await bob.page.locator(`[data-testid=leaderboard-row][data-user-id="${alice.userId}"][data-balance="${second.balance}"]`)
    .waitFor({ timeout: WAIT });
  await alice.page.locator(`[data-testid=balance][data-balance="${second.balance}"]`).waitFor({ timeout: WAIT });

  // Bob plays too: both are on both boards, ordered by balance.
  const bobs = await play(bob, 'play-slots');
  for (const p of [alice, bob]) {
    await p.page.locator(`[data-testid=leaderboard-row][data-user-id="${bob.userId}"][data-balance="${bobs.balance}"]`)
      .filter({ hasText: 'Bob' }).waitFor({ timeout: WAIT });
    const balances = await p.page.locator('[data-testid=leaderboard-row]').evaluateAll((rows) => rows.map((r) => Number(r.dataset.balance)));
    assert.deepEqual(balances, [...balances].sort((a, b) => b - a), 'sorted by balance');
  }

  // Game history is private: Bob was never notified of Alice's rounds, and the other way round.
  const bobToasts = await bob.page.evaluate(() => window.__seen.toasts.map((t) => t.gameId));
  assert.ok(!bobToasts.includes(first.game_id) && !bobToasts.includes(second.game_id), JSON.stringify(bobToasts));
  await bob.page.waitForFunction((id) => window.__seen.toasts.some((t) => t.gameId === id), bobs.game_id, { timeout: WAIT });
  assert.ok(!(await alice.page.evaluate(() => window.__seen.toasts.map((t) => t.gameId))).includes(bobs.game_id));

  for (const p of [alice, bob]) {
    assert.equal(await p.page.evaluate(() => window.__sameDocument), true, `${p.name}'s page was not reloaded`);
    assert.equal(await p.page.locator('[data-testid=error]').isVisible(), false, await p.page.locator('[data-testid=error-text]').textContent());
  }
});

test('a chat message with a blocked word appears in both pages and then vanishes from both; a clean one stays', testOptions, async () => {
  const flagged = `Free coins here, totally not a SCAM (${Date.now()})`;
  await sendChat(alice, flagged);
  // It was shown in both pages...
  for (const p of [alice, bob]) {
    await p.page.waitForFunction((t) => window.__seen.chat.some((m) => m.text === t), flagged, { timeout: WAIT });
  }
  // ...and is then removed from both, live, by the moderateChat function's delete.
  for (const p of [alice, bob]) {
    await chatMessage(p.page, flagged).waitFor({ state: 'detached', timeout: WAIT });
  }
  const flaggedId = (await alice.page.evaluate((t) => window.__seen.chat.find((m) => m.text === t).id, flagged));
  const deleted = await moderation(flaggedId);
  assert.equal(deleted.trigger, 'event');
  assert.match(deleted.logs, /deleted message .* blocked "(free coins|scam)"/);
  const rows = await casino.api('GET', '/tablesdb/tarkov_casino/tables/chat_messages/rows');
  assert.ok(!rows.rows.some((r) => r.$id === flaggedId), 'the row is gone on the server');

  // A clean message (from Bob this time) shows in both and stays after moderation has looked at it.
  const clean = `good luck at the tables, no cheaters please (${Date.now()})`;
  await sendChat(bob, clean);
  for (const p of [alice, bob]) await chatMessage(p.page, clean).waitFor({ timeout: WAIT });
  const cleanId = await bob.page.locator('[data-testid=chat-message]', { hasText: clean }).getAttribute('data-id');
  const kept = await moderation(cleanId);
  assert.match(kept.logs, /passed/);
  for (const p of [alice, bob]) {
    assert.equal(await chatMessage(p.page, clean).count(), 1, `${p.name} still shows the clean message`);
    assert.equal(await chatMessage(p.page, flagged).count(), 0, `${p.name} does not show the flagged message`);
    const author = chatMessage(p.page, clean).locator('[data-testid=chat-user]');
    assert.equal(await author.textContent(), 'Bob');
  }
});

test('the daily bonus credits the balance live, and a second claim shows the cooldown error', testOptions, async () => {
  const before = Number(await bob.page.locator('[data-testid=balance]').getAttribute('data-balance'));
  const claim = await play(bob, 'daily-bonus');
  assert.equal(claim.bonus, 100);
  assert.equal(claim.balance, before + 100);
  await bob.page.locator(`[data-testid=balance][data-balance="${claim.balance}"]`).waitFor({ timeout: WAIT });
  await alice.page.locator(`[data-testid=leaderboard-row][data-user-id="${bob.userId}"][data-balance="${claim.balance}"]`)
    .waitFor({ timeout: WAIT });

  await bob.page.locator('[data-testid=daily-bonus]').click();
  await bob.page.locator('[data-testid=game-result][data-status="429"]').waitFor({ timeout: WAIT });
  await bob.page.locator('[data-testid=error]').waitFor({ state: 'visible', timeout: WAIT });
  assert.match(await bob.page.locator('[data-testid=error-text]').textContent(), /^daily bonus: cooldown, next claim at /);
  assert.deepEqual(alice.pageErrors, []);
  assert.deepEqual(bob.pageErrors, []);
});
