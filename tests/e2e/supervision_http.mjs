// Supervision over HTTP, with the in-tree fake server: /readyz and `manifold status --url`
// report each upstream (state, restarts, breaker, last error and success, probe latency);
// SIGTERM drains (calls in flight are answered, sessions are told, children stop, exit 0);
// a second SIGTERM stops at once. Every wait is on an event (a notification, a log line, a
// file appearing, an exit), with a deadline.
// Usage: node supervision_http.mjs <manifold> <fake_mcp_server>
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { appears, run, start } from './lib.mjs';

const manifold = process.argv[2];
const fake = process.argv[3];
const q = JSON.stringify;
const dir = mkdtempSync(join(tmpdir(), 'manifold-supervision-'));

function alive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function serve(name, yaml, listenPort = 0) {
  const config = join(dir, `${name}.yaml`);
  writeFileSync(config, yaml);
  const portFile = join(dir, `${name}.port`);
  rmSync(portFile, { force: true });
  const m = start([manifold, '--log-level', 'info', 'serve', '--config', config, '--listen', `127.0.0.1:${listenPort}`,
    '--port-file', portFile]);
  await Promise.race([appears(portFile), m.exited.then(() => { throw new Error(`${name}: manifold exited: ${m.stderr()}`); })]);
  const port = Number(readFileSync(portFile, 'utf8'));
  return { ...m, port, url: `http://127.0.0.1:${port}` };
}

function fakeServer(name, flags = [], extra = '') {
  return `  ${name}:\n    command: ${q(fake)}\n    args: [--name, ${name}, --pid-file, ${q(join(dir, `${name}.pid`))}${flags.map((f) => `, ${q(f)}`).join('')}]\n${extra}`;
}

// One HTTP/1.1 connection kept open between requests: `get(path)` resolves with the status,
// the lower-cased headers and the body of the next response; `ended` once the server closes.
function keptConnection(port) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = '';
    let pending = null;
    const ended = new Promise((r) => sock.on('close', r));
    const parse = () => {
      const end = buf.indexOf('\r\n\r\n');
      if (!pending || end < 0) return;
      const [statusLine, ...lines] = buf.slice(0, end).split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(),
        l.slice(l.indexOf(':') + 1).trim()]));
      const length = Number(headers['content-length'] ?? 0);
      if (buf.length < end + 4 + length) return;
      const body = buf.slice(end + 4, end + 4 + length);
      buf = buf.slice(end + 4 + length);
      const done = pending;
      pending = null;
      done.resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
    };
    sock.setEncoding('utf8');
    sock.on('data', (d) => { buf += d; parse(); });
    sock.on('close', () => pending?.reject(new Error('the connection closed before a response')));
    sock.once('error', reject);
    sock.on('connect', () => resolve({
      ended,
      get: (path) => new Promise((res, rej) => {
        pending = { resolve: res, reject: rej };
        sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
      }),
    }));
  });
}

async function connect(url) {
  const client = new Client({ name: 'supervision-http', version: '1.0.0' }, { capabilities: {} });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
  return client;
}

const text = (r) => r.content.filter((c) => c.type === 'text').map((c) => c.text).join('\n');

await run('integration_supervision_http', async () => {
  // ---- /readyz and manifold status ----
  const m = await serve('status', `lifecycle:\n  health: {interval: 100ms, timeout: 1s}\nservers:\n${
    fakeServer('alpha')}${fakeServer('phoenix', [], '    restart: {backoff: 20ms, max_backoff: 100ms}\n')}${
    fakeServer('lazy', [], '    start: lazy\n')}`);
  const client = await connect(m.url);
  assert.equal(text(await client.callTool({ name: 'alpha__echo', arguments: { text: 'hi' } })), 'hi');
  await assert.rejects(client.callTool({ name: 'phoenix__crash', arguments: {} }));
  await m.logged('[phoenix] starting -> ready: back after restart 1');
  await m.logged('[alpha] health probe answered in');
  await m.logged('[lazy] ready -> idle');
  const readyz = await (await fetch(`${m.url}/readyz`)).json();
  assert.equal(readyz.ready, true);
  const byName = Object.fromEntries(readyz.upstreams.map((u) => [u.name, u]));
  assert.equal(byName.alpha.state, 'ready');
  assert.ok(byName.alpha.lastSuccess, JSON.stringify(byName.alpha));
  assert.equal(byName.alpha.breaker, 'closed');
  assert.equal(byName.alpha.transport, 'stdio');
  assert.equal(typeof byName.alpha.probeLatencyMs, 'number', JSON.stringify(byName.alpha));
  assert.equal(byName.phoenix.restarts, 1, JSON.stringify(byName.phoenix));
  assert.match(byName.phoenix.lastError, /closed its output/);
  assert.equal(byName.lazy.state, 'idle');
  assert.equal(byName.lazy.start, 'lazy');
  const status = spawnSync(manifold, ['status', '--url', m.url], { encoding: 'utf8' });
  assert.equal(status.status, 0, status.stderr);
  assert.match(status.stdout, /manifold at http:\/\/127\.0\.0\.1:\d+: ready/);
  assert.match(status.stdout, /UPSTREAM\s+STATE\s+TRANSPORT\s+TOOLS\s+RESTARTS\s+BREAKER\s+PROBE\s+LAST SUCCESS\s+LAST ERROR/);
  assert.match(status.stdout, /phoenix\s+ready\s+stdio\s+\d+\s+1\s+closed/);
  assert.match(status.stdout, /lazy\s+idle/);
  const statusJson = JSON.parse(spawnSync(manifold, ['status', '--url', m.url, '--format', 'json'], { encoding: 'utf8' }).stdout);
  assert.equal(statusJson.upstreams.length, 3);
  await client.close();

  // ---- SIGTERM drains: the call in flight is answered, then everything stops ----
  const pids = ['alpha', 'phoenix'].map((n) => Number(readFileSync(join(dir, `${n}.pid`), 'utf8')));
  const draining = await connect(m.url);
  const notices = [];
  draining.setNotificationHandler(LoggingMessageNotificationSchema, (n) => notices.push(n.params.data));
  let inFlight;
  const started = new Promise((resolve) => { inFlight = resolve; });
  const call = draining.callTool({ name: 'alpha__progress', arguments: { steps: 4, step_ms: 150 } }, undefined,
    { onprogress: () => inFlight(), timeout: 30000 });
  await started;
  m.child.kill('SIGTERM');
  const result = await call;
  assert.match(text(result), /token/);
  const { code } = await m.exited;
  assert.equal(code, 0, m.stderr().slice(-2000));
  assert.match(m.stderr(), /draining for up to 30000 ms/);
  for (const pid of pids) assert.ok(!alive(pid), `upstream ${pid} outlived manifold`);
  void notices;

  // ---- a second SIGTERM stops at once ----
  const f = await serve('force', `servers:\n${fakeServer('beta')}`);
  const kept = await keptConnection(f.port);
  const before = await kept.get('/healthz');
  assert.equal(before.status, 200);
  assert.notEqual(before.headers.connection, 'close', 'a keep-alive connection before the drain');
  const forced = await connect(f.url);
  let beganLong;
  const long = new Promise((resolve) => { beganLong = resolve; });
  const never = forced.callTool({ name: 'beta__progress', arguments: { steps: 1000, step_ms: 100 } }, undefined,
    // (The SDK client does not fail a call when its stream ends; its own timeout does.)
    { onprogress: () => beganLong(), timeout: 3000 }).then(() => 'answered', () => 'failed');
  await long;
  f.child.kill('SIGTERM');
  await f.logged('draining for up to');
  // While draining (the call above is still running), a connection opened before is
  // answered once more, with `Connection: close`, and then closed: a balancer that keeps
  // connections sends nothing further on it. New connections are refused.
  const during = await kept.get('/healthz');
  assert.equal(during.status, 200);
  assert.equal(during.headers.connection, 'close');
  await kept.ended;
  await assert.rejects(keptConnection(f.port), /ECONNREFUSED/);
  f.child.kill('SIGTERM');
  const forcedExit = await f.exited;
  assert.equal(forcedExit.code, 0);
  assert.match(f.stderr(), /received again; stopping now/);
  assert.equal(await never, 'failed');
  const beta = Number(readFileSync(join(dir, 'beta.pid'), 'utf8'));
  assert.ok(!alive(beta), 'beta outlived manifold');

  // ---- a network upstream that goes away is reconnected when it is back ----
  // The outer manifold reaches an inner one over Streamable HTTP; the inner one is stopped
  // and started again on the same port.
  const innerYaml = `servers:\n${fakeServer('gamma')}`;
  let inner = await serve('inner', innerYaml);
  const innerPort = inner.port;
  const outer = await serve('outer', `servers:
  remote:
    url: http://127.0.0.1:${innerPort}/mcp
    transport: http
    health: {interval: 1h, timeout: 300ms, failures: 2}
    restart: {backoff: 50ms, max_backoff: 200ms, max_restarts: 1000}
`);
  const viaOuter = await connect(outer.url);
  assert.equal(text(await viaOuter.callTool({ name: 'remote__gamma__echo', arguments: { text: 'before' } })), 'before');
  inner.child.kill('SIGTERM');
  await inner.exited;
  // The call fails at once (the connection is refused), and probes start at once.
  await assert.rejects(viaOuter.callTool({ name: 'remote__gamma__echo', arguments: { text: 'gone' } }));
  await outer.logged('[remote] degraded -> backing-off');
  // Still listed meanwhile (a network upstream keeps its catalog: on_down: error).
  const listed = (await viaOuter.listTools()).tools.map((t) => t.name);
  assert.ok(listed.includes('remote__gamma__echo'), listed.join(','));
  inner = await serve('inner', innerYaml, innerPort);
  await outer.logged('[remote] starting -> ready: back after restart');
  assert.equal(text(await viaOuter.callTool({ name: 'remote__gamma__echo', arguments: { text: 'after' } })), 'after');
  await viaOuter.close();
  outer.child.kill('SIGTERM');
  inner.child.kill('SIGTERM');
  await outer.exited;
  await inner.exited;
});
rmSync(dir, { recursive: true, force: true });
