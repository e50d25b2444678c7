// The official MCP Inspector CLI lists and calls tools through manifold over stdio.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { manifoldBinary, modules, node, referenceSetup, run } from './lib.mjs';

const inspector = join(modules, '@modelcontextprotocol', 'inspector', 'clients', 'launcher', 'build', 'index.js');

function inspect(setup, ...args) {
  const home = join(setup.dir, 'home');
  mkdirSync(home, { recursive: true });
  // -c rather than --config: the Inspector has a --config option of its own.
  const r = spawnSync(node, [inspector, '--cli', '--format', 'json', manifoldBinary(), 'serve',
    '-c', setup.config, ...args], {
    env: { ...process.env, HOME: home, MANIFOLD_LOG_LEVEL: 'warn' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.status, 0, `inspector failed: ${r.stderr}\n${r.stdout}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

await run('e2e_inspector_cli', async () => {
  const setup = referenceSetup();
  try {
    const list = inspect(setup, '--method', 'tools/list');
    const names = list.result.tools.map((t) => t.name);
    assert.ok(names.includes('everything__get-sum'));
    assert.ok(names.includes('memory__search_nodes'));
    assert.ok(names.includes('filesystem__list_allowed_directories'));

    const sum = inspect(setup, '--method', 'tools/call', '--tool-name', 'everything__get-sum',
      '--tool-arg', 'a=40', 'b=2');
    assert.equal(sum.result.content[0].text, 'The sum of 40 and 2 is 42.');

    const dirs = inspect(setup, '--method', 'tools/call', '--tool-name',
      'filesystem__list_allowed_directories');
    assert.match(dirs.result.content[0].text, new RegExp(setup.root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  } finally {
    setup.cleanup();
  }
});
