// A real MCP client (the official TypeScript SDK) against a deployed manifold, for the
// deploy tests: waits until URL/readyz answers 200 (bounded), then over Streamable HTTP
// lists the tools, expects TOOL among them, calls it with {"text": TEXT} and expects TEXT
// back.
//   node deploy_client.mjs URL TOOL TEXT
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { run } from './lib.mjs';

const [url, tool, text] = process.argv.slice(2);

await run('deploy_client', async () => {
  assert.ok(url && tool && text, 'usage: node deploy_client.mjs URL TOOL TEXT');
  // Bounded poll (about 20 s) until the catalog is built.
  let status = 0;
  for (let i = 0; i < 100 && status !== 200; i++) {
    status = await fetch(`${url}/readyz`).then((r) => r.status, () => 0);
    if (status !== 200) await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(status, 200, `${url}/readyz`);
  const client = new Client({ name: 'deploy-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
  try {
    const { tools } = await client.listTools();
    assert.ok(tools.some((t) => t.name === tool), `${tool} in ${tools.map((t) => t.name)}`);
    const result = await client.callTool({ name: tool, arguments: { text } });
    assert.equal(result.isError ?? false, false);
    assert.deepEqual(result.structuredContent, { text });
    console.log(`${url}: ${tools.length} tools; ${tool} answered ${JSON.stringify(result.structuredContent)}`);
  } finally {
    await client.close();
  }
});
