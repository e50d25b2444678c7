// Sealed session ids (http.sessions) between two replicas, with the routing decided by the
// test instead of a balancer: the SDK client's fetch sends each message to the replica the
// test names. A host's answer to a sampling request reaches the other replica and is relayed
// to the one that asked; a replica continues a session it never saw; an altered id, another
// principal, or a replica with another key ring gets 404; legacy SSE keeps working per
// connection; a DELETE at one replica is refused at the other at once.
//   node sealed_sessions.mjs <manifold>
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { manifoldBinary, node, pkg, run } from './lib.mjs';
import { newSecret, startReplicas } from './replicas.mjs';

const q = JSON.stringify;
const text = (r) => r.content.filter((c) => c.type === 'text').map((c) => c.text).join('\n');
const hashOf = (key) => {
  const r = spawnSync(manifoldBinary(), ['key', 'hash'], { input: key, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split(/\s+/).pop();
};
const aliceKey = `mfd_alice_${'a'.repeat(40)}`;
const malloryKey = `mfd_mallory_${'m'.repeat(40)}`;
const servers = `  everything:\n    command: ${q(node)}\n    args: [${q(pkg('server-everything'))}, stdio]\n` +
  '    isolation: session\n';
const extra = `auth:\n  api_keys:\n    - {principal: alice, hash: "${hashOf(aliceKey)}"}\n` +
  `    - {principal: mallory, hash: "${hashOf(malloryKey)}"}\n`;

// The SDK client as alice, with sampling; `routeTo(message)` picks the base URL of each POST
// (GET and DELETE go to `other`).
function routedClient(routeTo, other) {
  const fetchVia = (url, init) => {
    const body = typeof init?.body === 'string' ? JSON.parse(init.body) : null;
    const base = body ? routeTo(body) : other();
    return fetch(`${base}${new URL(url).pathname}`, init);
  };
  const transport = new StreamableHTTPClientTransport(new URL('http://127.0.0.1:1/mcp'), {
    fetch: fetchVia, requestInit: { headers: { authorization: `Bearer ${aliceKey}` } } });
  const client = new Client({ name: 'sealed', version: '1.0.0' }, { capabilities: { sampling: {} } });
  client.setRequestHandler(CreateMessageRequestSchema, async (req) => ({
    role: 'assistant', model: 'test',
    content: { type: 'text', text: `sampled<${req.params.messages.map((m) => m.content.text).join(' ')}>` } }));
  return { client, transport };
}

function post(url, { sid, key = aliceKey, message }) {
  const body = JSON.stringify(message);
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/mcp`, { method: 'POST', agent: false, headers: {
      'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sid,
      authorization: `Bearer ${key}`, 'content-length': Buffer.byteLength(body) } }, (res) => {
      let data = '';
      res.on('data', (d) => { data += d; });
      res.on('end', () => resolve({ status: res.statusCode, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
const ping = { jsonrpc: '2.0', id: 7, method: 'ping' };

await run('e2e_sealed_sessions', async () => {
  const set = await startReplicas({ count: 2, servers, keys: [['k1', newSecret()]], extra });
  const foreign = await startReplicas({ count: 1, servers, keys: [['k9', newSecret()]], extra });
  const [a, b] = set.replicas;
  let route = { requests: a.url, answers: b.url, rest: a.url };
  const isAnswer = (m) => !Array.isArray(m) && m.method === undefined && ('result' in m || 'error' in m);
  const { client, transport } = routedClient((m) => (isAnswer(m) ? route.answers : route.requests), () => route.rest);
  try {
    await client.connect(transport);
    const sid = transport.sessionId;
    assert.match(sid, /^s1\.k1\.[A-Za-z0-9_-]+$/, 'a sealed id, header-safe');

    // The tool call runs at a; the host's answer to its sampling request reaches b, which
    // continues the session and relays the answer to a.
    const sampled = await client.callTool({ name: 'everything__trigger-sampling-request',
      arguments: { prompt: 'relayed', maxTokens: 5 } });
    assert.match(text(sampled), /sampled<[^>]*context: relayed>/);
    await b.waitFor(/continued here from its id/);
    assert.doesNotMatch(b.log, /relaying a host's answer .* failed/);

    // Everything at b now: the session goes on there without a new initialize.
    route = { requests: b.url, answers: b.url, rest: b.url };
    assert.equal(text(await client.callTool({ name: 'everything__echo', arguments: { message: 'at b' } })), 'Echo: at b');
    const progress = [];
    await client.callTool({ name: 'everything__trigger-long-running-operation', arguments: { duration: 0.2, steps: 2 } },
      undefined, { onprogress: (p) => progress.push(p.progress) });
    assert.deepEqual(progress, [1, 2]);

    // Refusals: an altered id, another principal, another key ring.
    const current = transport.sessionId;
    const altered = current.slice(0, -2) + (current.endsWith('AA') ? 'BB' : 'AA');
    for (const r of [a, b]) {
      assert.equal((await post(r.url, { sid: current, message: ping })).status, 200);
      assert.equal((await post(r.url, { sid: altered, message: ping })).status, 404, 'an altered id');
      assert.equal((await post(r.url, { sid: current, key: malloryKey, message: ping })).status, 404,
        'another principal');
    }
    const stranger = foreign.replicas[0];
    assert.equal((await post(stranger.url, { sid: current, message: ping })).status, 404, 'another key ring');
    await stranger.waitFor(/session id refused: sealed with a key not in the ring/);

    // Legacy SSE: per connection, unchanged by sealing.
    const headers = { authorization: `Bearer ${aliceKey}` };
    const legacy = new Client({ name: 'legacy', version: '1.0.0' });
    await legacy.connect(new SSEClientTransport(new URL(`${a.url}/sse`),
      { requestInit: { headers }, eventSourceInit: { fetch: (u, i) => fetch(u, { ...i, headers: { ...i?.headers, ...headers } }) } }));
    assert.equal(text(await legacy.callTool({ name: 'everything__get-sum', arguments: { a: 1, b: 2 } })), 'The sum of 1 and 2 is 3.');
    await legacy.close();

    // DELETE at a: b refuses the id from the moment a has answered.
    route = { requests: a.url, answers: a.url, rest: a.url };
    await transport.terminateSession();
    for (const r of [a, b]) {
      const refused = await post(r.url, { sid: current, message: ping });
      assert.equal(refused.status, 404);
      assert.match(refused.body, /ended/);
    }
    await b.waitFor(/session \S+ ended by the host at another replica/);
  } catch (e) {
    for (const r of [...set.replicas, ...foreign.replicas]) console.error(`--- replica log tail:\n${r.tail(30)}`);
    throw e;
  } finally {
    await client.close().catch(() => {});
    await set.stop();
    await foreign.stop();
  }
});
