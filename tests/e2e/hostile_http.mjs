// Hostile input over HTTP and WebSocket (the hardening issue, items numbered as there), with
// the in-tree fake MCP server and a fake HTTP upstream that stalls or streams forever. Every
// case ends in the right status or JSON-RPC error, and manifold keeps serving.
// Usage: node hostile_http.mjs <manifold> <fake_mcp_server>
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import crypto from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appears, run, start } from './lib.mjs';

const manifold = process.argv[2];
const fake = process.argv[3];
const q = JSON.stringify;
const dir = mkdtempSync(join(tmpdir(), 'manifold-hostile-'));

// manifold serving `yaml` over HTTP; stderr collected; `wrap` runs it under another command.
async function serve(name, yaml, wrap = []) {
  const config = join(dir, `${name}.yaml`);
  writeFileSync(config, yaml);
  const portFile = join(dir, `${name}.port`);
  const argv = [...wrap, manifold, '--log-level', 'info', 'serve', '--config', config,
    '--listen', '127.0.0.1:0', '--port-file', portFile];
  const m = start(argv);
  await Promise.race([appears(portFile), m.exited.then(() => { throw new Error(`${name}: manifold exited: ${m.stderr()}`); })]);
  return { ...m, port: Number(readFileSync(portFile, 'utf8')) };
}

const fakeServer = (name, extra = '') => `  ${name}:\n    command: ${q(fake)}\n    args: [--name, ${name}]\n${extra}`;

function request(port, { method = 'POST', path = '/mcp', headers = {}, body = '' }) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      let data = '';
      res.on('data', (d) => { data += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const mcpHeaders = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const initBody = (id = 1) => q({ jsonrpc: '2.0', id, method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'hostile', version: '0' } } });

async function session(port) {
  const r = await request(port, { headers: mcpHeaders, body: initBody() });
  assert.equal(r.status, 200, r.body);
  const sid = r.headers['mcp-session-id'];
  await request(port, { headers: { ...mcpHeaders, 'mcp-session-id': sid },
    body: q({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
  return sid;
}

async function rpc(port, sid, id, method, params = {}) {
  const r = await request(port, { headers: { ...mcpHeaders, 'mcp-session-id': sid },
    body: q({ jsonrpc: '2.0', id, method, params }) });
  if (r.headers['content-type']?.startsWith('text/event-stream')) {
    const events = r.body.split('\n').filter((l) => l.startsWith('data: ') && l.length > 6).map((l) => JSON.parse(l.slice(6)));
    return { status: r.status, message: events.find((e) => e.id === id) };
  }
  return { status: r.status, message: r.body ? JSON.parse(r.body) : undefined };
}

const deep = (n) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);

// A raw WebSocket client: the handshake by hand, masked text frames out, frames in (or none
// read at all: `pause`).
function rawWebSocket(port, path = '/ws') {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const key = crypto.randomBytes(16).toString('base64');
    sock.once('error', reject);
    sock.on('connect', () => sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mcp\r\n\r\n`));
    let buffer = Buffer.alloc(0);
    const messages = [];
    const onData = (d) => {
      buffer = Buffer.concat([buffer, d]);
      if (!sock.upgraded) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.subarray(0, end).toString();
        buffer = buffer.subarray(end + 4);
        sock.upgraded = true;
        sock.status = Number(head.split(' ')[1]);
        resolve(api);
      }
      while (buffer.length >= 2) {
        let len = buffer[1] & 0x7f;
        let off = 2;
        if (len === 126) { if (buffer.length < 4) return; len = buffer.readUInt16BE(2); off = 4; }
        else if (len === 127) { if (buffer.length < 10) return; len = Number(buffer.readBigUInt64BE(2)); off = 10; }
        if (buffer.length < off + len) return;
        const opcode = buffer[0] & 0x0f;
        if (opcode === 1) messages.push(JSON.parse(buffer.subarray(off, off + len).toString()));
        buffer = buffer.subarray(off + len);
      }
    };
    sock.on('data', onData);
    const closed = new Promise((r) => sock.on('close', r));
    const api = {
      sock, messages, closed,
      get status() { return sock.status; },
      send(text) {
        const payload = Buffer.from(text);
        const mask = crypto.randomBytes(4);
        let header;
        if (payload.length < 126) header = Buffer.from([0x81, 0x80 | payload.length]);
        else if (payload.length < 65536) { header = Buffer.alloc(4); header[0] = 0x81; header[1] = 0xfe; header.writeUInt16BE(payload.length, 2); }
        else { header = Buffer.alloc(10); header[0] = 0x81; header[1] = 0xff; header.writeBigUInt64BE(BigInt(payload.length), 2); }
        for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i % 4];
        sock.write(Buffer.concat([header, mask, payload]));
      },
      async next(predicate, ms = 15000) {
        const until = Date.now() + ms;
        for (;;) {
          const i = messages.findIndex(predicate);
          if (i >= 0) return messages.splice(i, 1)[0];
          if (Date.now() > until) throw new Error('no such WebSocket message');
          await new Promise((r) => sock.once('data', r));
        }
      },
    };
  });
}

// An HTTP upstream that answers the handshake and lists two tools, then misbehaves: `stall`
// never answers, `firehose` streams one endless SSE event.
function badUpstream() {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      if (req.method !== 'POST') { res.writeHead(405).end(); return; }
      const msg = JSON.parse(body);
      const reply = (result) => {
        res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 's1' });
        res.end(q({ jsonrpc: '2.0', id: msg.id, result }));
      };
      if (msg.method === 'initialize') {
        reply({ protocolVersion: '2025-11-25', capabilities: { tools: {} }, serverInfo: { name: 'bad', version: '0' } });
      } else if (msg.id === undefined) {
        res.writeHead(202).end();
      } else if (msg.method === 'tools/list') {
        reply({ tools: [{ name: 'stall', inputSchema: { type: 'object' } }, { name: 'firehose', inputSchema: { type: 'object' } }] });
      } else if (msg.params?.name === 'stall') {
        server.stalled = (server.stalled ?? 0) + 1;  // never answered
      } else if (msg.params?.name === 'firehose') {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'mcp-session-id': 's1' });
        const chunk = 'data: ' + 'x'.repeat(65536) + '\n';
        const pump = () => { while (!res.destroyed && res.write(chunk)); if (!res.destroyed) res.once('drain', pump); };
        res.on('close', () => { server.firehoseClosed = true; });
        pump();
      } else {
        res.writeHead(404).end();
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// Opens a legacy HTTP+SSE session: resolves with {endpoint, events, stream}.
function legacySession(port) {
  return new Promise((resolve, reject) => {
    const events = [];
    const req = http.get({ host: '127.0.0.1', port, path: '/sse', headers: { accept: 'text/event-stream' }, agent: false }, (res) => {
      let buf = '';
      res.on('data', (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const event = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = event.split('\n').find((l) => l.startsWith('data: '))?.slice(6);
          if (event.includes('event: endpoint')) resolve({ endpoint: data, events, stream: res });
          else if (data) events.push(JSON.parse(data));
        }
      });
    });
    req.on('error', reject);
  });
}

// HOSTILE_ONLY=7,10 runs only those items (to show a single regression).
const only = process.env.HOSTILE_ONLY?.split(',');
// HOSTILE_SKIP=7 leaves items out (set by CTest for sanitizer builds: see tests/CMakeLists.txt).
const skipped = process.env.HOSTILE_SKIP?.split(',') ?? [];
const want = (item) => (!only || only.includes(item)) && !skipped.includes(item);

await run('hostile_http', async () => {
  // 1. Nesting 85,000 levels deep in an unauthenticated initialize, on /message and on a WebSocket.
  if (want('1')) {
    console.log('hostile_http: item 1');
    const m = await serve('deep', `servers:\n${fakeServer('alpha')}`);
    const body = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":${deep(85000)}}`;
    const r = await request(m.port, { headers: mcpHeaders, body });
    assert.equal(r.status, 400, r.body);
    assert.equal(JSON.parse(r.body).error.code, -32700);
    const legacy = await legacySession(m.port);
    const posted = await request(m.port, { path: legacy.endpoint, headers: { 'content-type': 'application/json' }, body });
    assert.equal(posted.status, 400, posted.body);
    assert.equal(JSON.parse(posted.body).error.code, -32700);
    legacy.stream.destroy();
    const ws = await rawWebSocket(m.port);
    assert.equal(ws.status, 101);
    ws.send(body);
    const refused = await ws.next((msg) => msg.error);
    assert.equal(refused.error.code, -32700);
    ws.send(initBody(2));
    assert.equal((await ws.next((msg) => msg.id === 2)).result.serverInfo.name, 'manifold');
    ws.sock.destroy();
    assert.equal((await request(m.port, { method: 'GET', path: '/healthz' })).status, 200);
    await m.stop();
  }

  // 13. WebSocket sessions count toward http.max_sessions.
  if (want('13')) {
    console.log('hostile_http: item 13');
    const m = await serve('max', `http:\n  max_sessions: 2\nservers:\n${fakeServer('alpha')}`);
    const a = await rawWebSocket(m.port);
    a.send(initBody(1));
    await a.next((msg) => msg.id === 1);
    await session(m.port);
    const third = await rawWebSocket(m.port);
    assert.equal(third.status, 503, 'a third session (over WebSocket) is refused');
    const fourth = await request(m.port, { headers: mcpHeaders, body: initBody() });
    assert.equal(fourth.status, 503);
    a.sock.destroy();
    third.sock.destroy();
    await m.stop();
  }

  // 15. /readyz refuses foreign Host and Origin; malformed framing gets 400; a huge
  // Last-Event-ID is a 400, not a dropped connection.
  if (want('15')) {
    console.log('hostile_http: item 15');
    const m = await serve('small', `servers:\n${fakeServer('alpha')}`);
    await m.logged('catalog built');  // ready: /readyz answers 200 from now on
    assert.equal((await request(m.port, { method: 'GET', path: '/readyz', headers: { host: 'evil.example' } })).status, 403);
    assert.equal((await request(m.port, { method: 'GET', path: '/readyz', headers: { origin: 'http://evil.example' } })).status, 403);
    assert.equal((await request(m.port, { method: 'GET', path: '/readyz' })).status, 200);
    const malformed = await new Promise((resolve) => {
      const sock = net.connect(m.port, '127.0.0.1', () => sock.write(
        `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ten\r\n\r\n`));
      let data = '';
      sock.on('data', (d) => { data += d; });
      sock.on('close', () => resolve(data));
    });
    assert.match(malformed, /^HTTP\/1\.1 400/);
    const sid = await session(m.port);
    const resume = await request(m.port, { method: 'GET', headers: { accept: 'text/event-stream',
      'mcp-session-id': sid, 'last-event-id': 's1:' + '9'.repeat(40) } });
    assert.equal(resume.status, 400);
    await m.stop();
  }

  // 11. Legacy HTTP+SSE: a client that reads its stream late loses no response.
  if (want('11')) {
    console.log('hostile_http: item 11');
    const m = await serve('legacy', `servers:\n${fakeServer('alpha')}`);
    const { endpoint, events, stream } = await legacySession(m.port);
    const post = (body) => request(m.port, { path: endpoint, headers: { 'content-type': 'application/json' }, body: q(body) });
    await post(JSON.parse(initBody(0)));
    await post({ jsonrpc: '2.0', method: 'notifications/initialized' });
    stream.pause();  // the client stops reading its stream
    const n = 3000;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    await Promise.all(Array.from({ length: n }, (_, i) => new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: m.port, method: 'POST', path: endpoint, agent,
        headers: { 'content-type': 'application/json' } }, (res) => { res.resume(); res.on('end', resolve); });
      req.on('error', reject);
      req.end(q({ jsonrpc: '2.0', id: i + 1, method: 'tools/call', params: { name: 'alpha__echo', arguments: { text: `r${i + 1}` } } }));
    })));
    stream.resume();
    const ended = new Promise((r) => stream.once('end', r));
    while (events.filter((e) => e.id > 0).length < n && !stream.readableEnded) {
      await Promise.race([new Promise((r) => stream.once('data', r)), ended]);
    }
    const answered = new Set(events.filter((e) => e.id > 0).map((e) => e.id));
    assert.equal(answered.size, n, `every response arrives (${answered.size} of ${n})`);
    agent.destroy();
    stream.destroy();
    await m.stop();
  }

  // 8. A WebSocket client that never reads: disconnected at the queue bound; the server lives.
  if (want('8')) {
    console.log('hostile_http: item 8');
    const m = await serve('ws-stall', `limits:\n  max_message_size: 2MiB\n  max_queued: 4MiB\nservers:\n${fakeServer('alpha')}`);
    const ws = await rawWebSocket(m.port);
    ws.send(initBody(1));
    await ws.next((msg) => msg.id === 1);
    ws.sock.pause();
    for (let i = 0; i < 40; i++) {
      ws.send(q({ jsonrpc: '2.0', id: 100 + i, method: 'tools/call', params: { name: 'alpha__big', arguments: { bytes: 1000000 } } }));
    }
    await m.logged('WebSocket peer stopped reading');
    ws.sock.destroy();
    assert.equal((await request(m.port, { method: 'GET', path: '/healthz' })).status, 200);
    await m.stop();
  }

  // 10. An HTTP upstream that stalls: each call ends at its deadline and no socket is left
  // behind; one whose SSE event never ends fails at once at the size limit.
  if (want('10')) {
    console.log('hostile_http: item 10');
    const upstream = await badUpstream();
    const url = `http://127.0.0.1:${upstream.address().port}/mcp`;
    // `hose` waits long: its call must fail at the size limit, not at its deadline.
    // (No breaker: every one of the 20 calls is to reach its deadline.)
    const m = await serve('stall', `limits:\n  max_message_size: 1MiB\nservers:\n  bad:\n    url: ${url}\n    transport: http\n    timeout: 300ms\n    breaker: false\n` +
      `  hose:\n    url: ${url}\n    transport: http\n    timeout: 1h\n`);
    const sid = await session(m.port);
    const before = readdirSync(`/proc/${m.child.pid}/fd`).length;
    for (let i = 0; i < 20; i++) {
      const r = await rpc(m.port, sid, 10 + i, 'tools/call', { name: 'bad__stall' });
      assert.equal(r.message.error.code, -32001, JSON.stringify(r));
    }
    // Each stalled request's connection closes at its deadline: the descriptors do not grow
    // with the number of calls (a few may still be closing).
    const after = readdirSync(`/proc/${m.child.pid}/fd`).length;
    assert.ok(after <= before + 5, `descriptors grew from ${before} to ${after}`);
    const fire = await rpc(m.port, sid, 99, 'tools/call', { name: 'hose__firehose' });
    assert.equal(fire.message.error.code, -32005, JSON.stringify(fire));
    assert.match(fire.message.error.message, /over the limit/);
    await m.stop();
    upstream.close();
  }

  // 7. Out of file descriptors: accept() failures shed the connection, back off and are
  // logged once per interval, never in a busy loop; manifold recovers when fds free up.
  if (want('7')) {
    console.log('hostile_http: item 7');
    const m = await serve('emfile', `servers:\n${fakeServer('alpha')}`, ['prlimit', '--nofile=40:40', '--']);
    // The connections manifold still holds open on its port (prlimit execs manifold, so
    // m.child.pid is manifold): its socket descriptors that /proc/<pid>/net/tcp lists on
    // that port in any state but LISTEN.
    const pid = m.child.pid;
    const heldByManifold = () => {
      const mine = new Set();
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        let link = '';
        try { link = readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { continue; }
        const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
        if (inode) mine.add(inode);
      }
      return readFileSync(`/proc/${pid}/net/tcp`, 'utf8').split('\n').slice(1)
        .map((l) => l.trim().split(/\s+/))
        .filter((c) => c.length > 9 && parseInt(c[1].split(':')[1], 16) === m.port && c[3] !== '0A' && mine.has(c[9]))
        .length;
    };
    const held = [];
    let closedByServer = 0;
    let enoughShed;
    const shedSome = new Promise((r) => { enoughShed = r; });
    for (let i = 0; i < 80; i++) {
      held.push(await new Promise((resolve) => {
        const s = net.connect(m.port, '127.0.0.1', () => resolve(s));
        s.on('error', () => resolve(s));
        s.on('close', () => { if (++closedByServer === 20) enoughShed(); });
        s.resume();
      }));
    }
    await m.logged('accept failed');
    // Connections beyond the descriptors manifold has are shed (closed at once), one per
    // failed accept, with a back-off between; a busy loop would shed none and log thousands.
    await shedSome;
    const lines = m.stderr().split('\n').filter((l) => l.includes('accept failed')).length;
    assert.ok(lines <= 2, `accept failures logged ${lines} times`);
    for (const s of held) s.destroy();
    // Descriptors come back as manifold reads the end of each connection it had accepted;
    // until then a new connection would be shed too. Wait until it holds none (bounded).
    for (let i = 0; i < 500 && heldByManifold() > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(heldByManifold(), 0, 'manifold closed the connections it had accepted');
    const healthy = (await request(m.port, { method: 'GET', path: '/healthz' })).status === 200;
    assert.ok(healthy, 'manifold answers again once descriptors are free');
    await m.stop();
  }
});
rmSync(dir, { recursive: true, force: true });
process.exit();
