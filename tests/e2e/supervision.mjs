// A real SDK client through manifold while a real server (the reference memory server) is
// killed: the client hears its tools go (list_changed), then come back (list_changed) when
// manifold has restarted it, and its later calls succeed. Waits are on notifications, with
// deadlines; nothing sleeps.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { manifoldBinary, manifoldEnv, referenceSetup, run } from './lib.mjs';

// The children of `parent` whose command line contains `needle`, from /proc.
function childrenOf(parent, needle) {
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== parent) continue;
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(needle)) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

// Resolves on the next tools/list_changed, or rejects after `ms`.
function listChanged(waiters, ms = 30000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no tools/list_changed within deadline')), ms);
    waiters.push(() => { clearTimeout(timer); resolve(); });
  });
}

const text = (r) => r.content.filter((c) => c.type === 'text').map((c) => c.text).join('\n');

await run('e2e_supervision', async () => {
  const setup = referenceSetup(`lifecycle:
  restart: {backoff: 100ms, max_backoff: 1s}
  health: false
`);
  const client = new Client({ name: 'e2e-supervision', version: '1.0.0' }, { capabilities: {} });
  const waiters = [];
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    const next = waiters.shift();
    if (next) next();
  });
  const transport = new StdioClientTransport({ command: manifoldBinary(),
    args: ['--log-level', 'info', 'serve', '--config', setup.config], stderr: 'inherit',
    env: manifoldEnv(getDefaultEnvironment()) });
  try {
    await client.connect(transport);
    const before = new Set((await client.listTools()).tools.map((t) => t.name));
    assert.ok(before.has('memory__read_graph'), 'memory__read_graph missing at start');
    await client.callTool({ name: 'memory__create_entities',
      arguments: { entities: [{ name: 'manifold', entityType: 'project', observations: ['survives crashes'] }] } });

    const [memory] = childrenOf(transport.pid, 'server-memory');
    assert.ok(memory, 'the memory server is not a child of manifold');
    const gone = listChanged(waiters);
    const back = listChanged(waiters);
    process.kill(memory, 'SIGKILL');
    await gone;
    // Between the two notifications the memory tools may already be back; what matters is
    // that they were withdrawn (the first notification) and returned (the second).
    await back;
    const after = new Set((await client.listTools()).tools.map((t) => t.name));
    assert.ok(after.has('memory__read_graph'), 'memory tools did not come back');
    const [restarted] = childrenOf(transport.pid, 'server-memory');
    assert.ok(restarted && restarted !== memory, 'no new memory server process');
    // The new process reads the same memory file: the entity is still there.
    const graph = text(await client.callTool({ name: 'memory__read_graph', arguments: {} }));
    assert.match(graph, /survives crashes/);
    // The other servers never noticed.
    assert.equal(text(await client.callTool({ name: 'everything__echo', arguments: { message: 'still here' } })),
      'Echo: still here');
  } finally {
    await client.close();
    setup.cleanup();
  }
});
