// A real MCP client (the official TypeScript SDK) talks to manifold over stdio; manifold
// fronts the real everything, memory and filesystem servers.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { manifoldBinary, manifoldEnv, referenceSetup, run } from './lib.mjs';

await run('e2e_stdio_reference', async () => {
  const setup = referenceSetup();
  const transport = new StdioClientTransport({
    command: manifoldBinary(),
    args: ['--log-level', 'warn', 'serve', '--config', setup.config],
    env: manifoldEnv(getDefaultEnvironment()),
    stderr: 'inherit',
  });
  const client = new Client({ name: 'manifold-e2e', version: '1.0.0' });
  try {
    await client.connect(transport);
    assert.equal(client.getServerVersion().name, 'manifold');

    const { tools } = await client.listTools();
    const names = new Set(tools.map((t) => t.name));
    for (const expected of ['everything__echo', 'everything__get-sum', 'memory__create_entities',
      'memory__read_graph', 'filesystem__read_text_file', 'filesystem__list_directory']) {
      assert.ok(names.has(expected), `missing ${expected} in ${[...names].join(', ')}`);
    }
    const structured = tools.find((t) => t.name === 'everything__get-structured-content');
    assert.ok(structured.outputSchema, 'outputSchema is kept');
    assert.equal(tools.filter((t) => t.name.startsWith('everything__')).length > 5, true);

    const echo = await client.callTool({ name: 'everything__echo', arguments: { message: 'hello' } });
    assert.equal(echo.content[0].text, 'Echo: hello');

    const sum = await client.callTool({ name: 'everything__get-sum', arguments: { a: 2, b: 3 } });
    assert.equal(sum.content[0].text, 'The sum of 2 and 3 is 5.');

    const weather = await client.callTool({
      name: 'everything__get-structured-content', arguments: { location: 'New York' } });
    assert.equal(typeof weather.structuredContent.temperature, 'number');

    await client.callTool({
      name: 'memory__create_entities',
      arguments: { entities: [{ name: 'manifold', entityType: 'project', observations: ['one entry for ten servers'] }] },
    });
    const graph = await client.callTool({ name: 'memory__read_graph', arguments: {} });
    assert.match(graph.content[0].text, /one entry for ten servers/);

    const file = await client.callTool({
      name: 'filesystem__read_text_file', arguments: { path: join(setup.root, 'notes.txt') } });
    assert.equal(file.content[0].text, 'manifold end-to-end notes\n');

    const outside = await client.callTool({
      name: 'filesystem__read_text_file', arguments: { path: '/etc/hostname' } });
    assert.equal(outside.isError, true, 'the filesystem server refuses paths outside its root');

    await assert.rejects(client.callTool({ name: 'nobody__nothing', arguments: {} }),
      (err) => err.code === -32602 && /Unknown tool/.test(err.message));

    // 200 concurrent calls from one session, across two upstreams: each reply reaches its caller.
    const calls = [];
    for (let i = 0; i < 200; i++) {
      if (i % 2 === 0) {
        calls.push(client.callTool({ name: 'everything__echo', arguments: { message: `m${i}` } })
          .then((r) => assert.equal(r.content[0].text, `Echo: m${i}`)));
      } else {
        calls.push(client.callTool({ name: 'everything__get-sum', arguments: { a: i, b: 1000 } })
          .then((r) => assert.equal(r.content[0].text, `The sum of ${i} and 1000 is ${i + 1000}.`)));
      }
    }
    await Promise.all(calls);
  } finally {
    await client.close();
    setup.cleanup();
  }
});
