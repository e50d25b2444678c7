// An MCP server built with the official SDK that takes part in a trace the way an
// instrumented server would: a `tools/call` continues the W3C trace context it receives
// (`params._meta.traceparent`, else the `traceparent` header over HTTP) with a SERVER span of
// its own, posted to the OTLP/HTTP JSON endpoint in $OTLP_ENDPOINT. Its tool `work` answers
// with the context it received, so the test can compare both ends.
//
//   node traced_server.mjs stdio
//   node traced_server.mjs http <port file>      (Streamable HTTP, stateless, 127.0.0.1:0)
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { renameSync, writeFileSync } from 'node:fs';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

const mode = process.argv[2];
const endpoint = process.env.OTLP_ENDPOINT;
const now = () => (BigInt(Date.now()) * 1000000n).toString();

async function exportSpan(span) {
  const body = {
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: `traced-upstream-${mode}` } }] },
      scopeSpans: [{ scope: { name: 'traced_server' }, spans: [span] }],
    }],
  };
  const res = await fetch(endpoint, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`OTLP export: HTTP ${res.status}`);
}

function makeServer() {
  const server = new McpServer({ name: `traced-${mode}`, version: '1.0.0' });
  server.registerTool('work', { description: 'Does some work inside the caller\'s trace.' }, async (extra) => {
    const start = now();
    const fromMeta = extra._meta?.traceparent;
    const fromHeader = extra.requestInfo?.headers?.traceparent;
    const received = fromMeta ?? fromHeader;
    const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(received ?? '');
    if (m && (Number.parseInt(m[3], 16) & 1) === 1) {
      await exportSpan({ traceId: m[1], spanId: randomBytes(8).toString('hex'), parentSpanId: m[2], name: 'tools/call work',
        kind: 2, startTimeUnixNano: start, endTimeUnixNano: now(),
        attributes: [{ key: 'mcp.method.name', value: { stringValue: 'tools/call' } }] });
    }
    return { content: [{ type: 'text', text: JSON.stringify({ meta: fromMeta ?? null, header: fromHeader ?? null }) }] };
  });
  return server;
}

if (mode === 'stdio') {
  await makeServer().connect(new StdioServerTransport());
} else if (mode === 'http') {
  const http = createServer(async (req, res) => {
    if (req.method !== 'POST') { res.writeHead(405).end(); return; }
    const server = makeServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => { transport.close(); server.close(); });
    await server.connect(transport);
    await transport.handleRequest(req, res);
  });
  // Written whole (rename): the test may read the file the moment it exists.
  http.listen(0, '127.0.0.1', () => {
    writeFileSync(`${process.argv[3]}.tmp`, String(http.address().port));
    renameSync(`${process.argv[3]}.tmp`, process.argv[3]);
  });
} else {
  throw new Error('usage: traced_server.mjs stdio | http <port file>');
}
