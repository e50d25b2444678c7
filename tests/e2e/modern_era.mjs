// MCP 2026-07-28 on the host side: the official SDK v2 client (@modelcontextprotocol/client
// 2.4.0), in `auto` negotiation and pinned to 2026-07-28, through manifold over stdio and
// Streamable HTTP, in front of the real reference servers (SDK 1.x, handshake era):
//   - the era is negotiated modern (server/discover), tools are listed and called, prompts
//     and resources read, progress arrives on the call's own stream;
//   - subscriptions/listen is acknowledged and a catalog change (a reload that adds a server)
//     arrives on it, tagged with the subscription id;
//   - the stateless HTTP checks, on the wire: envelope (-32602, 400), header mismatch
//     (-32020, 400), version (-32022, 400, with the supported list), removed methods (-32601,
//     404), GET without a session (405), results stamped (resultType, serverInfo, cache hints);
//   - a handshake-era SDK 1.x client on the same endpoint at the same time is unaffected;
//   - an upstream that speaks only 2026-07-28 (SDK v2 server, `legacy: 'reject'`) is fronted
//     (`protocol: auto` finds it by server/discover, `protocol: modern` requires it) and
//     served to both a 2026-07-28 host and a handshake-era SDK 1.x host;
//   - that upstream's multi-round-trip requests (InputRequiredResult: elicitation, sampling,
//     roots, two rounds with its own requestState) become real requests to the handshake-era
//     host, whose answers manifold sends back on its retries; a host without the capability
//     gets a clear error and is never asked;
//   - the same upstream over Streamable HTTP (`url`, `protocol: modern` and `auto`): no session,
//     the standard headers on every request (checked by the server), input relayed the same
//     way; a handshake-era HTTP upstream under `protocol: auto` falls back to initialize;
//   - a tool such an upstream adds at run time reaches the hosts (manifold listens with
//     subscriptions/listen and relays tools/list_changed).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { StdioClientTransport as StdioV2 } from '@modelcontextprotocol/client/stdio';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as StdioV1 } from '@modelcontextprotocol/sdk/client/stdio.js';
import { join } from 'node:path';
import { StreamableHTTPClientTransport as HttpV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema, ToolListChangedNotificationSchema }
  from '@modelcontextprotocol/sdk/types.js';
import { everythingOverHttp, here, manifoldBinary, manifoldEnv, node, pkg, referenceSetup, run, serveHttp } from './lib.mjs';
import { spawn } from 'node:child_process';

const modern = '2026-07-28';
const envelope = { 'io.modelcontextprotocol/protocolVersion': modern, 'io.modelcontextprotocol/clientCapabilities': {} };
const text = (r) => r.content.filter((c) => c.type === 'text').map((c) => c.text).join('\n');

function v2(versionNegotiation) {
  return new ClientV2({ name: 'modern-era-e2e', version: '1.0.0' }, { capabilities: {}, versionNegotiation });
}

// What every modern host does with manifold: list, call (with progress), prompts, resources.
async function exercise(client) {
  assert.equal(client.getProtocolEra(), 'modern');
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  for (const n of ['everything__echo', 'memory__read_graph', 'filesystem__read_text_file']) assert.ok(names.includes(n), n);
  assert.equal(text(await client.callTool({ name: 'everything__echo', arguments: { message: 'modern' } })), 'Echo: modern');
  const progress = [];
  const long = await client.callTool({ name: 'everything__trigger-long-running-operation', arguments: { duration: 1, steps: 3 } },
    { onprogress: (p) => progress.push(p.progress) });
  assert.match(text(long), /Long running operation completed/);
  // (The SDK client drops a progress notification read in the same chunk as the reply, so the
  // last step may be missing; the earlier ones come a third of a second apart.)
  assert.deepEqual(progress.slice(0, 2), [1, 2], 'progress on the call\'s own stream');
  const { prompts } = await client.listPrompts();
  assert.ok(prompts.some((p) => p.name === 'everything__simple-prompt'));
  const prompt = await client.getPrompt({ name: 'everything__simple-prompt' });
  assert.ok(prompt.messages.length > 0);
  const { resources } = await client.listResources();
  const fileRes = resources.find((r) => r.uri.includes('notes.txt')) ?? resources[0];
  assert.ok(fileRes, 'resources are listed');
  const read = await client.readResource({ uri: fileRes.uri });
  assert.equal(read.contents[0].uri, fileRes.uri);
  await assert.rejects(client.readResource({ uri: 'nowhere://nothing' }), (e) => e.code === -32602);
}

async function post(url, body, headers = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(body),
  });
  const raw = await res.text();
  return { status: res.status, body: raw ? JSON.parse(raw) : null, headers: res.headers };
}

function standard(method, name) {
  return { 'mcp-protocol-version': modern, 'mcp-method': method, ...(name ? { 'mcp-name': name } : {}) };
}

await run('e2e_modern_era', async () => {
  const setup = referenceSetup();
  try {
    // 1. stdio, auto and pinned.
    for (const mode of [{ mode: 'auto' }, { mode: { pin: modern } }]) {
      const client = v2(mode);
      await client.connect(new StdioV2({
        command: manifoldBinary(), args: ['--log-level', process.env.MANIFOLD_LOG_LEVEL ?? 'warn', 'serve', '--config', setup.config],
        env: manifoldEnv({ PATH: process.env.PATH }), stderr: 'inherit',
      }));
      try {
        await exercise(client);
        const sub = await client.listen({ toolsListChanged: true, promptsListChanged: true });
        assert.deepEqual(sub.honoredFilter, { toolsListChanged: true, promptsListChanged: true });
        await sub.close();
        assert.equal(await sub.closed, 'local');
      } finally {
        await client.close();
      }
    }

    // 2. Streamable HTTP.
    const server = await serveHttp(setup.config);
    const url = `${server.url}/mcp`;
    try {
      // A handshake-era client keeps its session while modern clients come and go.
      const old = new ClientV1({ name: 'legacy-e2e', version: '1.0.0' });
      await old.connect(new HttpV1(new URL(url)));
      for (const mode of [{ mode: 'auto' }, { mode: { pin: modern } }]) {
        const client = v2(mode);
        await client.connect(new HttpV2(new URL(url)));
        try {
          await exercise(client);
        } finally {
          await client.close();
        }
      }
      assert.equal(text(await old.callTool({ name: 'everything__echo', arguments: { message: 'still here' } })), 'Echo: still here');

      // A listen hears a catalog change (a reload adds a server), tagged with its id.
      const listener = v2({ mode: { pin: modern } });
      await listener.connect(new HttpV2(new URL(url)));
      const changed = new Promise((resolve) => listener.setNotificationHandler('notifications/tools/list_changed', resolve));
      const sub = await listener.listen({ toolsListChanged: true });
      assert.deepEqual(sub.honoredFilter, { toolsListChanged: true });
      writeFileSync(setup.config, `${(await import('node:fs')).readFileSync(setup.config, 'utf8')}  more:
    command: ${JSON.stringify(node)}
    args: [${JSON.stringify(pkg('server-memory'))}]
    env: {MEMORY_FILE_PATH: ${JSON.stringify(`${setup.dir}/more.jsonl`)}}
`);
      server.child.kill('SIGHUP');
      const note = await changed;
      assert.equal(note.params?._meta?.['io.modelcontextprotocol/subscriptionId'] !== undefined, true);
      assert.ok((await listener.listTools()).tools.some((t) => t.name === 'more__read_graph'), 'the new server is in the catalog');
      await sub.close();
      await listener.close();
      await old.close();

      // 3. The stateless checks on the wire.
      const discover = await post(url, { jsonrpc: '2.0', id: 'd', method: 'server/discover', params: { _meta: envelope } },
        standard('server/discover'));
      assert.equal(discover.status, 200);
      assert.deepEqual(discover.body.result.supportedVersions, [modern]);
      assert.equal(discover.body.result.resultType, 'complete');
      assert.equal(discover.body.result._meta['io.modelcontextprotocol/serverInfo'].name, 'manifold');
      assert.equal(discover.headers.get('mcp-session-id'), null, 'no session is minted');

      const list = await post(url, { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: envelope } }, standard('tools/list'));
      assert.equal(list.status, 200);
      assert.equal(list.body.result.ttlMs, 0);
      assert.ok(['public', 'private'].includes(list.body.result.cacheScope));

      const noEnvelope = await post(url, { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} }, standard('tools/list'));
      assert.equal(noEnvelope.status, 400);
      assert.equal(noEnvelope.body.error.code, -32602);
      assert.equal(noEnvelope.body.id, 2, 'errors echo the id');

      const wrongName = await post(url, { jsonrpc: '2.0', id: 3, method: 'tools/call',
        params: { name: 'everything__echo', arguments: { message: 'x' }, _meta: envelope } }, standard('tools/call', 'other'));
      assert.equal(wrongName.status, 400);
      assert.equal(wrongName.body.error.code, -32020);
      const encoded = await post(url, { jsonrpc: '2.0', id: 4, method: 'tools/call',
        params: { name: 'everything__echo', arguments: { message: 'x' }, _meta: envelope } },
      standard('tools/call', `=?base64?${Buffer.from('everything__echo').toString('base64')}?=`));
      assert.equal(encoded.status, 200, 'a base64 sentinel Mcp-Name is decoded');

      const future = { ...envelope, 'io.modelcontextprotocol/protocolVersion': '2099-01-01' };
      const version = await post(url, { jsonrpc: '2.0', id: 5, method: 'tools/list', params: { _meta: future } },
        { ...standard('tools/list'), 'mcp-protocol-version': '2099-01-01' });
      assert.equal(version.status, 400);
      assert.equal(version.body.error.code, -32022);
      assert.deepEqual(version.body.error.data, { supported: [modern], requested: '2099-01-01' });

      for (const method of ['initialize', 'ping', 'logging/setLevel', 'resources/subscribe', 'unknown/method']) {
        const removed = await post(url, { jsonrpc: '2.0', id: method, method, params: { _meta: envelope } }, standard(method));
        assert.equal(removed.status, 404, method);
        assert.equal(removed.body.error.code, -32601, method);
        assert.equal(removed.body.id, method);
      }
      const get = await fetch(url, { headers: { accept: 'text/event-stream' } });
      assert.equal(get.status, 405);
      assert.equal(get.headers.get('allow'), 'POST');
    } finally {
      await server.stop();
    }

    // 4. Upstreams that speak only 2026-07-28, behind manifold, for hosts of both eras.
    const modernOnly = join(here, 'fakes', 'modern_server.mjs');
    writeFileSync(setup.config, `servers:
  found:
    command: ${JSON.stringify(node)}
    args: [${JSON.stringify(modernOnly)}]
    protocol: auto
  pinned:
    command: ${JSON.stringify(node)}
    args: [${JSON.stringify(modernOnly)}]
    protocol: modern
  everything:
    command: ${JSON.stringify(node)}
    args: [${JSON.stringify(pkg('server-everything'))}, stdio]
`);
    const stdio = { command: manifoldBinary(), args: ['--log-level', process.env.MANIFOLD_LOG_LEVEL ?? 'warn', 'serve', '--config', setup.config],
      env: manifoldEnv({ PATH: process.env.PATH }), stderr: 'inherit' };
    for (const client of [v2({ mode: { pin: modern } }), new ClientV1({ name: 'legacy-e2e', version: '1.0.0' })]) {
      await client.connect(client instanceof ClientV1 ? new StdioV1(stdio) : new StdioV2(stdio));
      try {
        const { tools } = await client.listTools();
        for (const n of ['found__echo', 'pinned__echo', 'everything__echo']) assert.ok(tools.some((t) => t.name === n), n);
        for (const n of ['found__echo', 'pinned__echo']) {
          assert.equal(text(await client.callTool({ name: n, arguments: { text: 'both eras' } })), 'modern echo: both eras');
        }
        const { resources } = await client.listResources();
        const note = resources.find((r) => r.uri.endsWith('note://modern/readme') || r.uri.includes('modern/readme'));
        assert.ok(note, JSON.stringify(resources.map((r) => r.uri)));
        assert.equal((await client.readResource({ uri: note.uri })).contents[0].text, 'served statelessly');
        const greeting = await client.getPrompt({ name: 'pinned__greet', arguments: { who: 'Ada' } });
        assert.equal(greeting.messages[0].content.text, 'Greet Ada');
      } finally {
        await client.close();
      }
    }

    // 5. The modern upstream asks for input: a handshake-era host answers real requests.
    const asked = [];
    const legacyHost = new ClientV1({ name: 'legacy-input-e2e', version: '1.0.0' },
      { capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true } } });
    legacyHost.setRequestHandler(ElicitRequestSchema, async (req) => {
      asked.push(`elicit:${req.params.message}`);
      const colour = req.params.message.includes('colour');
      return { action: 'accept', content: colour ? { color: 'blue' } : { name: 'Alice' } };
    });
    legacyHost.setRequestHandler(CreateMessageRequestSchema, async (req) => {
      asked.push(`sample:${req.params.messages[0].content.text}`);
      return { role: 'assistant', content: { type: 'text', text: 'Paris' }, model: 'fake-model', stopReason: 'endTurn' };
    });
    legacyHost.setRequestHandler(ListRootsRequestSchema, async () => {
      asked.push('roots');
      return { roots: [{ uri: 'file:///tmp/root', name: 'root' }] };
    });
    await legacyHost.connect(new StdioV1(stdio));
    try {
      assert.equal(text(await legacyHost.callTool({ name: 'pinned__confirm', arguments: {} })), 'Hello, Alice!');
      assert.equal(text(await legacyHost.callTool({ name: 'found__ask_llm', arguments: { question: 'Capital of France?' } })),
        'LLM said: Paris');
      assert.deepEqual(asked.splice(0), ['elicit:What is your name?', 'sample:Capital of France?']);
      assert.equal(text(await legacyHost.callTool({ name: 'pinned__everything_at_once', arguments: {} })),
        'Alice|Paris|file:///tmp/root');
      assert.deepEqual(asked.splice(0).sort(), ['elicit:Name?', 'roots', 'sample:Say hi'], 'one round, three questions');
      assert.equal(text(await legacyHost.callTool({ name: 'pinned__two_step', arguments: {} })), 'Alice likes blue',
        'the upstream\'s requestState is sent back byte for byte in the second round');
      assert.deepEqual(asked.splice(0), ['elicit:Step 1: name?', 'elicit:Step 2: colour?']);
      // Calls in flight at once each get their own answers.
      const both = await Promise.all([
        legacyHost.callTool({ name: 'pinned__confirm', arguments: {} }),
        legacyHost.callTool({ name: 'pinned__ask_llm', arguments: { question: 'Again?' } }),
      ]);
      assert.deepEqual(both.map(text), ['Hello, Alice!', 'LLM said: Paris']);
    } finally {
      await legacyHost.close();
    }
    // A tool the upstream adds at run time reaches the host: manifold listens for the
    // upstream's list changes (subscriptions/listen) and tells its hosts.
    const watcher = new ClientV1({ name: 'list-change-e2e', version: '1.0.0' });
    let changed;
    const heard = new Promise((resolve) => { changed = resolve; });
    watcher.setNotificationHandler(ToolListChangedNotificationSchema, () => changed());
    await watcher.connect(new StdioV1(stdio));
    try {
      assert.equal(text(await watcher.callTool({ name: 'pinned__add_tool', arguments: { name: 'fresh' } })), 'added fresh');
      let timer;
      await Promise.race([heard, new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('no tools/list_changed within 20 s')), 20000);
      })]).finally(() => clearTimeout(timer));
      const { tools } = await watcher.listTools();
      assert.ok(tools.some((t) => t.name === 'pinned__fresh'), JSON.stringify(tools.map((t) => t.name)));
      assert.equal(text(await watcher.callTool({ name: 'pinned__fresh', arguments: {} })), 'fresh is here');
    } finally {
      await watcher.close();
    }

    // Both ends 2026-07-28: the upstream's questions reach the host as the bridged call's
    // InputRequiredResult rounds (the SDK v2 client answers them and retries by itself).
    const modernAsked = [];
    const modernHost = new ClientV2({ name: 'modern-input-e2e', version: '1.0.0' },
      { capabilities: { elicitation: { form: {} }, sampling: {}, roots: {} }, versionNegotiation: { mode: { pin: modern } } });
    modernHost.setRequestHandler('elicitation/create', async (req) => {
      modernAsked.push(`elicit:${req.params.message}`);
      return { action: 'accept', content: req.params.message.includes('colour') ? { color: 'red' } : { name: 'Eve' } };
    });
    modernHost.setRequestHandler('sampling/createMessage', async () => {
      modernAsked.push('sample');
      return { role: 'assistant', content: { type: 'text', text: 'Nice' }, model: 'fake-model', stopReason: 'endTurn' };
    });
    modernHost.setRequestHandler('roots/list', async () => {
      modernAsked.push('roots');
      return { roots: [{ uri: 'file:///srv', name: 'srv' }] };
    });
    const modernWire = new StdioV2(stdio);
    await modernHost.connect(modernWire);
    // The inputRequests keys the host sees: the upstream's own (unique within each round).
    const hostKeys = [];
    const delivered = modernWire.onmessage;
    modernWire.onmessage = (message, extra) => {
      if (message.result?.resultType === 'input_required') hostKeys.push(Object.keys(message.result.inputRequests ?? {}).sort());
      delivered(message, extra);
    };
    try {
      assert.equal(text(await modernHost.callTool({ name: 'pinned__confirm', arguments: {} })), 'Hello, Eve!');
      assert.equal(text(await modernHost.callTool({ name: 'pinned__everything_at_once', arguments: {} })), 'Eve|Nice|file:///srv');
      assert.equal(text(await modernHost.callTool({ name: 'found__two_step', arguments: {} })), 'Eve likes red');
      assert.deepEqual(modernAsked.splice(0).sort(),
        ['elicit:Name?', 'elicit:Step 1: name?', 'elicit:Step 2: colour?', 'elicit:What is your name?', 'roots', 'sample']);
      assert.deepEqual(hostKeys.splice(0), [['user_name'], ['llm', 'where', 'who'], ['step1'], ['step2']]);
    } finally {
      await modernHost.close();
    }

    // A host that declared no elicitation is never asked; the call fails clearly.
    const plainHost = new ClientV1({ name: 'plain-e2e', version: '1.0.0' }, { capabilities: {} });
    await plainHost.connect(new StdioV1(stdio));
    try {
      let outcome;
      try {
        const r = await plainHost.callTool({ name: 'pinned__confirm', arguments: {} });
        outcome = `${r.isError ? 'isError' : 'ok'}: ${text(r)}`;
      } catch (e) {
        outcome = `error ${e.code}: ${e.message}`;
      }
      assert.match(outcome, /isError|error -32021|error -32603/, outcome);
      assert.match(outcome, /elicitation|capabilit/i, outcome);
      assert.equal(text(await plainHost.callTool({ name: 'pinned__echo', arguments: { text: 'still fine' } })),
        'modern echo: still fine');
    } finally {
      await plainHost.close();
    }

    // 6. Over Streamable HTTP: the SDK v2 server's own handler (legacy: 'reject').
    const portFile = join(setup.dir, 'modern-http.port');
    const web = spawn(node, [modernOnly, 'http', portFile], { stdio: ['ignore', 'inherit', 'inherit'] });
    const everythingWeb = await everythingOverHttp('streamableHttp', setup.dir);
    try {
      for (let i = 0; i < 500 && !existsSync(portFile); i++) await new Promise((r) => setTimeout(r, 20));
      const webUrl = `http://127.0.0.1:${readFileSync(portFile, 'utf8')}/mcp`;
      writeFileSync(setup.config, `servers:
  webmodern:
    url: ${JSON.stringify(webUrl)}
    protocol: modern
  webauto:
    url: ${JSON.stringify(webUrl)}
    protocol: auto
  handshake:
    url: ${JSON.stringify(everythingWeb.url)}
    protocol: auto
`);
      const host = new ClientV1({ name: 'legacy-web-e2e', version: '1.0.0' }, { capabilities: { elicitation: {}, sampling: {} } });
      host.setRequestHandler(ElicitRequestSchema, async (req) => ({ action: 'accept',
        content: req.params.message.includes('colour') ? { color: 'green' } : { name: 'Bob' } }));
      host.setRequestHandler(CreateMessageRequestSchema, async () =>
        ({ role: 'assistant', content: { type: 'text', text: 'Lyon' }, model: 'fake-model', stopReason: 'endTurn' }));
      await host.connect(new StdioV1(stdio));
      try {
        const { tools } = await host.listTools();
        for (const n of ['webmodern__echo', 'webauto__echo', 'handshake__echo']) assert.ok(tools.some((t) => t.name === n), n);
        assert.equal(text(await host.callTool({ name: 'webmodern__echo', arguments: { text: 'über http' } })), 'modern echo: über http');
        assert.equal(text(await host.callTool({ name: 'webauto__confirm', arguments: {} })), 'Hello, Bob!');
        assert.equal(text(await host.callTool({ name: 'webmodern__ask_llm', arguments: { question: 'Second city?' } })), 'LLM said: Lyon');
        assert.equal(text(await host.callTool({ name: 'webmodern__two_step', arguments: {} })), 'Bob likes green');
        assert.equal(text(await host.callTool({ name: 'handshake__echo', arguments: { message: 'fallback' } })), 'Echo: fallback');
        // What reached the server: never a session, always the standard headers.
        const seen = JSON.parse(text(await host.callTool({ name: 'webmodern__seen_headers', arguments: {} })));
        const posts = seen.filter((r) => r.method === 'POST');
        assert.ok(posts.length >= 8, JSON.stringify(seen));
        for (const r of posts) {
          assert.equal(r.session, null, 'no Mcp-Session-Id');
          assert.equal(r.version, modern);
          assert.ok(r.mcpMethod, JSON.stringify(r));
        }
        const calls = posts.filter((r) => r.mcpMethod === 'tools/call').map((r) => r.mcpName);
        assert.ok(calls.includes('echo') && calls.includes('confirm') && calls.includes('two_step'), JSON.stringify(calls));
        assert.equal(seen.filter((r) => r.method === 'GET').length, 0, 'no GET stream is opened');
      } finally {
        await host.close();
      }
      const modernHost = v2({ mode: { pin: modern } });
      await modernHost.connect(new StdioV2(stdio));
      try {
        assert.equal(text(await modernHost.callTool({ name: 'webmodern__echo', arguments: { text: 'all modern' } })),
          'modern echo: all modern');
      } finally {
        await modernHost.close();
      }
    } finally {
      web.kill('SIGTERM');
      await everythingWeb.stop();
    }
  } finally {
    setup.cleanup();
  }
});
