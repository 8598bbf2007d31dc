'use strict';
// The baseline of Arcade's realtime benchmark (BENCHMARKS.md, "Realtime"): a
// naive broadcast server in Node with the `ws` package, written the way a
// small game backend often starts out.
//
// It accepts the same connections as Arcade's /v1/realtime (channels in the
// URL, the session in the `a_session_<project>` cookie, `subscribe` messages)
// and, for every event POSTed to /publish, walks all its connections: for each
// one with a subscription on one of the event's channels it makes one
// permission check (one of the connection's roles among the event's read
// roles) and one JSON.stringify of the whole frame, then sends it.
//
// Sessions are not verified against a user store: `--roles FILE` maps each
// session secret to the roles Arcade gives that user (the benchmark writes it).
//
//   node server.js --roles FILE [--port 0] [--project local]
// prints `baseline listening on http://127.0.0.1:PORT` once it accepts.

const http = require('node:http');
const fs = require('node:fs');
const { WebSocketServer } = require('ws');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const port = Number(arg('port', '0'));
const project = arg('project', 'local');
const rolesFile = arg('roles', '');
const sessions = new Map(rolesFile ? Object.entries(JSON.parse(fs.readFileSync(rolesFile, 'utf8'))) : []);
const cookieName = `a_session_${project}`;

const clients = new Set();
const metrics = { events: 0, deliveries: 0, frames: 0, dispatchNanos: 0n, dispatchCpuMicros: 0 };
let seq = 0;

function sessionOf(req) {
  for (const part of (req.headers.cookie || '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === cookieName) return part.slice(eq + 1).trim();
  }
  return req.headers['x-appwrite-session'] || null;
}

function timestamp() {
  return new Date().toISOString().replace('Z', '+00:00');
}

function publish(ev) {
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  seq += 1;
  const channels = new Set(ev.channels);
  const time = timestamp();
  let sent = 0;
  for (const c of clients) {
    const matched = [];
    for (const s of c.subs) {
      if (s.channels.some((ch) => channels.has(ch))) matched.push(s.id);
    }
    if (matched.length === 0) continue;
    // One permission check per subscriber.
    if (!ev.roles.some((r) => r === 'any' || c.roles.includes(r))) continue;
    // One JSON.stringify per subscriber.
    const frame = JSON.stringify({
      type: 'event',
      data: { seq, events: ev.events, channels: ev.channels, timestamp: time, payload: ev.payload, subscriptions: matched },
    });
    c.ws.send(frame);
    sent += 1;
  }
  metrics.events += 1;
  metrics.deliveries += sent;
  metrics.frames += sent;
  metrics.dispatchNanos += process.hrtime.bigint() - started;
  const used = process.cpuUsage(cpu);
  metrics.dispatchCpuMicros += used.user + used.system;
}

function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/publish') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let ev;
      try {
        ev = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return sendJson(res, 400, { message: 'body is not JSON' });
      }
      publish(ev);
      sendJson(res, 201, { seq });
    });
    return;
  }
  if (req.method === 'GET' && req.url.startsWith('/v1/arcade/metrics')) {
    let subscriptions = 0;
    for (const c of clients) subscriptions += c.subs.length;
    return sendJson(res, 200, {
      realtime: {
        connections: clients.size,
        subscriptions,
        events: metrics.events,
        deliveries: metrics.deliveries,
        frames: metrics.frames,
        dispatchNanos: Number(metrics.dispatchNanos),
        // The process's CPU time during the publish loop (it runs synchronously on the one JS thread).
        dispatchCpuNanos: metrics.dispatchCpuMicros * 1000,
      },
    });
  }
  sendJson(res, 404, { message: 'not found' });
});

// The publishers keep their connections open across quiet pauses.
server.keepAliveTimeout = 0;

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 64000 });

server.on('upgrade', (req, socket, head) => {
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname !== '/v1/realtime' || url.searchParams.get('project') !== project) {
    socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, req, url));
});

function onConnection(ws, req, url) {
  const token = sessionOf(req);
  const roles = (token && sessions.get(token)) || ['any', 'guests'];
  const channels = url.searchParams.getAll('channels[]');
  const client = { ws, roles, subs: channels.length > 0 ? [{ id: 'url', channels }] : [] };
  clients.add(client);
  ws.send(JSON.stringify({ type: 'connected', data: { channels, user: null, seq } }));
  ws.on('message', (data) => {
    let msg;
    try {
      msg = JSON.parse(data.toString('utf8'));
    } catch {
      ws.send(JSON.stringify({ type: 'error', data: { code: 1003, message: 'Message format is not valid.' } }));
      return;
    }
    if (msg.type === 'ping') {
      ws.send(JSON.stringify({ type: 'pong' }));
    } else if (msg.type === 'subscribe' && Array.isArray(msg.data)) {
      for (const item of msg.data) {
        const id = item.subscriptionId || Math.random().toString(36).slice(2);
        client.subs = client.subs.filter((s) => s.id !== id);
        client.subs.push({ id, channels: Array.isArray(item.channels) ? item.channels : [] });
      }
      const subscriptions = client.subs.map((s) => ({ subscriptionId: s.id, channels: s.channels, queries: [] }));
      ws.send(JSON.stringify({ type: 'response', data: { to: 'subscribe', success: true, subscriptions } }));
    } else {
      ws.send(JSON.stringify({ type: 'error', data: { code: 1003, message: 'Message type is not valid.' } }));
    }
  });
  ws.on('close', () => clients.delete(client));
  ws.on('error', () => clients.delete(client));
}

server.listen(port, '127.0.0.1', () => {
  console.log(`baseline listening on http://127.0.0.1:${server.address().port}`);
});

function shutdown() {
  for (const c of clients) c.ws.terminate();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
