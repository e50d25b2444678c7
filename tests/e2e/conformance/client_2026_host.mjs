// The host side of one MCP 2026-07-28 client scenario (client_2026.sh): an SDK 1.x client
// drives `manifold serve` over stdio, with the scenario's mock server as manifold's only
// upstream, so that manifold's upstream side makes the requests the mock checks:
//   - every tool listed and called (arguments built from its input schema; for
//     http-custom-headers, exactly the calls in MCP_CONFORMANCE_CONTEXT.toolCalls, and for
//     tools_call, add_numbers 2 + 3; for json-schema-2020-12-preservation, the echo tool with
//     the rich tool's schema), every resource read, every prompt got;
//   - the host answers elicitation with {action: "accept", content: {confirmed: true}} (the
//     multi-round-trip scenario asks for a confirmation) and declares only that capability.
// Failures of single requests are printed and do not stop the run: the mock judges.
//   node client_2026_host.mjs <manifold binary> <config>
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const [manifold, config] = process.argv.slice(2);
const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? '';
const context = process.env.MCP_CONFORMANCE_CONTEXT ? JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT) : {};

// A value of a schema's type, for required arguments.
function sample(schema) {
  switch (Array.isArray(schema?.type) ? schema.type.find((t) => t !== 'null') : schema?.type) {
    case 'string': return schema.enum?.[0] ?? 'conformance';
    case 'integer': case 'number': return 1;
    case 'boolean': return true;
    case 'array': return [];
    case 'object': return {};
    default: return 'conformance';
  }
}

function argumentsFor(tool) {
  const args = {};
  const props = tool.inputSchema?.properties ?? {};
  for (const name of tool.inputSchema?.required ?? []) args[name] = sample(props[name]);
  return args;
}

async function attempt(what, fn) {
  try {
    return await fn();
  } catch (e) {
    console.log(`${what}: ${e.message}`);
    return undefined;
  }
}

const client = new Client({ name: 'manifold-conformance-host', version: '1.0.0' }, { capabilities: { elicitation: {} } });
client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { confirmed: true } }));
await client.connect(new StdioClientTransport({
  command: manifold,
  args: ['--log-level', process.env.MANIFOLD_LOG_LEVEL ?? 'warn', 'serve', '--config', config],
  env: { ...process.env, MANIFOLD_INITIALIZE_GRACE: process.env.MANIFOLD_INITIALIZE_GRACE ?? '30s' },
  stderr: 'inherit',
}));
try {
  const tools = (await attempt('tools/list', () => client.listTools()))?.tools ?? [];
  console.log(`tools: ${tools.map((t) => t.name).join(', ') || '(none)'}`);
  let calls;
  if (scenario === 'http-custom-headers' && Array.isArray(context.toolCalls)) {
    calls = context.toolCalls;
  } else if (scenario === 'tools_call') {
    calls = [{ name: 'add_numbers', arguments: { a: 2, b: 3 } }];
  } else if (scenario === 'json-schema-2020-12-preservation') {
    // The echo tool gets the rich tool's inputSchema as manifold relayed it.
    const rich = tools.find((t) => t.name === 'json_schema_2020_12_tool');
    calls = [{ name: 'json_schema_echo', arguments: { schema: rich?.inputSchema ?? {} } }];
  } else {
    calls = tools.map((t) => ({ name: t.name, arguments: argumentsFor(t) }));
  }
  for (const call of calls) {
    const result = await attempt(`tools/call ${call.name}`, () => client.callTool(call));
    if (result) console.log(`tools/call ${call.name}: ${JSON.stringify(result.content ?? result).slice(0, 200)}`);
  }
  const resources = (await attempt('resources/list', () => client.listResources()))?.resources ?? [];
  for (const r of resources) await attempt(`resources/read ${r.uri}`, () => client.readResource({ uri: r.uri }));
  const prompts = (await attempt('prompts/list', () => client.listPrompts()))?.prompts ?? [];
  for (const p of prompts) {
    const args = Object.fromEntries((p.arguments ?? []).filter((a) => a.required).map((a) => [a.name, 'conformance']));
    await attempt(`prompts/get ${p.name}`, () => client.getPrompt({ name: p.name, arguments: args }));
  }
} finally {
  await client.close();
}
