// A server that speaks only MCP 2026-07-28 (the official SDK v2 with `legacy: 'reject'`) over
// stdio, or over Streamable HTTP with `http PORT_FILE` (bound to 127.0.0.1, a port the OS
// picks, written to PORT_FILE): `initialize` gets -32022. manifold fronts it with
// `protocol: modern` or `auto`.
// Its tools that need input ask for it the 2026-07-28 way (an InputRequiredResult), which
// manifold turns into real requests to a handshake-era host.
import { McpServer, acceptedContent, createRequestStateCodec, inputRequired, inputResponse } from '@modelcontextprotocol/server';
import { createMcpHandler } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import http from 'node:http';
import { renameSync, writeFileSync } from 'node:fs';
import * as z from 'zod/v4';

const codec = createRequestStateCodec({ key: new Uint8Array(32).fill(7), ttlSeconds: 600 });
const nameSchema = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] };

function build() {
  const server = new McpServer({ name: 'modern-only', version: '1.0.0' },
    { capabilities: { tools: { listChanged: true }, resources: {}, prompts: {} }, requestState: { verify: codec.verify } });
  server.registerTool('echo', { description: 'Echoes its text, saying which era served it.',
    inputSchema: z.object({ text: z.string() }) },
  async ({ text }) => ({ content: [{ type: 'text',
    text: `modern echo: ${text}` }] }));
  server.registerTool('confirm', { description: 'Asks the user for a name (elicitation).', inputSchema: z.object({}) },
    async (_args, ctx) => {
      const got = acceptedContent(ctx.mcpReq.inputResponses, 'user_name', z.object({ name: z.string() }));
      if (!got) {
        const answer = ctx.mcpReq.inputResponses?.user_name;
        if (answer) return { content: [{ type: 'text', text: `no name (${answer.action})` }] };
        return inputRequired({ inputRequests: { user_name: inputRequired.elicit({ message: 'What is your name?', requestedSchema: nameSchema }) } });
      }
      return { content: [{ type: 'text', text: `Hello, ${got.name}!` }] };
    });
  server.registerTool('ask_llm', { description: 'Asks the host\'s model (sampling).', inputSchema: z.object({ question: z.string() }) },
    async ({ question }, ctx) => {
      const v = inputResponse(ctx.mcpReq.inputResponses, 'q');
      if (v.kind !== 'sampling') {
        return inputRequired({ inputRequests: { q: inputRequired.createMessage({
          messages: [{ role: 'user', content: { type: 'text', text: question } }], maxTokens: 50 }) } });
      }
      return { content: [{ type: 'text', text: `LLM said: ${v.result.content.text}` }] };
    });
  server.registerTool('everything_at_once', { description: 'Asks for a name, a completion and the roots in one round.', inputSchema: z.object({}) },
    async (_args, ctx) => {
      const name = acceptedContent(ctx.mcpReq.inputResponses, 'who', z.object({ name: z.string() }));
      const llm = inputResponse(ctx.mcpReq.inputResponses, 'llm');
      const roots = inputResponse(ctx.mcpReq.inputResponses, 'where');
      if (!name || llm.kind !== 'sampling' || roots.kind !== 'roots') {
        return inputRequired({ inputRequests: {
          who: inputRequired.elicit({ message: 'Name?', requestedSchema: nameSchema }),
          llm: inputRequired.createMessage({ messages: [{ role: 'user', content: { type: 'text', text: 'Say hi' } }], maxTokens: 5 }),
          where: inputRequired.listRoots() } });
      }
      return { content: [{ type: 'text', text: `${name.name}|${llm.result.content.text}|${roots.roots.map((r) => r.uri).join(',')}` }] };
    });
  server.registerTool('two_step', { description: 'Two rounds of elicitation, with state between them.', inputSchema: z.object({}) },
    async (_args, ctx) => {
      const state = ctx.mcpReq.requestState();
      if (state?.step !== 'one') {
        const first = acceptedContent(ctx.mcpReq.inputResponses, 'step1', z.object({ name: z.string() }));
        if (!first) return inputRequired({ inputRequests: { step1: inputRequired.elicit({ message: 'Step 1: name?', requestedSchema: nameSchema }) } });
        return inputRequired({
          inputRequests: { step2: inputRequired.elicit({ message: 'Step 2: colour?',
            requestedSchema: { type: 'object', properties: { color: { type: 'string' } }, required: ['color'] } }) },
          requestState: await codec.mint({ step: 'one', name: first.name }) });
      }
      const second = acceptedContent(ctx.mcpReq.inputResponses, 'step2', z.object({ color: z.string() }));
      return { content: [{ type: 'text', text: `${state.name} likes ${second?.color}` }] };
    });
  server.registerTool('add_tool', { description: 'Adds a tool named `name` (hosts hear of it on subscriptions/listen).',
    inputSchema: z.object({ name: z.string() }) },
  async ({ name }) => {
    server.registerTool(name, { description: 'Added at run time.', inputSchema: z.object({}) },
      async () => ({ content: [{ type: 'text', text: `${name} is here` }] }));
    return { content: [{ type: 'text', text: `added ${name}` }] };
  });
  server.registerResource('note', 'note://modern/readme', { mimeType: 'text/plain' },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'served statelessly' }] }));
  server.registerPrompt('greet', { description: 'Greets someone.', argsSchema: { who: z.string() } },
    async ({ who }) => ({ messages: [{ role: 'user', content: { type: 'text', text: `Greet ${who}` } }] }));
  return server;
}

// Node's http server in front of the SDK's fetch-style handler; a closed response cancels.
function serveFetch(handler) {
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const abort = new AbortController();
    res.on('close', () => { if (!res.writableEnded) abort.abort(); });
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
    seen.push({ method: req.method, session: req.headers['mcp-session-id'] ?? null,
      version: req.headers['mcp-protocol-version'] ?? null, mcpMethod: req.headers['mcp-method'] ?? null,
      mcpName: req.headers['mcp-name'] ?? null });
    const body = ['GET', 'HEAD'].includes(req.method) ? undefined : Buffer.concat(chunks);
    const response = await handler.fetch(new Request(`http://${req.headers.host}${req.url}`,
      { method: req.method, headers, body, signal: abort.signal }));
    const out = {};
    response.headers.forEach((v, k) => { out[k] = v; });
    res.writeHead(response.status, out);
    if (!response.body) return res.end();
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        res.write(value);
      }
    } catch { /* the client went away */ } finally { res.end(); }
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

// What the HTTP requests carried, for the test (tool `seen_headers`).
const seen = [];

if (process.argv[2] === 'http') {
  const handler = createMcpHandler(() => {
    const server = build();
    server.registerTool('seen_headers', { description: 'The HTTP headers of the requests so far.', inputSchema: z.object({}) },
      async () => ({ content: [{ type: 'text', text: JSON.stringify(seen) }] }));
    return server;
  }, { legacy: 'reject' });
  const server = await serveFetch(handler);
  const portFile = process.argv[3];
  writeFileSync(`${portFile}.tmp`, String(server.address().port));
  renameSync(`${portFile}.tmp`, portFile);
} else {
  serveStdio(build, { legacy: 'reject' });
}
