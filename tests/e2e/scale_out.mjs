// Replicas that share no sticky state: Debian's nginx round-robins over three manifold
// replicas on loopback, each with its own upstream processes and nothing shared but the
// session keys. The official SDK client keeps one Streamable HTTP session through a long
// sequence of calls (tools, progress, sampling, prompts, resources, log levels):
//   - while one replica is killed with SIGKILL mid-call and started again, and another is
//     stopped with SIGTERM mid-call (it drains: its calls in flight are answered),
//   - while the session keys rotate (a key added everywhere, then sealing, then the old one
//     dropped), each replica reloading its keys file on its own.
// Every call gets its own right answer or a clean retryable error (which succeeds when
// retried); the client never initializes again. Ended sessions stay ended on every replica,
// and ids sealed only by a dropped key no longer open. Beside it, an SDK v2 client pinned to
// MCP 2026-07-28 sends stateless requests (no session at all) through the same balancer, and
// every replica answers them.
//   node scale_out.mjs <manifold>
import assert from 'node:assert/strict';
import http from 'node:http';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { nginxVersion, startNginx } from './nginx.mjs';
import { newSecret, startReplicas } from './replicas.mjs';
import { node, pkg, run } from './lib.mjs';

const q = JSON.stringify;
const servers = `  everything:\n    command: ${q(node)}\n    args: [${q(pkg('server-everything'))}, stdio]\n` +
  '    isolation: session\n';
const text = (r) => r.content.filter((c) => c.type === 'text').map((c) => c.text).join('\n');

// The SDK client with sampling, counting the JSON-RPC methods it sends.
function sdkClient(base) {
  const sent = [];
  const counting = (url, init) => {
    if (init?.method === 'POST' && typeof init.body === 'string') {
      const m = JSON.parse(init.body);
      for (const x of Array.isArray(m) ? m : [m]) if (x.method) sent.push(x.method);
    }
    return fetch(url, init);
  };
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { fetch: counting });
  const client = new Client({ name: 'scale-out', version: '1.0.0' }, { capabilities: { sampling: {} } });
  client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
    const asked = req.params.messages.map((m) => m.content.text).join(' ');
    return { role: 'assistant', model: 'test', content: { type: 'text', text: `sampled<${asked}>` } };
  });
  const noise = [];
  client.onerror = (e) => noise.push(String(e?.message ?? e));
  return { client, transport, sent, noise };
}

// One call of each kind, tagged with `tag` where the answer can show it: each checks that
// the answer is its own.
function callsOf(client, tag, { prompt, resource }) {
  return [
    ['echo', async () => assert.equal(
      text(await client.callTool({ name: 'everything__echo', arguments: { message: tag } })), `Echo: ${tag}`)],
    ['sum', async () => {
      const n = tag.length * 7;
      assert.equal(text(await client.callTool({ name: 'everything__get-sum', arguments: { a: n, b: 1000 } })),
        `The sum of ${n} and 1000 is ${n + 1000}.`);
    }],
    ['progress', async () => {
      const seen = [];
      const r = await client.callTool({ name: 'everything__trigger-long-running-operation',
        arguments: { duration: 0.3, steps: 3 } }, undefined, { onprogress: (p) => seen.push(p.progress) });
      assert.match(text(r), /Long running operation completed/);
      assert.deepEqual(seen, [1, 2, 3]);
    }],
    ['sampling', async () => assert.match(text(await client.callTool({ name: 'everything__trigger-sampling-request',
      arguments: { prompt: tag, maxTokens: 5 } })), new RegExp(`sampled<[^>]*context: ${tag}>`))],
    ['prompt', async () => assert.ok((await client.getPrompt({ name: prompt })).messages.length > 0)],
    ['resource', async () => assert.equal((await client.readResource({ uri: resource })).contents[0].uri, resource)],
    ['tools', async () => assert.ok((await client.listTools()).tools.some((t) => t.name === 'everything__echo'))],
    ['log-level', async () => client.setLoggingLevel(tag.length % 2 ? 'debug' : 'warning')],
  ];
}

// What a call may end in when the replica serving it dies: nginx's 502 (the replica took the
// request with it) or manifold's retryable error (its stream was resumed on another replica).
function retryable(e) {
  if (e?.code === 502) return true;
  return e?.code === -32000 && e?.data?.retryable === true;
}

// Runs `calls` one after the other; every one must succeed.
async function sequence(calls, label) {
  for (const [kind, call] of calls) {
    try {
      await call();
    } catch (e) {
      throw new Error(`${label}: ${kind} failed: ${e?.stack ?? e}`);
    }
  }
}

// A raw POST of `message` to one replica with session id `sid`.
function postTo(url, sid, message) {
  const body = JSON.stringify(message);
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/mcp`, { method: 'POST', agent: false, headers: {
      'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sid,
      'mcp-protocol-version': '2025-11-25', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let data = '';
      res.on('data', (d) => { data += d; });
      res.on('end', () => resolve({ status: res.statusCode, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
const ping = (id) => ({ jsonrpc: '2.0', id, method: 'ping' });

// Requests nginx handed to `port` with `status` so far.
const served = (lb, port, status = 200) =>
  lb.accessLog().split('\n').filter((l) => l.includes(`upstream=127.0.0.1:${port}`) && l.includes(`" ${status} `)).length;

await run('scale_out', async () => {
  const k1 = newSecret();
  const k2 = newSecret();
  const set = await startReplicas({ count: 3, servers, keys: [['k1', k1]] });
  const r1 = set.replicas[1];
  // max_fails=0: a dead replica is tried each time and the request passed on (nothing was
  // sent to it), so it takes traffic again as soon as it is back.
  const lb = await startNginx({ backends: set.replicas.map((r) => `127.0.0.1:${r.port}`), maxFails: 0 });
  const { client, transport, sent, noise } = sdkClient(lb.url);
  const modern = new ClientV2({ name: 'scale-out-2026', version: '1.0.0' },
    { capabilities: {}, versionNegotiation: { mode: { pin: '2026-07-28' } } });
  let total = 0;
  let stateless = 0;
  // 2026-07-28 requests, each on its own: round robin spreads them over every replica.
  const statelessRound = async (label) => {
    const before = set.replicas.map((r) => served(lb, r.port));
    for (let i = 0; i < 9; i++) {
      const message = `${label}-${i}`;
      assert.equal(text(await modern.callTool({ name: 'everything__echo', arguments: { message } })), `Echo: ${message}`);
    }
    const seen = [];
    const long = await modern.callTool({ name: 'everything__trigger-long-running-operation',
      arguments: { duration: 0.3, steps: 3 } }, { onprogress: (p) => seen.push(p.progress) });
    assert.match(text(long), /Long running operation completed/);
    // (The SDK v2 client may drop the progress read in the same chunk as the reply.)
    assert.deepEqual(seen.slice(0, 2), [1, 2], 'progress on the stateless call\'s own stream');
    stateless += 10;
    set.replicas.forEach((r, k) => assert.ok(served(lb, r.port) > before[k], `replica ${r.index} served ${label}`));
  };
  try {
    await client.connect(transport);
    const first = transport.sessionId;
    assert.match(first, /^s1\.k1\./, 'the session id is sealed with k1');
    const prompts = (await client.listPrompts()).prompts;
    const prompt = prompts.find((p) => p.name.endsWith('simple-prompt')).name;
    const resource = (await client.listResources()).resources[0].uri;
    const targets = { prompt, resource };
    const round = async (label) => {
      const calls = callsOf(client, label, targets);
      await sequence(calls, label);
      total += calls.length;
    };

    // 1. Round robin: every replica serves the session it never saw initialized.
    for (let i = 0; i < 6; i++) await round(`steady${i}`);
    for (const r of set.replicas) assert.ok(served(lb, r.port) > 5, `replica ${r.index} served the session`);
    await modern.connect(new HttpV2(new URL(`${lb.url}/mcp`)));
    assert.equal(modern.getProtocolEra(), 'modern');
    await statelessRound('stateless');

    // 2. A replica dies with calls in flight on it. Calls that all reported progress are
    // running on every replica when it is killed.
    const inFlight = [];
    const started = [];
    let killedAt = 0;
    let lastFailureMs = 0;
    for (let i = 0; i < 6; i++) {
      let begun;
      started.push(new Promise((resolve) => { begun = resolve; }));
      inFlight.push(client.callTool({ name: 'everything__trigger-long-running-operation',
        arguments: { duration: 3, steps: 3 } }, undefined, { onprogress: () => begun() })
        .then((r) => ({ ok: text(r) }), (e) => {
          lastFailureMs = Math.max(lastFailureMs, Date.now() - killedAt);
          return { error: e };
        }));
    }
    await Promise.all(started);
    killedAt = Date.now();
    await r1.kill('SIGKILL');
    // A new call right after the kill is answered by a live replica.
    const fresh = await client.callTool({ name: 'everything__echo', arguments: { message: 'after-kill' } });
    assert.equal(text(fresh), 'Echo: after-kill');
    const freshMs = Date.now() - killedAt;
    const outcomes = await Promise.all(inFlight);
    const failed = outcomes.filter((o) => o.error);
    for (const o of failed) assert.ok(retryable(o.error), `a clean retryable error, not ${o.error?.stack ?? o.error}`);
    for (const o of outcomes.filter((x) => x.ok)) assert.match(o.ok, /Long running operation completed/);
    assert.ok(failed.length >= 1 && failed.length < outcomes.length,
      `the killed replica had calls in flight (${failed.length} of ${outcomes.length} failed)`);
    for (let i = 0; i < failed.length; i++) {
      const r = await client.callTool({ name: 'everything__echo', arguments: { message: `retry${i}` } });
      assert.equal(text(r), `Echo: retry${i}`, 'a retried call is answered');
    }
    for (let i = 0; i < 3; i++) await round(`degraded${i}`);

    // ... and comes back on its port; the balancer sends it the session again.
    const before = served(lb, r1.port);
    await r1.start();
    for (let i = 0; i < 3; i++) await round(`restarted${i}`);
    assert.ok(served(lb, r1.port) > before, 'the restarted replica serves the session again');
    assert.equal((await postTo(r1.url, transport.sessionId, ping(9001))).status, 200);
    await statelessRound('stateless-restarted');

    // ... and one that is stopped (SIGTERM, as for a pod being replaced) drains: the calls in
    // flight on it are answered, and the session goes on elsewhere.
    const r2 = set.replicas[2];
    const draining = [];
    const drainStarted = [];
    for (let i = 0; i < 6; i++) {
      let begun;
      drainStarted.push(new Promise((resolve) => { begun = resolve; }));
      draining.push(client.callTool({ name: 'everything__trigger-long-running-operation',
        arguments: { duration: 2, steps: 2 } }, undefined, { onprogress: () => begun() }));
    }
    await Promise.all(drainStarted);
    // Nothing new is sent until it is gone, as a balancer that has taken a terminating pod
    // out of rotation (the Kubernetes endpoints, with the pod's preStop delay) would not.
    const stopped = r2.kill('SIGTERM');
    for (const r of await Promise.all(draining)) assert.match(text(r), /Long running operation completed/);
    const exit = await stopped;
    assert.equal(exit.code, 0, `the drained replica exits cleanly (${JSON.stringify(exit)})`);
    // Round robin spreads any three consecutive requests over the three replicas.
    const drained = Number(/draining: no new connections; (\d+) requests? in flight/.exec(r2.log)?.[1] ?? 0);
    assert.ok(drained >= 1, `the stopped replica had calls in flight when it began to drain\n${r2.tail()}`);
    for (let i = 0; i < 2; i++) await round(`drained${i}`);
    await r2.start();
    for (let i = 0; i < 2; i++) await round(`back${i}`);

    // 3. Key rotation while calls go on: k2 is added to every ring (opening only), then seals
    // everywhere, then k1 is dropped. Each replica reloads its own file in its own time.
    const oldToken = transport.sessionId;
    assert.match(oldToken, /^s1\.k1\./);
    for (const r of set.replicas) {
      await Promise.all([r.rotate([['k1', k1], ['k2', k2]]), round(`add-k2-r${r.index}`)]);
    }
    for (const r of set.replicas) {
      await Promise.all([r.rotate([['k2', k2], ['k1', k1]]), round(`seal-k2-r${r.index}`)]);
    }
    await round('sealed-by-k2');
    assert.match(transport.sessionId, /^s1\.k2\./, 'the client holds an id sealed with k2');
    for (const r of set.replicas) {
      await Promise.all([r.rotate([['k2', k2]]), round(`drop-k1-r${r.index}`)]);
    }
    for (let i = 0; i < 3; i++) await round(`rotated${i}`);
    for (const r of set.replicas) {
      const refused = await postTo(r.url, oldToken, ping(9002));
      assert.equal(refused.status, 404, `replica ${r.index} refuses an id sealed only by the dropped key`);
    }

    // 4. The host ends the session: every replica refuses its id from then on.
    assert.deepEqual(sent.filter((m) => m === 'initialize'), ['initialize'], 'one initialize in the whole run');
    const last = transport.sessionId;
    await transport.terminateSession();
    for (const r of set.replicas) {
      const refused = await postTo(r.url, last, ping(9003));
      assert.equal(refused.status, 404, `replica ${r.index} refuses the ended session`);
      assert.match(refused.body, /ended/);
    }
    console.log(`${nginxVersion()}; 3 replicas; ${total} calls in sequence plus 6 in flight at the kill ` +
      `(${failed.length} failed retryably, retried); after SIGKILL a new call was answered in ${freshMs} ms ` +
      `and the calls in flight on it failed within ${lastFailureMs} ms; SIGTERM drained ${drained} call(s) ` +
      'in flight, all answered; ' +
      `keys rotated k1 -> k2; ${stateless} stateless 2026-07-28 calls through the same balancer; ` +
      `${noise.length} transport notices (reconnects)`);
  } catch (e) {
    for (const r of set.replicas) console.error(`--- replica ${r.index} (port ${r.port}) log tail:\n${r.tail(40)}`);
    console.error(`--- nginx errors:\n${lb.errorLog().split('\n').slice(-20).join('\n')}`);
    console.error(`--- client notices:\n${noise.slice(-20).join('\n')}`);
    throw e;
  } finally {
    await client.close().catch(() => {});
    await modern.close().catch(() => {});
    await lb.stop();
    await set.stop();
  }
});
