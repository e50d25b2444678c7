// The upstream manifold fronts in the second 2026-07-28 server run of the official conformance
// suite (server_2026.sh v2): the names fixture_server.mjs offers, written with the SDK v2
// server (@modelcontextprotocol/server 2.4.0) and served over stdio in both eras (a
// 2026-07-28 client gets InputRequiredResults; a handshake-era client gets the same questions
// pushed by the SDK's legacy shim). Input is asked the 2026-07-28 way, under the keys the
// suite's scenarios name (`user_name`, `capital_question`, ...), so that a proxy passing them
// through unchanged satisfies the scenarios that look for a key.
import {
  McpServer, ResourceTemplate, acceptedContent, completable, createRequestStateCodec, fromJsonSchema, inputRequired,
  inputResponse,
} from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import * as z from 'zod/v4';

// A 1x1 PNG and a tiny WAV, base64.
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const WAV = 'UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA=';

// requestState is signed (HMAC-SHA256) and checked before any handler runs: a tampered or
// expired state is answered -32602 by the SDK.
const codec = createRequestStateCodec({ key: new Uint8Array(32).fill(42), ttlSeconds: 600 });

const text = (t) => ({ content: [{ type: 'text', text: t }] });
const pause = (ms) => new Promise((r) => setTimeout(r, ms));
const nameSchema = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] };
const named = z.object({ name: z.string() });
const said = (r) => (r?.content?.type === 'text' ? r.content.text : '');
const ask = (inputRequests, requestState) => inputRequired(requestState ? { inputRequests, requestState } : { inputRequests });
const elicitName = (message = 'What is your name?') => inputRequired.elicit({ message, requestedSchema: nameSchema });
const sample = (t, maxTokens = 100) =>
  inputRequired.createMessage({ messages: [{ role: 'user', content: { type: 'text', text: t } }], maxTokens });
// The answer under `key` of the kind `kind` ('elicit' | 'sampling' | 'roots'), or undefined.
const answered = (ctx, key, kind) => {
  const v = inputResponse(ctx.mcpReq.inputResponses, key);
  return v.kind === kind ? v : undefined;
};

let dynamic = 0;

function build() {
  const server = new McpServer({ name: 'manifold-conformance-fixture-v2', version: '1.0.0' }, {
    capabilities: {
      tools: { listChanged: true }, prompts: { listChanged: true }, resources: { listChanged: true },
      logging: {}, completions: {},
    },
    requestState: { verify: codec.verify },
  });

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
    async (ctx) => {
      for (const data of ['Tool execution started', 'Tool processing data', 'Tool execution completed']) {
        await ctx.mcpReq.log('info', data);
        await pause(50);
      }
      return text('Tool with logging executed successfully');
    });
  server.registerTool('test_error_handling', { description: 'Always fails.' },
    async () => ({ isError: true, content: [{ type: 'text', text: 'This tool intentionally returns an error for testing' }] }));
  server.registerTool('test_tool_with_progress', { description: 'Reports progress 0, 50, 100.' },
    async (ctx) => {
      const token = ctx.mcpReq._meta?.progressToken;
      for (const progress of [0, 50, 100]) {
        if (token !== undefined) {
          await ctx.mcpReq.notify({ method: 'notifications/progress',
            params: { progressToken: token, progress, total: 100, message: `Completed step ${progress / 50 + 1} of 3` } });
        }
        await pause(50);
      }
      return text(String(token ?? 'no progress token'));
    });
  server.registerTool('test_sampling', { description: 'Asks the client to sample.',
    inputSchema: z.object({ prompt: z.string() }) }, async ({ prompt }, ctx) => {
    const v = answered(ctx, 'completion', 'sampling');
    if (!v) return ask({ completion: sample(prompt) });
    return text(`LLM response: ${said(v.result)}`);
  });
  server.registerTool('test_elicitation', { description: 'Asks the user for input.',
    inputSchema: z.object({ message: z.string() }) }, async ({ message }, ctx) => {
    const v = answered(ctx, 'response', 'elicit');
    if (!v) {
      return ask({ response: inputRequired.elicit({ message, requestedSchema: { type: 'object', properties: {
        username: { type: 'string', description: "User's response" },
        email: { type: 'string', description: "User's email address" } }, required: ['username', 'email'] } }) });
    }
    return text(`User response: action=${v.action}, content=${JSON.stringify(v.content ?? {})}`);
  });
  server.registerTool('test_elicitation_sep1034_defaults', { description: 'Elicitation with defaults.' },
    async (ctx) => {
      const v = answered(ctx, 'defaults', 'elicit');
      if (!v) {
        return ask({ defaults: inputRequired.elicit({ message: 'Please review and update the form fields with defaults',
          requestedSchema: { type: 'object', properties: {
            name: { type: 'string', description: 'User name', default: 'John Doe' },
            age: { type: 'integer', description: 'User age', default: 30 },
            score: { type: 'number', description: 'User score', default: 95.5 },
            status: { type: 'string', description: 'User status', enum: ['active', 'inactive', 'pending'], default: 'active' },
            verified: { type: 'boolean', description: 'Verification status', default: true },
          }, required: [] } }) });
      }
      return text(`Elicitation completed: action=${v.action}, content=${JSON.stringify(v.content ?? {})}`);
    });
  server.registerTool('test_elicitation_sep1330_enums', { description: 'Elicitation with enum variants.' },
    async (ctx) => {
      const v = answered(ctx, 'enums', 'elicit');
      if (!v) {
        return ask({ enums: inputRequired.elicit({ message: 'Please select options from the enum fields',
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
          }, required: [] } }) });
      }
      return text(`Elicitation completed: action=${v.action}, content=${JSON.stringify(v.content ?? {})}`);
    });
  // Listed with a raw JSON Schema 2020-12 input schema: $schema, $defs with an $anchor,
  // allOf/anyOf, if/then/else, additionalProperties.
  server.registerTool('json_schema_2020_12_tool', {
    description: 'A tool whose input schema uses JSON Schema 2020-12 features.',
    inputSchema: fromJsonSchema({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      $defs: { address: { $anchor: 'addressDef', type: 'object',
        properties: { street: { type: 'string' }, city: { type: 'string' } } } },
      properties: { name: { type: 'string' }, address: { $ref: '#/$defs/address' },
        contactMethod: { type: 'string', enum: ['phone', 'email'] }, phone: { type: 'string' }, email: { type: 'string' } },
      allOf: [{ anyOf: [{ required: ['phone'] }, { required: ['email'] }] }],
      if: { properties: { contactMethod: { const: 'phone' } }, required: ['contactMethod'] },
      then: { required: ['phone'] },
      else: { required: ['email'] },
      additionalProperties: false,
    }),
  }, async (args) => text(JSON.stringify(args)));
  // Longer than manifold's quick-reply window (1 s): the answer is an SSE stream.
  // A parameter mirrored into a header (x-mcp-header): a 2026-07-28 client over HTTP sends
  // `Mcp-Param-Region`, which the server it reaches (here manifold) checks against the body.
  server.registerTool('test_custom_header', { description: 'Echoes a region that is also sent as a header.',
    inputSchema: z.object({ region: z.string().meta({ 'x-mcp-header': 'Region' }) }) },
  async ({ region }) => text(`region: ${region}`));
  server.registerTool('test_reconnection', { description: 'Answers after a pause.' }, async () => {
    await pause(1500);
    return text('Reconnection test completed');
  });

  // Diagnostic tools of the 2026-07-28 server-stateless scenario.
  // Sampling is asked for whatever the request declares: without `sampling` in its envelope
  // the SDK answers -32021 (requiredCapabilities.sampling) itself.
  server.registerTool('test_missing_capability', { description: 'Needs sampling from the client.' },
    async (ctx) => {
      const v = answered(ctx, 'sample', 'sampling');
      if (!v) return ask({ sample: sample('Say hi', 10) });
      return text(`sampled: ${said(v.result)}`);
    });
  server.registerTool('test_streaming_elicitation', { description: 'Asks the user while it runs.' },
    async (ctx) => {
      const v = answered(ctx, 'name', 'elicit');
      if (!v) return ask({ name: inputRequired.elicit({ message: 'Your name?',
        requestedSchema: { type: 'object', properties: { name: { type: 'string' } } } }) });
      return text(`elicited: ${v.action}`);
    });
  server.registerTool('test_logging_tool', { description: 'Logs while it runs.' },
    async (ctx) => {
      await ctx.mcpReq.log('info', 'logged');
      return text('logged once');
    });
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

  // Multi-round-trip tools of the input-required-result-* scenarios, under the keys the
  // scenarios' descriptions use.
  server.registerTool('test_input_required_result_elicitation', { description: 'Asks the user for their name.' },
    async (ctx) => {
      const got = acceptedContent(ctx.mcpReq.inputResponses, 'user_name', named);
      if (!got) return ask({ user_name: elicitName() });
      return text(`Hello, ${got.name}!`);
    });
  server.registerTool('test_input_required_result_sampling', { description: 'Asks the client to sample.' },
    async (ctx) => {
      const v = answered(ctx, 'capital_question', 'sampling');
      if (!v) return ask({ capital_question: sample('What is the capital of France?') });
      return text(`LLM said: ${said(v.result)}`);
    });
  server.registerTool('test_input_required_result_list_roots', { description: 'Asks the client for its roots.' },
    async (ctx) => {
      const v = answered(ctx, 'client_roots', 'roots');
      if (!v) return ask({ client_roots: inputRequired.listRoots() });
      return text(`roots: ${v.roots.map((r) => r.uri).join(',')}`);
    });
  server.registerTool('test_input_required_result_request_state', { description: 'Asks for a confirmation.' },
    async (ctx) => {
      const state = ctx.mcpReq.requestState();
      const v = answered(ctx, 'confirm', 'elicit');
      if (state?.step !== 'confirm' || !v) {
        return ask({ confirm: inputRequired.elicit({ message: 'Please confirm', requestedSchema: {
          type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] } }) },
        await codec.mint({ step: 'confirm' }));
      }
      return text(`state-ok: ${v.action}`);
    });
  server.registerTool('test_input_required_result_multiple_inputs', { description: 'Asks three things at once.' },
    async (ctx) => {
      const name = acceptedContent(ctx.mcpReq.inputResponses, 'user_name', named);
      const greeting = answered(ctx, 'greeting', 'sampling');
      const roots = answered(ctx, 'client_roots', 'roots');
      if (!name || !greeting || !roots) {
        return ask({ user_name: elicitName(), greeting: sample('Generate a greeting', 50),
          client_roots: inputRequired.listRoots() }, await codec.mint({ step: 'multiple' }));
      }
      return text(`name=${name.name} llm=${said(greeting.result)} roots=${roots.roots.length}`);
    });
  server.registerTool('test_input_required_result_multi_round', { description: 'Asks twice, one after the other.' },
    async (ctx) => {
      const state = ctx.mcpReq.requestState();
      if (state?.step !== 'two') {
        const first = acceptedContent(ctx.mcpReq.inputResponses, 'step1', named);
        if (!first || state?.step !== 'one') {
          return ask({ step1: elicitName('Step 1: What is your name?') }, await codec.mint({ step: 'one' }));
        }
        return ask({ step2: inputRequired.elicit({ message: 'Step 2: What is your favorite color?', requestedSchema: {
          type: 'object', properties: { color: { type: 'string' } }, required: ['color'] } }) },
        await codec.mint({ step: 'two', name: first.name }));
      }
      const second = acceptedContent(ctx.mcpReq.inputResponses, 'step2', z.object({ color: z.string() }));
      if (!second) return ask({ step2: inputRequired.elicit({ message: 'Step 2: What is your favorite color?',
        requestedSchema: { type: 'object', properties: { color: { type: 'string' } }, required: ['color'] } }) },
      await codec.mint(state));
      return text(`${state.name} likes ${second.color}`);
    });
  server.registerTool('test_input_required_result_tampered_state', { description: 'Asks for a confirmation.' },
    async (ctx) => {
      const v = answered(ctx, 'confirm', 'elicit');
      if (ctx.mcpReq.requestState()?.step !== 'tamper' || !v) {
        return ask({ confirm: inputRequired.elicit({ message: 'Confirm?', requestedSchema: {
          type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] } }) },
        await codec.mint({ step: 'tamper' }));
      }
      return text(`confirmed: ${v.action}`);
    });
  // Asks only for what this request's envelope declares: elicitation if it can, else sampling.
  server.registerTool('test_input_required_result_capabilities', { description: 'Asks for whatever the client can give.' },
    async (ctx) => {
      const envelope = ctx.mcpReq.envelope ?? {};
      const caps = envelope['io.modelcontextprotocol/clientCapabilities'] ?? envelope.clientCapabilities ??
        server.server.getClientCapabilities() ?? {};
      const asked = answered(ctx, 'user_name', 'elicit');
      const sampled = answered(ctx, 'greeting', 'sampling');
      if (asked || sampled) {
        return text(`elicitation: ${asked?.action ?? 'not asked'}; sampling: ${said(sampled?.result)}`);
      }
      if (caps.elicitation) return ask({ user_name: elicitName() });
      if (caps.sampling) return ask({ greeting: sample('Say hi', 50) });
      return text('nothing to ask');
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
    argsSchema: z.object({
      arg1: completable(z.string().describe('First test argument'),
        (v) => ['paris', 'park', 'party'].filter((x) => x.startsWith(v ?? ''))),
      arg2: z.string().describe('Second test argument') }) },
  ({ arg1, arg2 }) => ({ messages: [{ role: 'user', content: { type: 'text',
    text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` } }] }));
  server.registerPrompt('test_prompt_with_embedded_resource', { description: 'A prompt with a resource',
    argsSchema: z.object({ resourceUri: z.string().describe('URI of the resource to embed') }) },
  ({ resourceUri }) => ({ messages: [
    { role: 'user', content: { type: 'resource', resource: { uri: resourceUri, mimeType: 'text/plain',
      text: 'Embedded resource content for testing.' } } },
    { role: 'user', content: { type: 'text', text: 'Please process the embedded resource above.' } }] }));
  server.registerPrompt('test_prompt_with_image', { description: 'A prompt with an image' },
    () => ({ messages: [
      { role: 'user', content: { type: 'image', data: PNG, mimeType: 'image/png' } },
      { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } }] }));
  server.registerPrompt('test_input_required_result_prompt', { description: 'A prompt that asks the user first.' },
    async (ctx) => {
      const got = acceptedContent(ctx.mcpReq.inputResponses, 'user_context', z.object({ context: z.string() }));
      if (!got) {
        return ask({ user_context: inputRequired.elicit({ message: 'What context should the prompt use?',
          requestedSchema: { type: 'object', properties: { context: { type: 'string' } }, required: ['context'] } }) });
      }
      return { messages: [{ role: 'user', content: { type: 'text', text: `Tell me about ${got.context}` } }] };
    });
  return server;
}

// One server per stdio connection; a handshake-era client is served too (legacy: 'serve').
serveStdio(build);
