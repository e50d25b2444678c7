// Soak: 200 host sessions at once (150 Streamable HTTP with the SDK client, 50 WebSocket with
// a minimal client of its own) through one manifold,
// mixed calls, cancels, progress and sampling against fake upstreams, for a bounded time, in
// two equal rounds. Every reply reaches its own caller (each carries the caller's marker),
// none is misrouted, and manifold's memory after the second round is where the first left
// it (no growth with the load). Usage: node soak.mjs <manifold> <fake_mcp_server> [seconds]
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { run, serveHttp } from './lib.mjs';

const fake = process.argv[3];
const seconds = Number(process.argv[4] ?? process.env.SOAK_SECONDS ?? 15);
const dir = mkdtempSync(join(tmpdir(), 'manifold-soak-'));
const q = JSON.stringify;
const config = join(dir, 'manifold.yaml');
// alpha and beta are shared by every session; gamma is per session (sampling is routed by
// the call itself only with isolation).
writeFileSync(config, `http:
  max_sessions: 400
servers:
  alpha:
    command: ${q(fake)}
    args: [--name, alpha]
  beta:
    command: ${q(fake)}
    args: [--name, beta]
  gamma:
    command: ${q(fake)}
    args: [--name, gamma]
    isolation: session
`);

const rss = (pid) => {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line.split(/\s+/)[1]) * 1024;
};
const text = (r) => r.content.map((c) => c.text).join('');

const sampled = (name, req) => ({
  role: 'assistant', model: name, content: { type: 'text', text: `${name} answers ${q(req.messages[0].content.text)}` },
});

// A minimal MCP client over WebSocket, with the same surface as the SDK's Client for what the
// soak uses. (The SDK 1.x client handles notifications a microtask late, so when progress
// and the reply arrive in one read its last progress finds the request already gone; this
// client handles every message in order, so the soak can check progress exactly.)
class WsClient {
  constructor(url, name) {
    this.marker = name;
    this.pending = new Map();
    this.next = 1;
    this.ws = new WebSocket(url, 'mcp');
    this.ws.onmessage = (event) => this.receive(JSON.parse(event.data));
  }
  async connect() {
    await new Promise((resolve, reject) => { this.ws.onopen = resolve; this.ws.onerror = reject; });
    await this.request('initialize', { protocolVersion: '2025-11-25', capabilities: { sampling: {} },
      clientInfo: { name: this.marker, version: '1' } });
    this.ws.send(q({ jsonrpc: '2.0', method: 'notifications/initialized' }));
  }
  receive(m) {
    if (m.method === 'notifications/progress') {
      const entry = this.pending.get(m.params.progressToken);
      assert.ok(entry, `${this.marker}: progress for a token it never sent: ${q(m)}`);
      entry.onprogress?.(m.params);
    } else if (m.method === 'sampling/createMessage') {
      this.ws.send(q({ jsonrpc: '2.0', id: m.id, result: sampled(this.marker, m.params) }));
    } else if (m.id !== undefined && !m.method) {
      const entry = this.pending.get(m.id);
      assert.ok(entry, `${this.marker}: a reply for a request it never sent: ${q(m)}`);
      this.pending.delete(m.id);
      if (m.error) entry.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
      else entry.resolve(m.result);
    }
  }
  request(method, params, { onprogress, signal } = {}) {
    const id = this.next++;
    if (onprogress) params = { ...params, _meta: { progressToken: id } };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onprogress });
      signal?.addEventListener('abort', () => {
        this.pending.delete(id);
        this.ws.send(q({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: String(signal.reason) } }));
        reject(new Error('aborted'));
      });
      this.ws.send(q({ jsonrpc: '2.0', id, method, params }));
    });
  }
  callTool(params, _schema, options) { return this.request('tools/call', params, options); }
  async close() { this.ws.close(); }
}

async function open(server, i) {
  const name = `host-${i}`;
  if (i >= 150) {
    const c = new WsClient(`ws://127.0.0.1:${server.port}/ws`, name);
    await c.connect();
    return c;
  }
  const c = new Client({ name, version: '1' }, { capabilities: { sampling: {} } });
  c.setRequestHandler(CreateMessageRequestSchema, async (req) => sampled(name, req.params));
  const transport = new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`));
  await c.connect(transport);
  c.marker = name;
  // A well-behaved host ends its session (DELETE) when it leaves.
  const close = c.close.bind(c);
  c.close = async () => { await transport.terminateSession(); await close(); };
  return c;
}

// One session's load until `until`; returns counts. Every answer is checked against what
// this session asked.
async function drive(c, i, until) {
  const counts = { calls: 0, cancelled: 0, progress: 0, sampled: 0 };
  let n = 0;
  while (Date.now() < until) {
    const step = (n++ + i) % 5;
    const tag = `${c.marker}/${n}`;
    if (step === 0 || step === 1) {
      const upstream = step === 0 ? 'alpha' : 'beta';
      const r = await c.callTool({ name: `${upstream}__echo`, arguments: { text: tag } });
      assert.equal(text(r), tag, 'a reply reached another caller');
      counts.calls++;
    } else if (step === 2) {
      const seen = [];
      const r = await c.callTool({ name: 'alpha__progress', arguments: { steps: 3, step_ms: 2 } }, undefined,
        { onprogress: (p) => seen.push(p.progress) });
      assert.deepEqual(seen, [1, 2, 3], `progress of ${tag}: ${q(seen)} ${q(r)}`);
      assert.ok(JSON.parse(text(r)).token !== undefined);
      counts.progress++;
    } else if (step === 3) {
      const abort = new AbortController();
      const call = c.callTool({ name: 'beta__slow', arguments: { ms: 5000, text: tag } }, undefined, { signal: abort.signal });
      setImmediate(() => abort.abort('soak cancel'));
      await assert.rejects(call);
      counts.cancelled++;
    } else if (i % 5 === 0) {
      // Sampling: the upstream's request must come back to this very session.
      const r = await c.callTool({ name: 'gamma__ask', arguments: { method: 'sampling/createMessage',
        params: { messages: [{ role: 'user', content: { type: 'text', text: tag } }], maxTokens: 5 } } });
      const answer = JSON.parse(text(r));
      assert.equal(answer.model, c.marker, 'a sampling request reached another host');
      assert.equal(answer.content.text, `${c.marker} answers ${q(tag)}`);
      counts.sampled++;
    }
  }
  return counts;
}

async function round(server, label) {
  const clients = await Promise.all(Array.from({ length: 200 }, (_, i) => open(server, i)));
  const until = Date.now() + seconds * 1000;
  const results = await Promise.all(clients.map((c, i) => drive(c, i, until)));
  await Promise.all(clients.map((c) => c.close()));
  const total = results.reduce((a, r) => ({ calls: a.calls + r.calls, cancelled: a.cancelled + r.cancelled,
    progress: a.progress + r.progress, sampled: a.sampled + r.sampled }), { calls: 0, cancelled: 0, progress: 0, sampled: 0 });
  console.log(`${label}: ${q(total)} in ${seconds} s`);
  assert.ok(total.calls > 0 && total.cancelled > 0 && total.progress > 0 && total.sampled > 0);
}

await run('soak', async () => {
  const server = await serveHttp(config);
  try {
    await round(server, 'round 1');
    const after1 = rss(server.child.pid);
    await round(server, 'round 2');
    const after2 = rss(server.child.pid);
    console.log(`manifold RSS after round 1: ${(after1 / 2 ** 20).toFixed(1)} MiB, after round 2: ${(after2 / 2 ** 20).toFixed(1)} MiB`);
    if (process.env.SOAK_CHECK_RSS === '1') assert.ok(after2 <= after1 * 1.15 + 8 * 2 ** 20, 'memory grew with the load');
    // manifold still serves.
    const c = await open(server, 0);
    assert.equal(text(await c.callTool({ name: 'alpha__echo', arguments: { text: 'after' } })), 'after');
    await c.close();
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
