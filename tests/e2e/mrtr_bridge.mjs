// MCP 2026-07-28 multi-round-trip bridging: a 2026-07-28 host (the official SDK v2 client
// @modelcontextprotocol/client 2.4.0, pinned to 2026-07-28) calls, through manifold over
// stdio and over Streamable HTTP, a handshake-era SDK 1.x upstream (fakes/legacy_input_server.mjs)
// whose tools push sampling, elicitation and roots requests while they run. manifold answers
// the host with InputRequiredResults and the host's retries answer the upstream:
//   - three concurrent requests come in one round, and their answers reach the tool result;
//   - two sequential elicitations take two rounds; a prompt asks too (prompts/get);
//   - a host whose request declares no elicitation gets only the sampling asked (the
//     elicitation is declined for it), and one that declares nothing the tool needs gets
//     -32021 (HTTP 400);
//   - on the wire: keys, stripped params, a tampered, foreign or replayed requestState is
//     -32602 (in-band, 200) and leaves the call usable, a missing answer is asked again under
//     a new state, inputResponses without a state start a fresh call.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { here, manifoldBinary, manifoldEnv, node, run, serveHttp } from './lib.mjs';

const modern = '2026-07-28';
const text = (r) => r.content.filter((c) => c.type === 'text').map((c) => c.text).join('\n');

// A host pinned to 2026-07-28 with `capabilities`; `asked` counts what its handlers were asked.
function host(capabilities) {
  const asked = { elicitation: 0, sampling: 0, roots: 0 };
  const client = new Client({ name: 'mrtr-e2e', version: '1.0.0' },
    { capabilities, versionNegotiation: { mode: { pin: modern } } });
  const answers = { name: 'Alice', color: 'blue', topic: 'MCP' };
  if (capabilities.elicitation) {
    client.setRequestHandler('elicitation/create', async (req) => {
      asked.elicitation++;
      assert.equal(req.params.elicitationId, undefined, 'no legacy elicitationId reaches a 2026-07-28 host');
      const field = Object.keys(req.params.requestedSchema.properties)[0];
      return { action: 'accept', content: { [field]: answers[field] } };
    });
  }
  if (capabilities.sampling) {
    client.setRequestHandler('sampling/createMessage', async () => {
      asked.sampling++;
      return { role: 'assistant', content: { type: 'text', text: 'Paris' }, model: 'fake-model', stopReason: 'endTurn' };
    });
  }
  if (capabilities.roots) {
    client.setRequestHandler('roots/list', async () => {
      asked.roots++;
      return { roots: [{ uri: 'file:///tmp/root', name: 'root' }] };
    });
  }
  return { client, asked };
}

const everything = { sampling: {}, elicitation: { form: {} }, roots: {} };

async function exercise(connect) {
  const full = host(everything);
  await connect(full.client);
  try {
    assert.equal(full.client.getProtocolEra(), 'modern');
    assert.equal(text(await full.client.callTool({ name: 'legacy__ask_all', arguments: {} })),
      'name=Alice llm=Paris roots=file:///tmp/root');
    assert.deepEqual(full.asked, { elicitation: 1, sampling: 1, roots: 1 });
    assert.equal(text(await full.client.callTool({ name: 'legacy__two_step', arguments: {} })), 'Alice likes blue');
    assert.equal(full.asked.elicitation, 3);
    const prompt = await full.client.getPrompt({ name: 'legacy__topic_prompt' });
    assert.equal(prompt.messages[0].content.text, 'Tell me about MCP');
  } finally {
    await full.client.close();
  }
  // Declares sampling only: the elicitation is declined here, the sampling asked.
  const partial = host({ sampling: {} });
  await connect(partial.client);
  try {
    assert.equal(text(await partial.client.callTool({ name: 'legacy__elicit_then_sample', arguments: {} })),
      'elicitation=decline llm=Paris');
    assert.deepEqual(partial.asked, { elicitation: 0, sampling: 1, roots: 0 });
  } finally {
    await partial.client.close();
  }
}

function envelope(capabilities) {
  return { 'io.modelcontextprotocol/protocolVersion': modern, 'io.modelcontextprotocol/clientCapabilities': capabilities,
    'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' } };
}

async function call(url, id, name, extra = {}, capabilities = everything) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream',
      'mcp-protocol-version': modern, 'mcp-method': 'tools/call', 'mcp-name': name },
    body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call',
      params: { name, arguments: {}, ...extra, _meta: envelope(capabilities) } }),
  });
  const raw = await res.text();
  return { status: res.status, body: JSON.parse(raw) };
}

function inputRequired(reply) {
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  const { result } = reply.body;
  assert.equal(result.resultType, 'input_required', JSON.stringify(reply.body));
  assert.equal(typeof result.requestState, 'string');
  assert.equal(result._meta['io.modelcontextprotocol/serverInfo'].name, 'manifold');
  return result;
}

function invalidState(reply) {
  assert.equal(reply.status, 200, 'in-band');
  assert.equal(reply.body.error?.code, -32602, JSON.stringify(reply.body));
  assert.deepEqual(reply.body.error.data, { reason: 'invalid_request_state' });
}

async function onTheWire(url) {
  // Round 1 of `confirm`: one elicitation, under a key of manifold's, params as the tool sent them.
  const first = inputRequired(await call(url, 1, 'legacy__confirm'));
  const keys = Object.keys(first.inputRequests);
  assert.equal(keys.length, 1);
  assert.match(keys[0], /^elicitation-\d+$/);
  const asked = first.inputRequests[keys[0]];
  assert.equal(asked.method, 'elicitation/create');
  assert.equal(asked.params.message, 'name?');
  assert.equal(asked.params._meta?.progressToken, undefined);
  // Tampered, for other arguments: -32602 in-band, and the call is still there.
  invalidState(await call(url, 2, 'legacy__confirm', { inputResponses: {}, requestState: `${first.requestState}-TAMPERED` }));
  invalidState(await call(url, 3, 'legacy__confirm', { arguments: { x: 1 }, requestState: first.requestState }));
  invalidState(await call(url, 4, 'legacy__two_step', { requestState: first.requestState }));
  // A missing answer is asked again, under a new state; the old state is then stale.
  const again = inputRequired(await call(url, 5, 'legacy__confirm', { inputResponses: { other: { action: 'accept' } },
    requestState: first.requestState }));
  assert.deepEqual(Object.keys(again.inputRequests), keys);
  assert.notEqual(again.requestState, first.requestState);
  invalidState(await call(url, 6, 'legacy__confirm', { inputResponses: { [keys[0]]: { action: 'accept', content: { name: 'Eve' } } },
    requestState: first.requestState }));
  // The answer (extra keys ignored) reaches the tool; the state cannot be replayed afterwards.
  const done = await call(url, 7, 'legacy__confirm', { inputResponses: {
    [keys[0]]: { action: 'accept', content: { name: 'Bob' } }, unrelated: { action: 'decline' } }, requestState: again.requestState });
  assert.equal(done.status, 200);
  assert.equal(done.body.result.resultType, 'complete');
  assert.equal(text(done.body.result), 'Hello, Bob (accept)');
  invalidState(await call(url, 8, 'legacy__confirm', { inputResponses: { [keys[0]]: { action: 'accept' } },
    requestState: again.requestState }));
  // A request that declares nothing the tool needs: -32021 with what it must add.
  const missing = await call(url, 9, 'legacy__sample_only', {}, {});
  assert.equal(missing.status, 400);
  assert.equal(missing.body.error.code, -32021);
  assert.deepEqual(missing.body.error.data, { requiredCapabilities: { sampling: {} } });
  // inputResponses without requestState: a fresh call.
  const fresh = inputRequired(await call(url, 10, 'legacy__confirm', { inputResponses: { [keys[0]]: { action: 'accept' } } }));
  assert.equal(Object.keys(fresh.inputRequests).length, 1);
}

await run('e2e_mrtr_bridge', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'manifold-mrtr-'));
  const config = join(dir, 'manifold.yaml');
  writeFileSync(config, `servers:
  legacy:
    command: ${JSON.stringify(node)}
    args: [${JSON.stringify(join(here, 'fakes', 'legacy_input_server.mjs'))}]
`);
  try {
    // stdio: one manifold per host.
    await exercise((client) => client.connect(new StdioClientTransport({
      command: manifoldBinary(), args: ['--log-level', process.env.MANIFOLD_LOG_LEVEL ?? 'warn', 'serve', '--config', config],
      env: manifoldEnv({ PATH: process.env.PATH }), stderr: 'inherit',
    })));
    // Streamable HTTP: every round is its own POST.
    const server = await serveHttp(config);
    try {
      const url = `${server.url}/mcp`;
      await exercise((client) => client.connect(new StreamableHTTPClientTransport(new URL(url))));
      await onTheWire(url);
    } finally {
      await server.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
