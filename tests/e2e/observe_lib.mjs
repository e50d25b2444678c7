// Shared by the observability tests: manifold processes with collected stderr, an OTLP/HTTP
// receiver on loopback, Prometheus text parsing, and SDK clients over Streamable HTTP.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { appears, start } from './lib.mjs';

export { appears, start };

// `manifold serve --listen 127.0.0.1:0` on `config`; resolves once it listens.
export async function serveHttp(manifold, config, extra = [], logLevel = 'info') {
  const portFile = `${config}.port`;
  const p = start([manifold, '--log-level', logLevel, 'serve', '--config', config, '--listen', '127.0.0.1:0',
    '--port-file', portFile, ...extra]);
  await Promise.race([appears(portFile), p.exited.then(() => { throw new Error(`manifold exited: ${p.stderr()}`); })]);
  const port = Number(readFileSync(portFile, 'utf8'));
  return { ...p, port, url: `http://127.0.0.1:${port}` };
}

// An SDK client over Streamable HTTP; `headers` go with every request.
export async function connect(url, headers = {}, name = 'observability-test') {
  const client = new Client({ name, version: '1.0.0' }, { capabilities: {} });
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
  await client.connect(transport);
  return { client, transport };
}

// The Prometheus text format as [{name, labels, value}].
export function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

// The value of the one sample `name` whose labels include `labels` (0 when there is none;
// an error when several match).
export function sample(samples, name, labels = {}) {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found.length === 0 ? 0 : found[0].value;
}

export async function scrape(url, headers = {}) {
  const res = await fetch(`${url}/metrics`, { headers });
  if (res.status !== 200) throw new Error(`/metrics: HTTP ${res.status}`);
  if (!res.headers.get('content-type').startsWith('text/plain; version=0.0.4')) throw new Error('wrong content type');
  return parseMetrics(await res.text());
}

// OTLP/HTTP JSON receiver on 127.0.0.1 port 0: collects every span posted to /v1/traces.
// `spans(pred, n)` resolves once n spans match `pred`.
export async function otlpReceiver() {
  const spans = [];
  const waiters = [];
  const check = () => {
    for (const w of [...waiters]) {
      const found = spans.filter(w.pred);
      if (found.length >= w.n) { waiters.splice(waiters.indexOf(w), 1); clearTimeout(w.timer); w.resolve(found); }
    }
  };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      if (req.url !== '/v1/traces' || req.method !== 'POST' || !req.headers['content-type']?.startsWith('application/json')) {
        res.writeHead(404).end();
        return;
      }
      const doc = JSON.parse(body);
      for (const rs of doc.resourceSpans ?? []) {
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            const attributes = {};
            for (const a of s.attributes ?? []) attributes[a.key] = Object.values(a.value)[0];
            spans.push({ ...s, attributes, resource: rs.resource });
          }
        }
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      check();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${server.address().port}/v1/traces`,
    all: () => spans,
    spans: (pred, n = 1, ms = 20000) => new Promise((resolve, reject) => {
      const w = { pred, n, resolve };
      w.timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(w), 1);
        reject(new Error(`expected ${n} spans, got ${spans.filter(pred).length}: ${JSON.stringify(spans.map((s) => s.name))}`));
      }, ms);
      waiters.push(w);
      check();
    }),
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

export const hex = (n) => [...crypto.getRandomValues(new Uint8Array(n))].map((b) => b.toString(16).padStart(2, '0')).join('');
