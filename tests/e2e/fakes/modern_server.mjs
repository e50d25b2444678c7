// A server that speaks only MCP 2026-07-28 (the official SDK v2 with `legacy: 'reject'`) over
// stdio: `initialize` gets -32022. manifold fronts it with `protocol: modern` or `auto`.
import { McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import * as z from 'zod/v4';

function build() {
  const server = new McpServer({ name: 'modern-only', version: '1.0.0' },
    { capabilities: { tools: {}, resources: {}, prompts: {} } });
  server.registerTool('echo', { description: 'Echoes its text, saying which era served it.',
    inputSchema: z.object({ text: z.string() }) },
  async ({ text }) => ({ content: [{ type: 'text',
    text: `modern echo: ${text}` }] }));
  server.registerResource('note', 'note://modern/readme', { mimeType: 'text/plain' },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'served statelessly' }] }));
  server.registerPrompt('greet', { description: 'Greets someone.', argsSchema: { who: z.string() } },
    async ({ who }) => ({ messages: [{ role: 'user', content: { type: 'text', text: `Greet ${who}` } }] }));
  return server;
}

serveStdio(build, { legacy: 'reject' });
