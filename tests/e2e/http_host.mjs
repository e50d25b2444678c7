// manifold as an HTTP server for hosts: the SDK client over Streamable HTTP, legacy HTTP+SSE
// and WebSocket, the Inspector CLI over HTTP, two sessions sharing one upstream, and every
// status code the transport rules prescribe.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { WebSocketClientTransport } from '@modelcontextprotocol/sdk/client/websocket.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { modules, node, referenceSetup, run, serveHttp } from './lib.mjs';

const text = (r) => r.content.filter((c) => c.type === 'text').map((c) => c.text).join('\n');

async function client(transport, name) {
  const c = new Client({ name, version: '1.0.0' }, { capabilities: { sampling: {} } });
  c.sampled = [];
  c.setRequestHandler(CreateMessageRequestSchema, async (req) => {
    c.sampled.push(req.params);
    return { role: 'assistant', model: name, content: { type: 'text', text: `sampled by ${name}` } };
  });
  await c.connect(transport);
  return c;
}

// A raw HTTP request (node:http lets tests set Host and send what a browser would not).
function raw(port, { method = 'POST', path = '/mcp', headers = {}, body = '' }) {
  return new Promise((resolve, reject) => {
    // agent: false — a fresh connection each time, never one the server closed while idle.
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      let data = '';
      res.on('data', (d) => { data += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    req.on('error', (e) => reject(new Error(`${method} ${path}: ${e.message}`)));
    req.end(body);
  });
}

// Announces a body over the 4 MiB limit; the server refuses it from the headers alone.
function oversized(port, sid) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.write(
      `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
      `Accept: application/json, text/event-stream\r\nMcp-Session-Id: ${sid}\r\n` +
      'Content-Length: 10000000\r\n\r\n'));
    let data = '';
    sock.on('data', (d) => { data += d; });
    sock.on('close', () => resolve(Number(data.split(' ')[1])));
    sock.on('error', reject);
  });
}

const json = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const init = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '0' } } });
const ping = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' });

await run('e2e_http_host', async () => {
  // everything gets an instance per host session, so its requests to hosts (sampling) are
  // routed exactly; memory and filesystem are shared.
  const setup = referenceSetup('http:\n  read_timeout: 500ms\ngroups:\n  readonly:\n    include: ["memory__read_graph", "memory__search_nodes", "everything__get-sum"]\n',
    { everything: '    isolation: session\n' });
  const server = await serveHttp(setup.config);
  try {
    // Streamable HTTP with the SDK client: list, call, progress, sampling.
    const a = await client(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`)), 'alpha');
    const { tools } = await a.listTools();
    assert.ok(tools.some((t) => t.name === 'everything__echo'));
    assert.equal(text(await a.callTool({ name: 'everything__echo', arguments: { message: 'over http' } })),
      'Echo: over http');
    const progress = [];
    await a.callTool({ name: 'everything__trigger-long-running-operation', arguments: { duration: 0.6, steps: 3 } },
      undefined, { onprogress: (p) => progress.push(p.progress) });
    assert.deepEqual(progress, [1, 2, 3], 'progress arrives on the request\'s own SSE stream');

    // Two sessions share the everything upstream: each sampling request reaches its own host.
    const b = await client(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`)), 'beta');
    const [ra, rb] = await Promise.all([
      a.callTool({ name: 'everything__trigger-sampling-request', arguments: { prompt: 'from alpha', maxTokens: 5 } }),
      b.callTool({ name: 'everything__trigger-sampling-request', arguments: { prompt: 'from beta', maxTokens: 5 } }),
    ]);
    assert.match(text(ra), /sampled by alpha/);
    assert.match(text(rb), /sampled by beta/);
    assert.equal(a.sampled.length, 1);
    assert.equal(b.sampled.length, 1);
    assert.match(JSON.stringify(a.sampled[0]), /from alpha/);
    assert.match(JSON.stringify(b.sampled[0]), /from beta/);
    await b.close();

    // A group is its own virtual server at /mcp/<group>.
    const ro = await client(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp/readonly`)), 'ro');
    assert.deepEqual((await ro.listTools()).tools.map((t) => t.name).sort(),
      ['everything__get-sum', 'memory__read_graph', 'memory__search_nodes']);
    await assert.rejects(ro.callTool({ name: 'everything__echo', arguments: { message: 'x' } }),
      (e) => e.code === -32602);
    await ro.close();
    assert.equal((await raw(server.port, { path: '/mcp/nope', headers: json, body: init })).status, 404);

    // Legacy HTTP+SSE (2024-11-05) and WebSocket.
    const legacy = await client(new SSEClientTransport(new URL(`${server.url}/sse`)), 'legacy');
    assert.equal(text(await legacy.callTool({ name: 'everything__get-sum', arguments: { a: 1, b: 2 } })),
      'The sum of 1 and 2 is 3.');
    await legacy.close();
    const ws = await client(new WebSocketClientTransport(new URL(`ws://127.0.0.1:${server.port}/ws`)), 'ws');
    assert.equal(text(await ws.callTool({ name: 'everything__get-sum', arguments: { a: 20, b: 22 } })),
      'The sum of 20 and 22 is 42.');
    await ws.close();

    // The Inspector CLI over Streamable HTTP.
    const home = join(setup.dir, 'home');
    mkdirSync(home, { recursive: true });
    const inspector = join(modules, '@modelcontextprotocol', 'inspector', 'clients', 'launcher', 'build', 'index.js');
    const insp = spawnSync(node, [inspector, '--cli', '--format', 'json', `${server.url}/mcp`, '--method',
      'tools/call', '--tool-name', 'everything__get-sum', '--tool-arg', 'a=2', 'b=40'],
    { env: { ...process.env, HOME: home }, encoding: 'utf8', timeout: 60_000 });
    assert.equal(insp.status, 0, insp.stderr);
    assert.equal(JSON.parse(insp.stdout.trim().split('\n').pop()).result.content[0].text, 'The sum of 2 and 40 is 42.');

    // Status codes.
    const p = server.port;
    assert.equal((await raw(p, { headers: { ...json, origin: 'http://evil.example' }, body: init })).status, 403);
    assert.equal((await raw(p, { headers: { ...json, host: 'evil.example' }, body: init })).status, 403);
    assert.equal((await raw(p, { headers: { ...json, origin: `http://localhost:${p}` }, body: init })).status, 200);
    assert.equal((await raw(p, { headers: { 'content-type': 'application/json' }, body: init })).status, 406);
    assert.equal((await raw(p, { headers: json, body: ping })).status, 400, 'missing session id');
    assert.equal((await raw(p, { headers: { ...json, 'mcp-session-id': 'nope' }, body: ping })).status, 404);
    const opened = await raw(p, { headers: json, body: init });
    const sid = opened.headers['mcp-session-id'];
    assert.match(sid, /^[0-9a-f]{32}$/);
    const s = { ...json, 'mcp-session-id': sid };
    assert.equal((await raw(p, { headers: s, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).status, 202);
    assert.equal((await raw(p, { headers: s, body: ping })).status, 200);
    // A call answered at once with nothing before it comes back as one JSON object; one that
    // sends progress first is a stream (below). "At once" is within manifold's quick-reply
    // window (1 s): this session's own everything instance starts on its first call, which
    // may take longer on a loaded machine and is then a stream. So: a few calls, each with
    // its own answer in either form, and the ones after the upstream is up come as JSON.
    const answerOf = (r) => (r.headers['content-type'].startsWith('text/event-stream')
      ? r.body.split('\n').filter((l) => l.startsWith('data: ') && l.length > 6).map((l) => JSON.parse(l.slice(6)))
        .find((m) => m.id !== undefined)
      : JSON.parse(r.body));
    let quick;
    for (let i = 0; i < 5 && !quick?.headers['content-type'].startsWith('application/json'); i++) {
      quick = await raw(p, { headers: s, body: JSON.stringify({ jsonrpc: '2.0', id: `q${i}`, method: 'tools/call',
        params: { name: 'everything__echo', arguments: { message: `fast${i}` } } }) });
      assert.equal(quick.status, 200);
      const answer = answerOf(quick);
      assert.equal(answer.id, `q${i}`);
      assert.equal(answer.result.content[0].text, `Echo: fast${i}`);
    }
    assert.match(quick.headers['content-type'], /^application\/json/);
    assert.equal((await raw(p, { headers: { ...s, 'mcp-protocol-version': '1999-01-01' }, body: ping })).status, 400);
    assert.equal((await raw(p, { headers: s, body: '{not json' })).status, 400);
    assert.equal(await oversized(p, sid), 413);
    assert.equal((await raw(p, { method: 'DELETE', headers: { 'mcp-session-id': sid } })).status, 200);
    assert.equal((await raw(p, { headers: s, body: ping })).status, 404, 'a deleted session is gone');
    assert.equal((await raw(p, { method: 'PUT', headers: s, body: ping })).status, 405);
    assert.equal((await raw(p, { method: 'GET', path: '/healthz' })).status, 200);
    const ready = await raw(p, { method: 'GET', path: '/readyz' });
    assert.equal(ready.status, 200);
    assert.equal(JSON.parse(ready.body).upstreams.length, 3);

    // A dropped POST stream is not a cancellation: the call goes on, and GET with
    // Last-Event-ID replays what the client missed, up to the response.
    const resumable = await raw(p, { headers: json, body: init });
    const rsid = resumable.headers['mcp-session-id'];
    await raw(p, { headers: { ...json, 'mcp-session-id': rsid }, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
    const primingId = await new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: p, method: 'POST', path: '/mcp',
        headers: { ...json, 'mcp-session-id': rsid } }, (res) => {
        res.on('data', (d) => {
          const m = /id: (\S+)/.exec(String(d));
          if (m) { resolve(m[1]); req.destroy(); }
        });
      });
      req.on('error', () => {});
      req.end(JSON.stringify({ jsonrpc: '2.0', id: 'long', method: 'tools/call', params: {
        name: 'everything__trigger-long-running-operation', arguments: { duration: 0.5, steps: 2 },
        _meta: { progressToken: 'p1' } } }));
      setTimeout(() => reject(new Error('no priming event')), 10_000).unref();
    });
    const replay = await new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: p, method: 'GET', path: '/mcp',
        headers: { accept: 'text/event-stream', 'mcp-session-id': rsid, 'last-event-id': primingId } }, (res) => {
        let body = '';
        res.on('data', (d) => { body += d; });
        res.on('end', () => resolve({ status: res.statusCode, body }));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(replay.status, 200);
    const replayed = replay.body.split('\n').filter((l) => l.startsWith('data: {')).map((l) => JSON.parse(l.slice(6)));
    assert.equal(replayed.filter((m) => m.method === 'notifications/progress').length, 2, replay.body);
    assert.equal(replayed.at(-1).id, 'long');
    assert.match(replayed.at(-1).result.content[0].text, /Long running operation completed/);

    // A request the host cancels gets no response, and its SSE stream ends.
    let primed;
    const streamOpen = new Promise((r) => { primed = r; });
    const cancelled = new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: p, method: 'POST', path: '/mcp', agent: false,
        headers: { ...json, 'mcp-session-id': rsid } }, (res) => {
        let body = '';
        res.on('data', (d) => { body += d; primed(); });
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ jsonrpc: '2.0', id: 'doomed', method: 'tools/call', params: {
        name: 'everything__trigger-long-running-operation', arguments: { duration: 5, steps: 5 } } }));
    });
    await streamOpen;  // the call is in flight (its priming event arrived)
    await raw(p, { headers: { ...json, 'mcp-session-id': rsid }, body: JSON.stringify({ jsonrpc: '2.0',
      method: 'notifications/cancelled', params: { requestId: 'doomed', reason: 'changed my mind' } }) });
    const cancelledBody = await cancelled;
    assert.ok(!cancelledBody.includes('"result"'), cancelledBody);

    // A client that sends half a request and stalls is cut off after read_timeout.
    const closed = await new Promise((resolve) => {
      const sock = net.connect(p, '127.0.0.1', () => sock.write('POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n'));
      const started = Date.now();
      sock.on('close', () => resolve(Date.now() - started));
      sock.on('error', () => {});
    });
    assert.ok(closed < 10_000, `slow client closed after ${closed} ms`);
    await a.close();
  } finally {
    const { code } = await server.stop();
    assert.equal(code, 0, 'manifold exits cleanly on SIGTERM');
    setup.cleanup();
  }
});
