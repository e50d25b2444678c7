// The upstream manifold fronts when the official conformance suite tests manifold's HTTP
// side: an MCP server over stdio offering the names the suite's server scenarios call.
// manifold serves it with `naming.prefix: never`, so those names reach the suite unchanged.
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { completable } from '@modelcontextprotocol/sdk/server/completable.js';
import { z } from 'zod';

// A 1x1 PNG and a tiny WAV, base64.
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const WAV = 'UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA=';

const server = new McpServer(
  { name: 'manifold-conformance-fixture', version: '1.0.0' },
  { capabilities: { logging: {}, resources: { subscribe: true, listChanged: true }, completions: {} } },
);

const text = (t) => ({ content: [{ type: 'text', text: t }] });

server.registerTool('test_simple_text', { description: 'Returns simple text.' },
  async () => text('This is a simple text response for testing.'));
server.registerTool('test_image_content', { description: 'Returns an image.' },
  async () => ({ content: [{ type: 'image', data: PNG, mimeType: 'image/png' }] }));
server.registerTool('test_audio_content', { description: 'Returns audio.' },
  async () => ({ content: [{ type: 'audio', data: WAV, mimeType: 'audio/wav' }] }));
server.registerTool('test_embedded_resource', { description: 'Returns an embedded resource.' },
  async () => ({ content: [{ type: 'resource', resource: {
    uri: 'test://embedded-resource', mimeType: 'text/plain', text: 'This is an embedded resource content.' } }] }));
server.registerTool('test_multiple_content_types', { description: 'Returns text, an image and a resource.' },
  async () => ({ content: [
    { type: 'text', text: 'Multiple content types test:' },
    { type: 'image', data: PNG, mimeType: 'image/png' },
    { type: 'resource', resource: { uri: 'test://mixed-content-resource', mimeType: 'application/json',
      text: JSON.stringify({ test: 'data', value: 123 }) } },
  ] }));
server.registerTool('test_tool_with_logging', { description: 'Logs three messages while running.' },
  async (extra) => {
    for (const data of ['Tool execution started', 'Tool processing data', 'Tool execution completed']) {
      await extra.sendNotification({ method: 'notifications/message', params: { level: 'info', data } });
      await new Promise((r) => setTimeout(r, 50));
    }
    return text('Tool with logging executed successfully');
  });
server.registerTool('test_error_handling', { description: 'Always fails.' },
  async () => ({ isError: true, content: [{ type: 'text', text: 'This tool intentionally returns an error for testing' }] }));
server.registerTool('test_tool_with_progress', { description: 'Reports progress 0, 50, 100.' },
  async (extra) => {
    const token = extra._meta?.progressToken;
    for (const progress of [0, 50, 100]) {
      if (token !== undefined) {
        await extra.sendNotification({ method: 'notifications/progress',
          params: { progressToken: token, progress, total: 100, message: `Completed step ${progress / 50 + 1} of 3` } });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return text(String(token ?? 'no progress token'));
  });
server.registerTool('test_sampling', { description: 'Asks the client to sample.',
  inputSchema: { prompt: z.string() } }, async ({ prompt }, extra) => {
  const result = await extra.sendRequest({ method: 'sampling/createMessage', params: {
    messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens: 100 } },
  (await import('@modelcontextprotocol/sdk/types.js')).CreateMessageResultSchema);
  return text(`LLM response: ${result.content.type === 'text' ? result.content.text : ''}`);
});
server.registerTool('test_elicitation', { description: 'Asks the user for input.',
  inputSchema: { message: z.string() } }, async ({ message }, extra) => {
  const result = await extra.sendRequest({ method: 'elicitation/create', params: {
    message, requestedSchema: { type: 'object', properties: {
      username: { type: 'string', description: "User's response" },
      email: { type: 'string', description: "User's email address" } }, required: ['username', 'email'] } } },
  (await import('@modelcontextprotocol/sdk/types.js')).ElicitResultSchema);
  return text(`User response: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`);
});
server.registerTool('test_elicitation_sep1034_defaults', { description: 'Elicitation with defaults.' },
  async (extra) => {
    const result = await extra.sendRequest({ method: 'elicitation/create', params: {
      message: 'Please review and update the form fields with defaults',
      requestedSchema: { type: 'object', properties: {
        name: { type: 'string', description: 'User name', default: 'John Doe' },
        age: { type: 'integer', description: 'User age', default: 30 },
        score: { type: 'number', description: 'User score', default: 95.5 },
        status: { type: 'string', description: 'User status', enum: ['active', 'inactive', 'pending'], default: 'active' },
        verified: { type: 'boolean', description: 'Verification status', default: true },
      }, required: [] } } }, (await import('@modelcontextprotocol/sdk/types.js')).ElicitResultSchema);
    return text(`Elicitation completed: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`);
  });
server.registerTool('test_elicitation_sep1330_enums', { description: 'Elicitation with enum variants.' },
  async (extra) => {
    const result = await extra.sendRequest({ method: 'elicitation/create', params: {
      message: 'Please select options from the enum fields',
      requestedSchema: { type: 'object', properties: {
        untitledSingle: { type: 'string', description: 'Choose an option', enum: ['option1', 'option2', 'option3'] },
        titledSingle: { type: 'string', description: 'Choose a titled option',
          oneOf: [{ const: 'value1', title: 'First Option' }, { const: 'value2', title: 'Second Option' },
            { const: 'value3', title: 'Third Option' }] },
        legacyEnum: { type: 'string', description: 'Choose a legacy option', enum: ['opt1', 'opt2', 'opt3'],
          enumNames: ['Option One', 'Option Two', 'Option Three'] },
        untitledMulti: { type: 'array', description: 'Choose multiple options',
          items: { type: 'string', enum: ['option1', 'option2', 'option3'] } },
        titledMulti: { type: 'array', description: 'Choose multiple titled options',
          items: { anyOf: [{ const: 'value1', title: 'First Choice' }, { const: 'value2', title: 'Second Choice' },
            { const: 'value3', title: 'Third Choice' }] } },
      }, required: [] } } }, (await import('@modelcontextprotocol/sdk/types.js')).ElicitResultSchema);
    return text(`Elicitation completed: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`);
  });
server.registerTool('json_schema_2020_12_tool', {
  description: 'A tool whose input schema uses JSON Schema 2020-12 features.',
  inputSchema: { name: z.string().optional(), address: z.object({ street: z.string().optional(), city: z.string().optional() }).optional() },
}, async (args) => text(JSON.stringify(args)));
// Longer than manifold's quick-reply window (1 s), so that the answer is an SSE stream with
// a priming event, which is what the suite's server-sse-polling scenario examines.
server.registerTool('test_reconnection', { description: 'Answers after a pause.' }, async () => {
  await new Promise((r) => setTimeout(r, 1500));
  return text('Reconnection test completed');
});

server.registerResource('static-text', 'test://static-text', { mimeType: 'text/plain', description: 'Static text' },
  async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'This is the content of the static text resource.' }] }));
server.registerResource('static-binary', 'test://static-binary', { mimeType: 'image/png', description: 'Static binary' },
  async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'image/png', blob: PNG }] }));
server.registerResource('watched-resource', 'test://watched-resource', { mimeType: 'text/plain', description: 'Watched' },
  async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'Watched resource content' }] }));
server.registerResource('template', new ResourceTemplate('test://template/{id}/data', { list: undefined }),
  { mimeType: 'application/json', description: 'A resource template' },
  async (uri, { id }) => ({ contents: [{ uri: uri.href, mimeType: 'application/json',
    text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }) }] }));

server.registerPrompt('test_simple_prompt', { description: 'A simple prompt' },
  () => ({ messages: [{ role: 'user', content: { type: 'text', text: 'This is a simple prompt for testing.' } }] }));
server.registerPrompt('test_prompt_with_arguments', { description: 'A prompt with arguments',
  argsSchema: { arg1: completable(z.string().describe('First test argument'), (v) => ['paris', 'park', 'party'].filter((x) => x.startsWith(v))),
    arg2: z.string().describe('Second test argument') } },
({ arg1, arg2 }) => ({ messages: [{ role: 'user', content: { type: 'text', text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` } }] }));
server.registerPrompt('test_prompt_with_embedded_resource', { description: 'A prompt with a resource',
  argsSchema: { resourceUri: z.string().describe('URI of the resource to embed') } },
({ resourceUri }) => ({ messages: [
  { role: 'user', content: { type: 'resource', resource: { uri: resourceUri, mimeType: 'text/plain', text: 'Embedded resource content for testing.' } } },
  { role: 'user', content: { type: 'text', text: 'Please process the embedded resource above.' } }] }));
server.registerPrompt('test_prompt_with_image', { description: 'A prompt with an image' },
  () => ({ messages: [
    { role: 'user', content: { type: 'image', data: PNG, mimeType: 'image/png' } },
    { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } }] }));

// Diagnostic tools of the 2026-07-28 server-stateless scenario, written the handshake era's
// way: they push requests to the client, and manifold decides what a 2026-07-28 host hears
// (-32021 when the host's request lacks the capability, never a request on its stream).
server.registerTool('test_missing_capability', { description: 'Needs sampling from the client.' },
  async (extra) => {
    const result = await extra.sendRequest({ method: 'sampling/createMessage', params: {
      messages: [{ role: 'user', content: { type: 'text', text: 'Say hi' } }], maxTokens: 10 } },
    (await import('@modelcontextprotocol/sdk/types.js')).CreateMessageResultSchema);
    return text(`sampled: ${result.content.type === 'text' ? result.content.text : ''}`);
  });
server.registerTool('test_streaming_elicitation', { description: 'Asks the user while it runs.' },
  async (extra) => {
    try {
      const result = await extra.sendRequest({ method: 'elicitation/create', params: {
        message: 'Your name?', requestedSchema: { type: 'object', properties: { name: { type: 'string' } } } } },
      (await import('@modelcontextprotocol/sdk/types.js')).ElicitResultSchema);
      return text(`elicited: ${result.action}`);
    } catch (e) {
      return text(`no elicitation: ${e.message}`);
    }
  });
server.registerTool('test_logging_tool', { description: 'Logs while it runs.' },
  async (extra) => {
    await extra.sendNotification({ method: 'notifications/message', params: { level: 'info', data: 'logged' } });
    return text('logged once');
  });
let dynamic = 0;
server.registerTool('test_trigger_tool_change', { description: 'Adds a tool (tools/list_changed).' },
  async () => {
    const name = `dynamic_tool_${++dynamic}`;
    server.registerTool(name, { description: 'Added at run time.' }, async () => text(name));
    return text(`added ${name}`);
  });
server.registerTool('test_trigger_prompt_change', { description: 'Adds a prompt (prompts/list_changed).' },
  async () => {
    const name = `dynamic_prompt_${++dynamic}`;
    server.registerPrompt(name, { description: 'Added at run time.' },
      async () => ({ messages: [{ role: 'user', content: { type: 'text', text: name } }] }));
    return text(`added ${name}`);
  });

// Multi-round-trip tools of the 2026-07-28 input-required-result-* scenarios, written the
// handshake era's way: they push sampling, elicitation and roots requests during the call,
// and manifold turns them into InputRequiredResults (and the host's retries into answers).
const T = await import('@modelcontextprotocol/sdk/types.js');
const nameSchema = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] };
const elicit = (extra, message, requestedSchema = nameSchema) =>
  extra.sendRequest({ method: 'elicitation/create', params: { message, requestedSchema } }, T.ElicitResultSchema);
const sample = (extra, text) => extra.sendRequest({ method: 'sampling/createMessage', params: {
  messages: [{ role: 'user', content: { type: 'text', text } }], maxTokens: 50 } }, T.CreateMessageResultSchema);
const roots = (extra) => extra.sendRequest({ method: 'roots/list' }, T.ListRootsResultSchema);
const said = (r) => (r.content?.type === 'text' ? r.content.text : '');
server.registerTool('test_input_required_result_elicitation', { description: 'Asks the user for their name.' },
  async (extra) => {
    const r = await elicit(extra, 'What is your name?');
    return text(`Hello, ${r.content?.name ?? 'unknown'} (${r.action})`);
  });
server.registerTool('test_input_required_result_sampling', { description: 'Asks the client to sample.' },
  async (extra) => text(`LLM said: ${said(await sample(extra, 'What is the capital of France?'))}`));
server.registerTool('test_input_required_result_list_roots', { description: 'Asks the client for its roots.' },
  async (extra) => text(`roots: ${(await roots(extra)).roots.map((r) => r.uri).join(',')}`));
server.registerTool('test_input_required_result_request_state', { description: 'Asks for a confirmation.' },
  async (extra) => {
    const r = await elicit(extra, 'Please confirm', { type: 'object', properties: { confirmed: { type: 'boolean' } } });
    return text(`state-ok: ${r.action}`);
  });
server.registerTool('test_input_required_result_multiple_inputs', { description: 'Asks three things at once.' },
  async (extra) => {
    const [a, b, c] = await Promise.all([elicit(extra, 'What is your name?'), sample(extra, 'Say hi'), roots(extra)]);
    return text(`name=${a.content?.name ?? ''} llm=${said(b)} roots=${c.roots.length}`);
  });
server.registerTool('test_input_required_result_multi_round', { description: 'Asks twice, one after the other.' },
  async (extra) => {
    const first = await elicit(extra, 'Step 1: your name?');
    const second = await elicit(extra, 'Step 2: your favourite colour?',
      { type: 'object', properties: { color: { type: 'string' } }, required: ['color'] });
    return text(`${first.content?.name ?? '?'} likes ${second.content?.color ?? '?'}`);
  });
server.registerTool('test_input_required_result_tampered_state', { description: 'Asks for a confirmation.' },
  async (extra) => text(`confirmed: ${(await elicit(extra, 'Confirm?')).action}`));
server.registerTool('test_input_required_result_capabilities', { description: 'Asks for whatever the client can give.' },
  async (extra) => {
    const asked = await elicit(extra, 'Your name?');
    const sampled = await sample(extra, 'Say hi');
    return text(`elicitation: ${asked.action}; sampling: ${said(sampled)}`);
  });
server.registerPrompt('test_input_required_result_prompt', { description: 'A prompt that asks the user first.' },
  async (extra) => {
    const r = await elicit(extra, 'Which topic?', { type: 'object', properties: { topic: { type: 'string' } } });
    return { messages: [{ role: 'user', content: { type: 'text', text: `Tell me about ${r.content?.topic ?? 'anything'}` } }] };
  });

// resources/subscribe and unsubscribe answer {} (the SDK registers them with the capability).
server.server.setRequestHandler((await import('@modelcontextprotocol/sdk/types.js')).SubscribeRequestSchema, async () => ({}));
server.server.setRequestHandler((await import('@modelcontextprotocol/sdk/types.js')).UnsubscribeRequestSchema, async () => ({}));

// json_schema_2020_12_tool is listed with a raw 2020-12 schema ($schema, $defs,
// additionalProperties), which the zod-based registration cannot express: patch the list.
const types = await import('@modelcontextprotocol/sdk/types.js');
const listTools = server.server._requestHandlers.get('tools/list');
server.server.setRequestHandler(types.ListToolsRequestSchema, async (request, extra) => {
  const result = await listTools(request, extra);
  for (const tool of result.tools) {
    if (tool.name !== 'json_schema_2020_12_tool') continue;
    tool.inputSchema = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      $defs: { address: { type: 'object', properties: { street: { type: 'string' }, city: { type: 'string' } } } },
      properties: { name: { type: 'string' }, address: { $ref: '#/$defs/address' } },
      additionalProperties: false,
    };
  }
  return result;
});

await server.connect(new StdioServerTransport());
