// Soak: 200 host sessions at once (150 Streamable HTTP, 50 WebSocket) through one manifold,
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
import { WebSocketClientTransport } from '@modelcontextprotocol/sdk/client/websocket.js';
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

async function open(server, i) {
  const name = `host-${i}`;
  const c = new Client({ name, version: '1' }, { capabilities: { sampling: {} } });
  c.setRequestHandler(CreateMessageRequestSchema, async (req) => ({
    role: 'assistant', model: name, content: { type: 'text', text: `${name} answers ${q(req.params.messages[0].content.text)}` },
  }));
  const transport = i < 150
    ? new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`))
    : new WebSocketClientTransport(new URL(`ws://127.0.0.1:${server.port}/ws`));
  await c.connect(transport);
  c.marker = name;
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
      assert.deepEqual(seen, [1, 2, 3], `progress of ${tag}`);
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
