// Connects the official MCP TypeScript SDK client to `manifold serve` over stdio, as a host
// would, and calls one tool of each upstream through it.
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

const require = createRequire(resolve('tests/e2e/package.json'));
const { Client } = require('@modelcontextprotocol/sdk/client/index.js');
const { StdioClientTransport } = require('@modelcontextprotocol/sdk/client/stdio.js');

const [manifold, config] = process.argv.slice(2);
const client = new Client({ name: 'manifold-demo', version: '1.0.0' });
await client.connect(new StdioClientTransport({
  command: manifold, args: ['--log-level', 'warn', 'serve', '--config', config], stderr: 'inherit' }));

const { tools } = await client.listTools();
console.log(`connected to ${client.getServerVersion().name}: ${tools.length} tools from one entry`);

async function show(name, args) {
  const result = await client.callTool({ name, arguments: args });
  const text = result.content.map((c) => c.text ?? `[${c.type}]`).join(' ').trim();
  console.log(`\n-> ${name} ${JSON.stringify(args)}\n<- ${text.length > 300 ? text.slice(0, 300) + ' ...' : text}`);
}
await show('everything__echo', { message: 'hello through manifold' });
await show('everything__get-sum', { a: 40, b: 2 });
await show('memory__create_entities', { entities: [{ name: 'manifold', entityType: 'project', observations: ['fronts many MCP servers'] }] });
await show('memory__search_nodes', { query: 'manifold' });
await show('filesystem__read_text_file', { path: resolve('samples/demo-root/hello.txt') });
await client.close();
