// Observability of a running manifold (issue 13), with the in-tree fake MCP server and a
// minimal HTTP upstream written here: /metrics counts exactly what the calls did (outcomes,
// both sides, upstreams, listener, catalog, process) with bounded labels; traces (an OTLP
// receiver here) continue the host's context from `_meta` or headers, and the upstream
// receives the client span's traceparent in `_meta` and HTTP headers; `manifold tap` streams
// both hops, redacted and filtered, and a reader that stops reading loses records (told so)
// without slowing calls; --trace-file rotates; --log-format json; --metrics-listen beside
// stdio; the admin endpoints behind auth; the status page's JSON and live events.
//
//   node observability.mjs <manifold> <fake_mcp_server>
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './lib.mjs';
import { appears, connect, hex, otlpReceiver, sample, scrape, serveHttp, start } from './observe_lib.mjs';

const manifold = process.argv[2];
const fake = process.argv[3];
const q = JSON.stringify;
const dir = mkdtempSync(join(tmpdir(), 'manifold-observe-'));

const fakeServer = (name, extra = '') => `  ${name}:
    command: ${q(fake)}
    args: [--name, ${name}]
${extra}`;

function writeConfig(name, yaml) {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, yaml);
  return path;
}

// A Streamable HTTP upstream answering with JSON, one tool `headers` that returns what its
// request carried; every request's traceparent header and `_meta` are kept in `seen`.
async function webUpstream() {
  const seen = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      if (req.method !== 'POST') { res.writeHead(405).end(); return; }
      const msg = JSON.parse(body);
      seen.push({ method: msg.method, traceparent: req.headers.traceparent, tracestate: req.headers.tracestate,
        meta: msg.params?._meta });
      if (msg.id === undefined) { res.writeHead(202).end(); return; }
      const reply = (result) => {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Mcp-Session-Id': 'web-session' });
        res.end(q({ jsonrpc: '2.0', id: msg.id, result }));
      };
      if (msg.method === 'initialize') {
        reply({ protocolVersion: msg.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'web', version: '1' } });
      } else if (msg.method === 'tools/list') {
        reply({ tools: [{ name: 'headers', inputSchema: { type: 'object' } }] });
      } else if (msg.method === 'tools/call') {
        reply({ content: [{ type: 'text', text: q({ traceparent: req.headers.traceparent ?? null, meta: msg.params._meta ?? null }) }] });
      } else {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(q({ jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: 'no' } }));
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}/mcp`, seen, close: () => new Promise((r) => server.close(r)) };
}

const textOf = (result) => result.content[0].text;

// ---- metrics: every outcome, both sides, upstreams, listener, catalog, process ----
async function metricsCase() {
  const config = writeConfig('metrics', `servers:
${fakeServer('fake', '    timeout: 1s\n    health: {interval: 100ms}\n')}tools:
  fake__echo:
    arguments:
      text: {maxLength: 10}
limits:
  global: {rate: "1/h", burst: 6}
`);
  const m = await serveHttp(manifold, config);
  try {
    const { client, transport } = await connect(`${m.url}/mcp`);
    const sessionId = transport.sessionId;
    for (let i = 0; i < 3; i++) assert.equal(textOf(await client.callTool({ name: 'fake__echo', arguments: { text: `hi ${i}` } })), `hi ${i}`);
    assert.equal((await client.callTool({ name: 'fake__fail', arguments: {} })).isError, true);
    await assert.rejects(client.callTool({ name: 'fake__rpc_error', arguments: {} }), /fake failure/);
    await assert.rejects(client.callTool({ name: 'fake__slow', arguments: { ms: 5000 } }), /did not answer/);
    // A rule refuses before anything leaves: refused_by_policy.
    const refused = await client.callTool({ name: 'fake__echo', arguments: { text: 'much too long for the rule' } });
    assert.equal(refused.isError, true);
    // The 7th admitted call is over limits.global's burst of 6: rate_limited.
    await assert.rejects(client.callTool({ name: 'fake__echo', arguments: { text: 'limited' } }), /rate|limit/i);
    // A name nobody exposes: a JSON-RPC error, labelled `other` (never the caller's text).
    await assert.rejects(client.callTool({ name: 'made_up_tool_4711', arguments: {} }), /Unknown tool/);

    const s = await scrape(m.url);
    const server = (tool, outcome) => ({ method: 'tools/call', tool, upstream: 'fake', outcome });
    assert.equal(sample(s, 'manifold_calls_total', server('fake__echo', 'ok')), 3);
    assert.equal(sample(s, 'manifold_calls_total', server('fake__fail', 'is_error')), 1);
    assert.equal(sample(s, 'manifold_calls_total', server('fake__rpc_error', 'jsonrpc_error')), 1);
    assert.equal(sample(s, 'manifold_calls_total', server('fake__slow', 'timeout')), 1);
    assert.equal(sample(s, 'manifold_calls_total', server('fake__echo', 'refused_by_policy')), 1);
    assert.equal(sample(s, 'manifold_calls_total', server('fake__echo', 'rate_limited')), 1);
    assert.equal(sample(s, 'manifold_calls_total', { method: 'tools/call', tool: 'other', upstream: '', outcome: 'jsonrpc_error' }), 1);
    assert.equal(sample(s, 'manifold_call_errors_total', { method: 'tools/call', tool: 'fake__slow', kind: 'timeout' }), 1);
    assert.equal(sample(s, 'manifold_call_errors_total', { method: 'tools/call', tool: 'fake__echo', kind: 'rate_limited' }), 1);
    assert.equal(sample(s, 'mcp_server_operation_duration_seconds_count', server('fake__echo', 'ok')), 3);
    assert.equal(sample(s, 'mcp_server_operation_duration_seconds_bucket', { ...server('fake__slow', 'timeout'), le: '0.5' }), 0);
    assert.equal(sample(s, 'mcp_server_operation_duration_seconds_bucket', { ...server('fake__slow', 'timeout'), le: '2' }), 1);
    // The upstream side saw only what reached the upstream.
    assert.equal(sample(s, 'mcp_client_operation_duration_seconds_count', server('fake__echo', 'ok')), 3);
    assert.equal(sample(s, 'mcp_client_operation_duration_seconds_count', server('fake__echo', 'refused_by_policy')), 0);
    assert.equal(sample(s, 'mcp_client_operation_duration_seconds_count', server('fake__slow', 'timeout')), 1);
    assert.equal(sample(s, 'manifold_calls_total', { method: 'initialize', tool: '', upstream: '', outcome: 'ok' }), 1);
    // Per upstream.
    assert.equal(sample(s, 'manifold_upstream_state', { upstream: 'fake', state: 'ready' }), 1);
    assert.equal(sample(s, 'manifold_upstream_state', { upstream: 'fake', state: 'failed' }), 0);
    assert.equal(sample(s, 'manifold_upstream_in_flight', { upstream: 'fake' }), 0);
    assert.equal(sample(s, 'manifold_upstream_restarts_total', { upstream: 'fake' }), 0);
    // Health probes (every 100 ms here) are timed; wait for the first one that answered.
    for (const deadline = Date.now() + 20000; ; ) {
      const probes = sample(await scrape(m.url), 'manifold_upstream_health_probe_duration_seconds_count', { upstream: 'fake' });
      if (probes > 0) break;
      assert.ok(Date.now() < deadline, 'no health probe was timed');
      await new Promise((r) => setTimeout(r, 100));  // the next scrape, not a synchronisation
    }
    assert.ok(sample(s, 'manifold_upstream_sent_bytes_total', { upstream: 'fake' }) > 300);
    assert.ok(sample(s, 'manifold_upstream_received_bytes_total', { upstream: 'fake' }) > 1000);
    // Listener.
    assert.equal(sample(s, 'manifold_sessions_open', { transport: 'streamable_http' }), 1);
    assert.equal(sample(s, 'manifold_sessions_total', { transport: 'streamable_http' }), 1);
    assert.ok(sample(s, 'manifold_http_responses_total', { code: '200', class: '2xx' }) >= 8);
    assert.equal(sample(s, 'manifold_http_responses_total', { code: '202', class: '2xx' }), 1);
    // Catalog and process.
    assert.equal(sample(s, 'manifold_catalog_entries', { kind: 'tool' }), 14);
    assert.equal(sample(s, 'manifold_catalog_rebuilds_total'), 1);
    assert.ok(sample(s, 'process_resident_memory_bytes') > 1e6);
    assert.ok(sample(s, 'process_open_fds') > 3);
    assert.ok(sample(s, 'process_start_time_seconds') > 1.6e9);
    assert.ok(s.some((x) => x.name === 'process_cpu_seconds_total' && x.value >= 0));
    const build = s.find((x) => x.name === 'manifold_build_info');
    assert.equal(build.value, 1);
    assert.match(build.labels.version, /^\d+\.\d+/);
    // Never a session id or an argument in a label.
    const text = await (await fetch(`${m.url}/metrics`)).text();
    assert.ok(!text.includes(sessionId), 'a session id became a label');
    assert.ok(!text.includes('made_up_tool_4711') && !text.includes('hi 0'), 'caller text became a label');

    await transport.terminateSession();
    await client.close();
    const after = await scrape(m.url);
    assert.equal(sample(after, 'manifold_sessions_open', { transport: 'streamable_http' }), 0);
    assert.equal(sample(after, 'mcp_server_session_duration_seconds_count', { transport: 'streamable_http' }), 1);
  } finally {
    await m.stop();
  }
}

// ---- label cardinality: only the first max_tool_labels exposed tools get their own label ----
async function cardinalityCase() {
  const config = writeConfig('cardinality', `servers:
${fakeServer('fake')}metrics:
  max_tool_labels: 2
`);
  const m = await serveHttp(manifold, config);
  try {
    const { client, transport } = await connect(`${m.url}/mcp`);
    for (const name of ['echo', 'big', 'inspect', 'fail', 'garbage']) await client.callTool({ name: `fake__${name}`, arguments: {} });
    const s = await scrape(m.url);
    const tools = new Set(s.filter((x) => x.name === 'manifold_calls_total' && x.labels.method === 'tools/call').map((x) => x.labels.tool));
    assert.ok(tools.has('other'));
    assert.ok(tools.size <= 3, `tool labels: ${[...tools]}`);
    const total = s.filter((x) => x.name === 'manifold_calls_total' && x.labels.method === 'tools/call').reduce((a, x) => a + x.value, 0);
    assert.equal(total, 5);
    await transport.terminateSession();
    await client.close();
  } finally {
    await m.stop();
  }
}

// ---- traces: host -> manifold (SERVER) -> upstream (CLIENT) -> the upstream's own side ----
async function tracingCase() {
  const receiver = await otlpReceiver();
  const web = await webUpstream();
  const config = writeConfig('tracing', `servers:
${fakeServer('fake')}  web:
    url: ${web.url}
    transport: http
tracing:
  otlp_endpoint: ${receiver.endpoint}
  batch_interval: 50ms
  sample_ratio: 1
`);
  const m = await serveHttp(manifold, config);
  try {
    const { client, transport } = await connect(`${m.url}/mcp`);
    // 1. The host's context in `_meta`.
    const trace = hex(16);
    const parent = hex(8);
    const inspected = JSON.parse(textOf(await client.callTool({ name: 'fake__inspect', arguments: {},
      _meta: { traceparent: `00-${trace}-${parent}-01`, tracestate: 'vendor=abc' } })));
    const [serverSpan] = await receiver.spans((s) => s.traceId === trace && s.kind === 2);
    const [clientSpan] = await receiver.spans((s) => s.traceId === trace && s.kind === 3);
    assert.equal(serverSpan.parentSpanId, parent);
    assert.equal(serverSpan.name, 'tools/call fake__inspect');
    assert.equal(serverSpan.attributes['mcp.method.name'], 'tools/call');
    assert.equal(serverSpan.attributes['gen_ai.tool.name'], 'fake__inspect');
    assert.equal(serverSpan.attributes['gen_ai.operation.name'], 'execute_tool');
    assert.equal(serverSpan.attributes['mcp.session.id'], transport.sessionId);
    assert.ok(serverSpan.attributes['mcp.protocol.version']);
    assert.equal(serverSpan.attributes['network.transport'], 'tcp');
    assert.ok(serverSpan.attributes['jsonrpc.request.id'] !== undefined);
    assert.equal(serverSpan.attributes['manifold.upstream'], 'fake');
    assert.equal(serverSpan.traceState, 'vendor=abc');
    assert.equal(clientSpan.parentSpanId, serverSpan.spanId);
    assert.equal(clientSpan.attributes['manifold.upstream'], 'fake');
    assert.equal(clientSpan.attributes['gen_ai.tool.name'], 'inspect');
    assert.equal(serverSpan.resource.attributes.find((a) => a.key === 'service.name').value.stringValue, 'manifold');
    // The upstream continues the trace under the CLIENT span.
    assert.equal(inspected.params._meta.traceparent, `00-${trace}-${clientSpan.spanId}-01`);
    assert.equal(inspected.params._meta.tracestate, 'vendor=abc');

    // 2. An HTTP upstream gets it in `_meta` and in the headers.
    const trace2 = hex(16);
    const got = JSON.parse(textOf(await client.callTool({ name: 'web__headers', arguments: {},
      _meta: { traceparent: `00-${trace2}-${hex(8)}-01` } })));
    const [client2] = await receiver.spans((s) => s.traceId === trace2 && s.kind === 3);
    assert.equal(got.traceparent, `00-${trace2}-${client2.spanId}-01`);
    assert.equal(got.meta.traceparent, got.traceparent);

    // 3. An error ends the spans with status ERROR and error.type.
    const trace3 = hex(16);
    await assert.rejects(client.callTool({ name: 'fake__rpc_error', arguments: {}, _meta: { traceparent: `00-${trace3}-${hex(8)}-01` } }));
    const [failed] = await receiver.spans((s) => s.traceId === trace3 && s.kind === 2);
    assert.equal(failed.status.code, 2);
    assert.equal(failed.attributes['error.type'], '-32099');
    const isError = hex(16);
    await client.callTool({ name: 'fake__fail', arguments: {}, _meta: { traceparent: `00-${isError}-${hex(8)}-01` } });
    const [toolError] = await receiver.spans((s) => s.traceId === isError && s.kind === 2);
    assert.equal(toolError.attributes['error.type'], 'tool_error');

    // 4. A host that said "not sampled": nothing exported, the flag travels on.
    const quiet = hex(16);
    const unsampled = JSON.parse(textOf(await client.callTool({ name: 'fake__inspect', arguments: {},
      _meta: { traceparent: `00-${quiet}-${hex(8)}-00` } })));
    assert.match(unsampled.params._meta.traceparent, new RegExp(`^00-${quiet}-[0-9a-f]{16}-00$`));
    await transport.terminateSession();
    await client.close();

    // 5. The context in HTTP headers (no `_meta`): the same continuation.
    const trace4 = hex(16);
    const parent4 = hex(8);
    const viaHeaders = await connect(`${m.url}/mcp`, { traceparent: `00-${trace4}-${parent4}-01` });
    const echoed = JSON.parse(textOf(await viaHeaders.client.callTool({ name: 'fake__inspect', arguments: {} })));
    const [headerServer] = await receiver.spans((s) => s.traceId === trace4 && s.kind === 2 && s.name === 'tools/call fake__inspect');
    assert.equal(headerServer.parentSpanId, parent4);
    assert.ok(echoed.params._meta.traceparent.startsWith(`00-${trace4}-`));
    await viaHeaders.transport.terminateSession();
    await viaHeaders.client.close();

    // 6. Without a context: a new trace, rooted here.
    const plain = await connect(`${m.url}/mcp`);
    const rooted = JSON.parse(textOf(await plain.client.callTool({ name: 'fake__inspect', arguments: {} })));
    const newTrace = rooted.params._meta.traceparent.split('-')[1];
    const [root] = await receiver.spans((s) => s.traceId === newTrace && s.kind === 2);
    assert.equal(root.parentSpanId ?? '', '');
    await plain.transport.terminateSession();
    await plain.client.close();

    // The exporter counts what it sent.
    const s = await scrape(m.url);
    assert.ok(sample(s, 'manifold_trace_spans_exported_total') >= 8);
    assert.equal(sample(s, 'manifold_trace_spans_dropped_total', { reason: 'queue_full' }), 0);
  } finally {
    await m.stop();
    await receiver.close();
    await web.close();
  }
}

// Lines of `manifold tap`'s stdout as they come; `until(pred)` resolves with the first match.
function tapProcess(args) {
  const p = start([manifold, 'tap', ...args], { stdout: 'pipe' });
  const lines = [];
  const waiters = [];
  let partial = '';
  p.child.stdout.on('data', (d) => {
    partial += d;
    const parts = partial.split('\n');
    partial = parts.pop();
    for (const l of parts) {
      lines.push(JSON.parse(l));
      for (const w of [...waiters]) if (w.pred(lines.at(-1))) { waiters.splice(waiters.indexOf(w), 1); clearTimeout(w.t); w.resolve(lines.at(-1)); }
    }
  });
  return {
    ...p, lines,
    until: (pred, ms = 20000) => new Promise((resolve, reject) => {
      const hit = lines.find(pred);
      if (hit) return resolve(hit);
      const w = { pred, resolve };
      w.t = setTimeout(() => reject(new Error(`tap: no such record in ${q(lines).slice(0, 3000)}`)), ms);
      waiters.push(w);
    }),
  };
}

// ---- the traffic tap: both hops, redacted, filtered; a stopped reader loses records ----
async function tapCase() {
  const trafficFile = join(dir, 'traffic.jsonl');
  const config = writeConfig('tap', `servers:
${fakeServer('fake')}tap:
  enabled: true
  buffer: 8
  max_file_size: 4KiB
  files: 3
audit:
  redact: ["tok_[0-9]+"]
`);
  const m = await serveHttp(manifold, config, ['--trace-file', trafficFile]);
  try {
    const all = tapProcess(['--url', m.url, '--method', 'tools/call']);
    const none = tapProcess(['--url', m.url, '--upstream', 'nobody']);
    await all.until((r) => r.type === 'start');
    await none.until((r) => r.type === 'start');
    const { client, transport } = await connect(`${m.url}/mcp`);
    await client.callTool({ name: 'fake__echo', arguments: { text: 'tok_12345 and more', password: 'hunter2' } });
    const session = transport.sessionId;
    const directions = ['host->manifold', 'manifold->upstream', 'upstream->manifold', 'manifold->host'];
    const seen = [];
    for (const d of directions) seen.push(await all.until((r) => r.type === 'message' && r.direction === d));
    for (const r of seen) {
      assert.equal(r.session, session);
      assert.ok(!JSON.stringify(r).includes('hunter2'), 'a password reached the tap');
      assert.ok(!JSON.stringify(r).includes('tok_12345'), 'a configured pattern reached the tap');
      assert.ok(r.time.endsWith('Z') && r.seq > 0);
    }
    assert.equal(seen[0].upstream, '');
    assert.equal(seen[1].upstream, 'fake');
    assert.equal(seen[1].message.params.name, 'echo');
    assert.equal(seen[3].method, 'tools/call');
    assert.ok(all.lines.every((r) => r.type !== 'message' || r.method === 'tools/call'), 'the method filter let others through');
    // The filtered tap saw nothing but its start.
    assert.deepEqual(none.lines.map((r) => r.type), ['start']);

    // A burst faster than a subscriber takes records (2000 notifications read in a few
    // chunks, a ring of 8): the relay goes on at full speed, the subscriber loses records and
    // reads a `lost` record saying how many.
    let flood;
    const lost = await new Promise((resolve, reject) => {
      const req = httpRequest(`${m.url}/admin/tap?method=notifications%2Fmessage`, (res) => {
        assert.equal(res.statusCode, 200);
        let buffered = '';
        let flooded = false;
        res.on('data', (d) => {
          buffered += d;
          if (!flooded && buffered.includes('"type":"start"')) {
            flooded = true;
            flood = client.callTool({ name: 'fake__flood', arguments: { count: 2000 } });
            flood.catch(reject);
          }
          const line = buffered.split('\n').find((l) => l.includes('"type":"lost"'));
          if (line) { req.destroy(); resolve(JSON.parse(line)); }
        });
        res.on('end', () => reject(new Error(`the tap ended before a lost record: ${buffered.slice(-500)}`)));
      });
      req.end();
    });
    assert.ok(lost.count > 0);
    assert.equal(textOf(await flood), 'flooded 2000');
    await transport.terminateSession();
    await client.close();
    await all.stop();
    await none.stop();

    // --trace-file: the same records, rotated by size, readable only by the owner.
    const files = readdirSync(dir).filter((f) => f.startsWith('traffic.jsonl')).sort();
    assert.deepEqual(files, ['traffic.jsonl', 'traffic.jsonl.1', 'traffic.jsonl.2']);
    for (const f of files) {
      assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600);
      for (const line of readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean)) JSON.parse(line);
    }
    assert.ok(!readFileSync(join(dir, 'traffic.jsonl'), 'utf8').includes('hunter2'));
    const s = await scrape(m.url);
    assert.ok(sample(s, 'manifold_tap_records_lost_total') >= lost.count);
  } finally {
    await m.stop();
  }
}

// ---- JSON logs ----
async function jsonLogsCase() {
  const config = writeConfig('logs', `servers:
${fakeServer('fake')}`);
  const m = await serveHttp(manifold, config, ['--log-format', 'json']);
  try {
    await m.logged('catalog built');
    const lines = m.stderr().split('\n').filter(Boolean).map((l) => JSON.parse(l));
    for (const l of lines) {
      assert.match(l.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(['trace', 'debug', 'info', 'warning', 'warn', 'error', 'critical'].includes(l.level));
      assert.equal(typeof l.msg, 'string');
      assert.equal(typeof l.component, 'string');
    }
    const ready = lines.find((l) => l.upstream === 'fake' && l.msg.startsWith('ready'));
    assert.ok(ready, 'a line about the upstream names it');
  } finally {
    await m.stop();
  }
}

// ---- stdio with --metrics-listen ----
async function stdioCase() {
  const config = writeConfig('stdio', `servers:
${fakeServer('fake')}`);
  const portFile = join(dir, 'stdio.port');
  const p = start([manifold, 'serve', '--config', config, '--metrics-listen', '127.0.0.1:0', '--port-file', portFile],
    { stdin: 'pipe', stdout: 'pipe' });
  try {
    await appears(portFile);
    const url = `http://127.0.0.1:${Number(readFileSync(portFile, 'utf8'))}`;
    const replies = new Map();
    let partial = '';
    const waiting = new Map();
    p.child.stdout.on('data', (d) => {
      partial += d;
      const parts = partial.split('\n');
      partial = parts.pop();
      for (const l of parts) {
        const msg = JSON.parse(l);
        if (msg.id !== undefined) { replies.set(msg.id, msg); waiting.get(msg.id)?.(msg); }
      }
    });
    const send = (msg) => p.child.stdin.write(`${q(msg)}\n`);
    const reply = (id) => new Promise((resolve) => (replies.has(id) ? resolve(replies.get(id)) : waiting.set(id, resolve)));
    send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } });
    await reply(1);
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'fake__echo', arguments: { text: 'x' } } });
    assert.equal((await reply(2)).result.content[0].text, 'x');
    const s = await scrape(url);
    assert.equal(sample(s, 'manifold_sessions_open', { transport: 'stdio' }), 1);
    assert.equal(sample(s, 'manifold_calls_total', { method: 'tools/call', tool: 'fake__echo', upstream: 'fake', outcome: 'ok' }), 1);
    const status = await (await fetch(`${url}/ui/api/status`)).json();
    assert.equal(status.upstreams[0].name, 'fake');
    // Only the admin endpoints there.
    assert.equal((await fetch(`${url}/mcp`, { method: 'POST', body: '{}' })).status, 404);
    p.child.stdin.end();
    assert.equal((await p.exited).code, 0);
  } finally {
    await p.stop();
  }
}

// ---- the admin endpoints behind auth ----
async function authCase() {
  const key = spawnSync(manifold, ['key', 'new'], { encoding: 'utf8' }).stdout.match(/key:\s+(\S+)/)[1];
  const hash = spawnSync(manifold, ['key', 'hash'], { input: key, encoding: 'utf8' }).stdout.trim().split(/\s+/).pop();
  const yaml = (open) => `servers:
${fakeServer('fake')}auth:
  api_keys:
    - {principal: ops, hash: ${q(hash)}}
  public_endpoints: [${open}]
tap:
  enabled: true
`;
  const closed = await serveHttp(manifold, writeConfig('auth-closed', yaml('/readyz')));
  try {
    for (const path of ['/metrics', '/ui/', '/ui/api/status', '/ui/events', '/admin/tap']) {
      const res = await fetch(`${closed.url}${path}`);
      assert.equal(res.status, 401, path);
      assert.match(res.headers.get('www-authenticate'), /^Bearer/);
    }
    const ok = await fetch(`${closed.url}/metrics`, { headers: { Authorization: `Bearer ${key}` } });
    assert.equal(ok.status, 200);
    assert.equal((await fetch(`${closed.url}/ui/`, { headers: { Authorization: `Bearer ${key}` } })).status, 200);
    const tap = tapProcess(['--url', closed.url]);
    assert.equal((await tap.exited).code, 1);
    assert.match(tap.stderr(), /401/);
    // A foreign Origin is refused even with the key.
    assert.equal((await fetch(`${closed.url}/metrics`, { headers: { Authorization: `Bearer ${key}`, Origin: 'https://evil.example' } })).status, 403);
  } finally {
    await closed.stop();
  }
  const open = await serveHttp(manifold, writeConfig('auth-open', yaml('/metrics')));
  try {
    assert.equal((await fetch(`${open.url}/metrics`)).status, 200);
    assert.equal((await fetch(`${open.url}/ui/api/status`)).status, 401);
  } finally {
    await open.stop();
  }

  // auth.admin_roles: only those roles may use the admin endpoints; others may still call tools.
  const devKey = spawnSync(manifold, ['key', 'new'], { encoding: 'utf8' }).stdout.match(/key:\s+(\S+)/)[1];
  const devHash = spawnSync(manifold, ['key', 'hash'], { input: devKey, encoding: 'utf8' }).stdout.trim().split(/\s+/).pop();
  const admins = await serveHttp(manifold, writeConfig('auth-admin', `servers:
${fakeServer('fake')}auth:
  api_keys:
    - {principal: ops, hash: ${q(hash)}, roles: [ops]}
    - {principal: dev, hash: ${q(devHash)}, roles: [dev]}
  admin_roles: [ops]
roles:
  ops: {tools: ["*"]}
  dev: {tools: ["*"]}
tap:
  enabled: true
`));
  try {
    for (const path of ['/metrics', '/ui/', '/ui/api/status', '/ui/events', '/admin/tap']) {
      const refused = await fetch(`${admins.url}${path}`, { headers: { Authorization: `Bearer ${devKey}` } });
      assert.equal(refused.status, 403, path);
      assert.match((await refused.json()).error.message, /need one of the roles ops/);
    }
    assert.equal((await fetch(`${admins.url}/ui/api/status`, { headers: { Authorization: `Bearer ${key}` } })).status, 200);
    const dev = await connect(`${admins.url}/mcp`, { Authorization: `Bearer ${devKey}` });
    assert.equal(textOf(await dev.client.callTool({ name: 'fake__echo', arguments: { text: 'still a caller' } })), 'still a caller');
    await dev.transport.terminateSession();
    await dev.client.close();
    const tap = tapProcess(['--url', admins.url, '--token', devKey]);
    assert.equal((await tap.exited).code, 1);
    assert.match(tap.stderr(), /403/);
  } finally {
    await admins.stop();
  }
}

// ---- the status page's data and live events ----
async function statusCase() {
  const config = writeConfig('status', `servers:
${fakeServer('fake')}${fakeServer('other', '    tools: {deny: ["crash"]}\n')}groups:
  safe:
    include: ["*__echo"]
`);
  const m = await serveHttp(manifold, config);
  try {
    await m.logged('catalog built');
    const page = await fetch(`${m.url}/ui/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy'), /default-src 'none'/);
    assert.match(await page.text(), /<html/i);
    assert.equal((await fetch(`${m.url}/`, { redirect: 'manual' })).headers.get('location'), '/ui/');
    const status = await (await fetch(`${m.url}/ui/api/status`)).json();
    assert.equal(status.ready, true);
    assert.deepEqual(status.upstreams.map((u) => [u.name, u.state, u.transport, u.tools]), [['fake', 'ready', 'stdio', 14], ['other', 'ready', 'stdio', 13]]);
    const catalog = await (await fetch(`${m.url}/ui/api/catalog`)).json();
    const echo = catalog.entries.find((e) => e.name === 'other__echo');
    assert.deepEqual(echo.groups, ['safe']);
    assert.ok(echo.decisions.length > 0);
    assert.ok(catalog.filtered.some((f) => f.server === 'other' && f.original === 'crash'));

    // Events: a call arrives as a `call` event.
    const events = [];
    const controller = new AbortController();
    const res = await fetch(`${m.url}/ui/events`, { signal: controller.signal });
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const next = async (name, pred = () => true) => {
      for (;;) {
        const found = events.find((e) => e.event === name && pred(e.data));
        if (found) return found;
        const { value, done } = await reader.read();
        if (done) throw new Error('events ended');
        text += decoder.decode(value);
        const blocks = text.split('\n\n');
        text = blocks.pop();
        for (const b of blocks) {
          const ev = /^event: (.*)$/m.exec(b);
          const data = /^data: (.*)$/m.exec(b);
          if (ev && data) events.push({ event: ev[1], data: JSON.parse(data[1]) });
        }
      }
    };
    assert.equal((await next('status')).data.upstreams.length, 2);
    const { client, transport } = await connect(`${m.url}/mcp`);
    await client.callTool({ name: 'fake__echo', arguments: { text: 'page' } });
    const call = (await next('call')).data;
    assert.equal(call.tool, 'fake__echo');
    assert.equal(call.upstream, 'fake');
    assert.equal(call.outcome, 'ok');
    assert.equal(call.principal, 'anonymous');
    const calls = await (await fetch(`${m.url}/ui/api/calls`)).json();
    assert.equal(calls.total, 1);
    // An upstream that dies: the open page hears a status with its new state, unasked.
    await assert.rejects(client.callTool({ name: 'fake__crash', arguments: {} }));
    const down = (await next('status', (d) => d.upstreams[0].state !== 'ready')).data.upstreams[0];
    assert.equal(down.name, 'fake');
    assert.ok(['backing-off', 'failed', 'stopped'].includes(down.state), down.state);
    assert.match(down.last_error, /exit|closed/);
    // Supervision brings it back: the page hears that too, and the restart is counted.
    const back = (await next('status', (d) => d.upstreams[0].state === 'ready' && d.upstreams[0].restarts === 1)).data;
    assert.equal(back.upstreams[0].restarts, 1);
    const s = await scrape(m.url);
    assert.equal(sample(s, 'manifold_upstream_restarts_total', { upstream: 'fake' }), 1);
    assert.equal(sample(s, 'manifold_upstream_state', { upstream: 'fake', state: 'ready' }), 1);
    controller.abort();
    await transport.terminateSession();
    await client.close();
  } finally {
    await m.stop();
  }
}

await run('observability', async () => {
  const watchdog = setTimeout(() => { console.error('observability: no result within 240 s'); process.exit(1); }, 240000);
  try {
    for (const [name, body] of [['metrics', metricsCase], ['cardinality', cardinalityCase], ['tracing', tracingCase],
      ['tap', tapCase], ['json logs', jsonLogsCase], ['stdio', stdioCase], ['auth', authCase], ['status', statusCase]]) {
      if (process.env.OBSERVE_ONLY && !process.env.OBSERVE_ONLY.split(',').includes(name)) continue;
      const t0 = Date.now();
      await body();
      console.log(`  ${name}: ok (${Date.now() - t0} ms)`);
    }
  } finally {
    clearTimeout(watchdog);
    rmSync(dir, { recursive: true, force: true });
  }
});
