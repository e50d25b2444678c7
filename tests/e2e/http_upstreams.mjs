// manifold as a client of network upstreams: server-everything over Streamable HTTP and over
// the legacy HTTP+SSE transport (found by `transport: auto`), and a second manifold over
// WebSocket; a real SDK client drives the first manifold over stdio.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { everythingOverHttp, manifoldBinary, manifoldEnv, referenceSetup, run, serveHttp } from './lib.mjs';

const text = (r) => r.content.filter((c) => c.type === 'text').map((c) => c.text).join('\n');

await run('e2e_http_upstreams', async () => {
  const setup = referenceSetup();
  const streamable = await everythingOverHttp('streamableHttp', setup.dir);
  const legacy = await everythingOverHttp('sse', setup.dir);
  // A second manifold serves the memory server over HTTP; the first reaches it by WebSocket.
  let inner = await serveHttp(setup.config);
  const innerPort = inner.port;
  const outer = join(setup.dir, 'outer.yaml');
  writeFileSync(outer, `servers:
  streamable:
    url: ${streamable.url}
    transport: http
  legacy:
    url: ${legacy.url}
    transport: auto
  chained:
    url: ws://127.0.0.1:${inner.port}/ws
  restarted:
    url: http://127.0.0.1:${inner.port}/mcp
    transport: http
`);
  const client = new Client({ name: 'e2e', version: '1.0.0' }, { capabilities: { sampling: {} } });
  client.setRequestHandler(CreateMessageRequestSchema, async () => ({
    role: 'assistant', model: 'm', content: { type: 'text', text: 'sampled through two hops' } }));
  try {
    await client.connect(new StdioClientTransport({ command: manifoldBinary(),
      args: ['--log-level', 'warn', 'serve', '--config', outer], stderr: 'inherit',
      env: manifoldEnv(getDefaultEnvironment()) }));
    const { tools } = await client.listTools();
    const names = new Set(tools.map((t) => t.name));
    for (const n of ['streamable__echo', 'legacy__echo', 'chained__memory__read_graph', 'chained__everything__echo']) {
      assert.ok(names.has(n), `${n} missing`);
    }
    assert.equal(text(await client.callTool({ name: 'streamable__echo', arguments: { message: 'a' } })), 'Echo: a');
    assert.equal(text(await client.callTool({ name: 'legacy__echo', arguments: { message: 'b' } })), 'Echo: b');
    assert.equal(text(await client.callTool({ name: 'chained__everything__echo', arguments: { message: 'c' } })), 'Echo: c');

    // Progress and a server-to-client request over the upstream's SSE streams.
    const progress = [];
    await client.callTool({ name: 'streamable__trigger-long-running-operation',
      arguments: { duration: 0.6, steps: 3 } }, undefined, { onprogress: (p) => progress.push(p.progress) });
    assert.ok(progress.length >= 2, JSON.stringify(progress));
    const sampled = await client.callTool({ name: 'streamable__trigger-sampling-request',
      arguments: { prompt: 'hi', maxTokens: 5 } });
    assert.match(text(sampled), /sampled through two hops/);

    // Resources with templates, pagination and URIs across the HTTP hop.
    const { resources } = await client.listResources();
    const first = resources.find((r) => r.uri.startsWith('streamable+demo://'));
    const read = await client.readResource({ uri: first.uri });
    assert.equal(read.contents[0].uri, first.uri);

    // Many concurrent calls over pooled keep-alive connections.
    const calls = [];
    for (let i = 0; i < 50; i++) {
      calls.push(client.callTool({ name: i % 2 ? 'streamable__get-sum' : 'legacy__get-sum', arguments: { a: i, b: 1 } })
        .then((r) => assert.equal(text(r), `The sum of ${i} and 1 is ${i + 1}.`)));
    }
    await Promise.all(calls);

    // The inner manifold restarts on the same port and forgets every session: the next call
    // gets 404, and manifold initializes a new session and retries it once.
    assert.equal(text(await client.callTool({ name: 'restarted__everything__echo', arguments: { message: 'd' } })), 'Echo: d');
    await inner.stop();
    inner = await serveHttp(setup.config, [], innerPort);
    assert.equal(text(await client.callTool({ name: 'restarted__everything__echo', arguments: { message: 'e' } })), 'Echo: e');
  } finally {
    await client.close();
    await inner.stop();
    await streamable.stop();
    await legacy.stop();
    setup.cleanup();
  }
});
