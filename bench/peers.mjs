// The same Node SDK client against one MCP server and what fronts it (directly, manifold,
// mcp-hub): connects, finds the echo tool, makes calls with a fixed number in flight (each
// slot sends its next call when the previous one is answered) and prints one JSON line.
//
//   node peers.mjs --label L --inflight C --calls N stdio <command> [args...]
//   node peers.mjs --label L --inflight C --calls N sse|http <url>
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The SDK the end-to-end tests pin (tests/e2e/package-lock.json).
const sdk = join(dirname(fileURLToPath(import.meta.url)), '..', 'tests', 'e2e', 'node_modules', '@modelcontextprotocol', 'sdk', 'dist', 'esm');
const { Client } = await import(join(sdk, 'client', 'index.js'));
const { StdioClientTransport } = await import(join(sdk, 'client', 'stdio.js'));
const { SSEClientTransport } = await import(join(sdk, 'client', 'sse.js'));
const { StreamableHTTPClientTransport } = await import(join(sdk, 'client', 'streamableHttp.js'));

const args = process.argv.slice(2);
const opts = { label: 'run', inflight: 1, calls: 2000, warmup: 200 };
while (args[0]?.startsWith('--')) {
  const flag = args.shift().slice(2);
  opts[flag] = flag === 'label' ? args.shift() : Number(args.shift());
}
const [mode, target, ...rest] = args;

let transport;
if (mode === 'stdio') transport = new StdioClientTransport({ command: target, args: rest, stderr: 'ignore' });
else if (mode === 'sse') transport = new SSEClientTransport(new URL(target));
else if (mode === 'http') transport = new StreamableHTTPClientTransport(new URL(target));
else throw new Error(`unknown mode ${mode}`);

const client = new Client({ name: 'manifold-bench', version: '1' });
await client.connect(transport);
const { tools } = await client.listTools();
const echo = tools.find((t) => t.name === 'echo') ?? tools.find((t) => /echo$/.test(t.name));
if (!echo) throw new Error(`no echo tool among ${tools.map((t) => t.name).join(', ')}`);

const call = () => client.callTool({ name: echo.name, arguments: { message: 'hello manifold' } });
let errors = 0;
const latencies = [];
let started = 0;
const total = opts.warmup + opts.calls;
let windowStart = 0;
async function slot() {
  while (started < total) {
    const n = started++;
    if (n === opts.warmup) windowStart = performance.now();
    const t0 = performance.now();
    const result = await call().catch(() => ({ isError: true }));
    if (result.isError) errors++;
    if (n >= opts.warmup) latencies.push((performance.now() - t0) * 1000);
  }
}
await Promise.all(Array.from({ length: opts.inflight }, slot));
const seconds = (performance.now() - windowStart) / 1000;
await client.close();

latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.round(p * (latencies.length - 1)))];
console.log(JSON.stringify({
  label: opts.label, mode, tool: echo.name, inflight: opts.inflight, calls: latencies.length, errors,
  seconds, calls_per_s: latencies.length / seconds,
  p50_us: pct(0.5), p90_us: pct(0.9), p99_us: pct(0.99), max_us: latencies[latencies.length - 1],
}));
