// The three reference servers behind the policy a platform team would write
// (samples/policy.yaml), through a real SDK client: hidden tools, resources and templates
// are absent from lists and refused exactly like things that never existed.
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { here, manifoldBinary, run } from './lib.mjs';

const repo = dirname(dirname(here));

await run('e2e_policy', async () => {
  const client = new Client({ name: 'policy-e2e', version: '1.0.0' });
  await client.connect(new StdioClientTransport({ command: manifoldBinary(),
    args: ['--log-level', 'warn', 'serve', '--config', join(repo, 'samples', 'policy.yaml')],
    cwd: repo, stderr: 'inherit', env: { ...process.env, MEMORY_FILE_PATH: join(repo, 'build', 'policy-memory.jsonl') } }));
  try {
    const names = (await client.listTools()).tools.map((t) => t.name);
    for (const hidden of ['everything__trigger-sampling-request', 'everything__get-env',
      'everything__toggle-simulated-logging', 'memory__delete_entities', 'filesystem__write_file']) {
      assert.ok(!names.includes(hidden), `${hidden} is listed`);
      await assert.rejects(client.callTool({ name: hidden, arguments: {} }),
        (e) => e.code === -32602 && e.message.includes(`Unknown tool: ${hidden}`));
    }
    for (const shown of ['everything__echo', 'memory__read_graph', 'filesystem__read_text_file']) {
      assert.ok(names.includes(shown), `${shown} missing`);
    }
    const file = await client.callTool({ name: 'filesystem__read_text_file',
      arguments: { path: join(repo, 'samples', 'demo-root', 'hello.txt') } });
    assert.equal(file.content[0].text.trim(), 'Hello from the manifold demo.');

    const { resourceTemplates } = await client.listResourceTemplates();
    assert.equal(resourceTemplates.length, 0, 'dynamic templates are hidden by resources.allow');
    await assert.rejects(client.readResource({ uri: 'everything+demo://resource/dynamic/text/1' }),
      (e) => e.code === -32002);
    const { resources } = await client.listResources();
    const staticDoc = resources.find((r) => r.uri.startsWith('everything+demo://resource/static/'));
    assert.ok((await client.readResource({ uri: staticDoc.uri })).contents.length > 0);
  } finally {
    await client.close();
  }
});
