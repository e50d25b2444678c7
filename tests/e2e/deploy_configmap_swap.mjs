// A config mounted from a Kubernetes ConfigMap is updated by the kubelet without touching
// the file's own name: the files live in a timestamped directory, `..data` is a symlink to
// it, `manifold.yaml` is a symlink to `..data/manifold.yaml`, and an update writes a new
// directory, points `..data_tmp` at it and renames that over `..data`. This test lays out
// such a directory, serves from it, performs that swap and expects manifold to reload by
// itself, as it does for a file written in place or replaced by rename (the watcher follows
// the file's identity through the symlinks). Should it not, SIGHUP shows whether the new
// file itself is fine.
//   node deploy_configmap_swap.mjs <manifold> <fake_mcp_server>
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { run, serveHttp } from './lib.mjs';

const fake = process.argv[3];

function writeVersion(dir, stamp, server) {
  mkdirSync(join(dir, stamp));
  writeFileSync(join(dir, stamp, 'manifold.yaml'), `servers:\n  ${server}:\n    command: ${JSON.stringify(fake)}\n`);
}

async function toolNames(url) {
  const client = new Client({ name: 'configmap-swap', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
  try {
    return (await client.listTools()).tools.map((t) => t.name);
  } finally {
    await client.close();
  }
}

// Bounded poll (about 5 s) until `name` is served.
async function appears(url, name) {
  for (let i = 0; i < 25; i++) {
    if ((await toolNames(url)).includes(name)) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

await run('deploy_configmap_swap', async () => {
  assert.ok(fake, 'usage: node deploy_configmap_swap.mjs <manifold> <fake_mcp_server>');
  const dir = mkdtempSync(join(tmpdir(), 'manifold-configmap-'));
  let server;
  try {
    writeVersion(dir, '..2026_01_01_00_00_00.000000001', 'alpha');
    symlinkSync('..2026_01_01_00_00_00.000000001', join(dir, '..data'));
    symlinkSync('..data/manifold.yaml', join(dir, 'manifold.yaml'));
    server = await serveHttp(join(dir, 'manifold.yaml'));
    assert.ok(await appears(server.url, 'alpha__echo'), 'serves the first version');

    // The kubelet's update.
    writeVersion(dir, '..2026_01_01_00_01_00.000000002', 'beta');
    symlinkSync('..2026_01_01_00_01_00.000000002', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    rmSync(join(dir, '..2026_01_01_00_00_00.000000001'), { recursive: true });
    const noticed = await appears(server.url, 'beta__echo');
    if (!noticed) {
      server.child.kill('SIGHUP');
      const afterHup = await appears(server.url, 'beta__echo');
      assert.fail(`manifold did not reload after the ..data symlink swap (after SIGHUP: ${afterHup ? 'reloaded' : 'still not'})`);
    }
  } finally {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
