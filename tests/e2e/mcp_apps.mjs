// MCP Apps through manifold with namespacing on: two ext-apps example servers (and a twin of
// one) behind manifold over HTTP. A host finds each app tool's `ui://` resource listed and
// readable under the URI the tool names; what the app itself sends (unprefixed tool names,
// its server's own `ui://` URI) reaches the one upstream the session may see, and is refused
// as ambiguous where two could be meant. A fake upstream records what manifold declares to it.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { node, pkg, run, serveHttp } from './lib.mjs';

const appMime = 'text/html;profile=mcp-app';
const uiExtension = { 'io.modelcontextprotocol/ui': { mimeTypes: [appMime] } };

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'manifold-apps-'));
  const q = JSON.stringify;
  const app = (name) => `    command: ${q(node)}\n    args: [${q(pkg(name))}, --stdio]\n`;
  const config = join(dir, 'manifold.yaml');
  const record = join(dir, 'fake.jsonl');
  const fake = process.argv[3];
  if (!fake) throw new Error('usage: node mcp_apps.mjs <manifold> <fake_mcp_server>');
  // `system-monitor` is named like the first segment of its app's URI
  // (ui://system-monitor/mcp-app.html): the namespaced URI and the original must not be confused.
  writeFileSync(config, `servers:
  basic:
${app('server-basic-vanillajs')}  system-monitor:
${app('server-system-monitor')}  twin:
${app('server-basic-vanillajs')}  fake:
    command: ${q(fake)}
    args: [--name, fake, --record, ${q(record)}, --extension, com.example/apps-test]
groups:
  apps:
    include: ["basic__*", "system-monitor__*", "ui://basic/*", "ui://system-monitor/*"]
`);
  return { config, record, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

async function connect(url) {
  const client = new Client({ name: 'apps-host', version: '1.0.0' }, { capabilities: { extensions: uiExtension } });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

const rejectsWith = (promise, code, pattern) =>
  assert.rejects(promise, (err) => err.code === code && pattern.test(err.message));

// The tool's resourceUri is listed, keeps ui://, and reads back as the app's HTML.
async function checkApp(client, toolName, expectedUri) {
  const { tools } = await client.listTools();
  const tool = tools.find((t) => t.name === toolName);
  assert.ok(tool, `${toolName} listed in ${tools.map((t) => t.name).join(', ')}`);
  const uri = tool._meta.ui.resourceUri;
  assert.equal(uri, expectedUri);
  assert.ok(uri.startsWith('ui://'), 'hosts accept only ui:// app URIs');
  assert.equal(tool._meta['ui/resourceUri'], uri, 'the older flat key names the same resource');
  const { resources } = await client.listResources();
  const listed = resources.find((r) => r.uri === uri);
  assert.ok(listed, `${uri} listed in ${resources.map((r) => r.uri).join(', ')}`);
  assert.equal(listed.mimeType, appMime);
  assert.equal(listed.name, uri, 'a name that was the URI follows it');
  const read = await client.readResource({ uri });
  assert.equal(read.contents.length, 1);
  assert.equal(read.contents[0].uri, uri);
  assert.equal(read.contents[0].mimeType, appMime);
  assert.match(read.contents[0].text, /^<!doctype html>/i);
  return read.contents[0].text;
}

await run('e2e_mcp_apps', async () => {
  const s = setup();
  const server = await serveHttp(s.config);
  try {
    // A host of the `apps` group: basic and system-monitor visible, the twin hidden.
    const host = await connect(`${server.url}/mcp/apps`);
    // Extensions: upstreams' reach the host; over HTTP manifold declares MCP Apps upstream.
    assert.deepEqual(host.getServerCapabilities().extensions, { 'com.example/apps-test': { by: 'fake' } });
    const initialize = JSON.parse(readFileSync(s.record, 'utf8').split('\n')[0]);
    assert.equal(initialize.method, 'initialize');
    assert.deepEqual(initialize.params.capabilities.extensions, uiExtension);
    const html = await checkApp(host, 'basic__get-time', 'ui://basic/get-time/mcp-app.html');
    await checkApp(host, 'system-monitor__get-system-info', 'ui://system-monitor/system-monitor/mcp-app.html');

    // The model calls the app tool by its exposed name.
    const byModel = await host.callTool({ name: 'basic__get-time', arguments: {} });
    assert.equal(typeof byModel.structuredContent.time, 'string');

    // App-only tools keep their visibility meta (and no resourceUri is invented).
    const { tools } = await host.listTools();
    const poll = tools.find((t) => t.name === 'system-monitor__poll-system-stats');
    assert.ok(poll, 'the app-only tool is listed (hosts hide it from the model)');
    assert.deepEqual(poll._meta, { ui: { visibility: ['app'] } });

    // What the apps send: their server's own tool names and URIs.
    const byApp = await host.callTool({ name: 'get-time', arguments: {} });
    assert.equal(typeof byApp.structuredContent.time, 'string');
    const stats = await host.callTool({ name: 'poll-system-stats', arguments: {} });
    assert.notEqual(stats.isError, true, JSON.stringify(stats).slice(0, 300));
    const own = await host.readResource({ uri: 'ui://get-time/mcp-app.html' });
    assert.equal(own.contents.length, 1);
    assert.equal(own.contents[0].text, html);
    assert.equal(own.contents[0].mimeType, appMime);
    const monitor = await host.readResource({ uri: 'ui://system-monitor/mcp-app.html' });
    assert.match(monitor.contents[0].text, /^<!doctype html>/i);

    // The twin is hidden from this group: by either name, and its URIs.
    await rejectsWith(host.callTool({ name: 'twin__get-time', arguments: {} }), -32602, /Unknown tool/);
    await rejectsWith(host.readResource({ uri: 'ui://twin/get-time/mcp-app.html' }), -32002, /not found/i);
    await host.close();

    // The whole catalog: two upstreams offer get-time and ui://get-time/mcp-app.html.
    const all = await connect(`${server.url}/mcp`);
    await checkApp(all, 'twin__get-time', 'ui://twin/get-time/mcp-app.html');
    await rejectsWith(all.callTool({ name: 'get-time', arguments: {} }), -32602, /Ambiguous tool name `get-time`: 2/);
    await rejectsWith(all.readResource({ uri: 'ui://get-time/mcp-app.html' }), -32602, /Ambiguous resource URI/);
    const monitorAgain = await all.readResource({ uri: 'ui://system-monitor/mcp-app.html' });
    assert.equal(monitorAgain.contents.length, 1, 'one system monitor: its own URI is not ambiguous');
    await all.close();
  } finally {
    await server.stop();
    s.cleanup();
  }
});
