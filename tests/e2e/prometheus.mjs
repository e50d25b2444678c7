// A real Prometheus (Debian's `prometheus`) scrapes manifold while a real MCP client calls
// real reference servers through it; the values are read back through Prometheus's HTTP
// query API and compared with the calls the test made. Everything on loopback, every port
// from the OS (Prometheus's own from its "Listening on" line).
//
//   node prometheus.mjs <manifold>
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { manifoldBinary, referenceSetup, run } from './lib.mjs';
import { connect, serveHttp, start } from './observe_lib.mjs';

const prometheusBin = process.env.PROMETHEUS ?? '/usr/bin/prometheus';

async function startPrometheus(dir, target) {
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, `global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: manifold
    metrics_path: /metrics
    static_configs:
      - targets: ["${target}"]
`);
  mkdirSync(join(dir, 'tsdb'));
  const p = start([prometheusBin, `--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`,
    '--web.listen-address=127.0.0.1:0', '--storage.tsdb.retention.time=1h']);
  // Queries are answered once it says it is ready (503 before).
  await Promise.race([p.logged('msg="Server is ready to receive web requests."', 60000), p.exited.then(() => { throw new Error(`prometheus exited: ${p.stderr()}`); })]);
  const port = Number(/msg="Listening on" address=127\.0\.0\.1:(\d+)/.exec(p.stderr())[1]);
  return { ...p, url: `http://127.0.0.1:${port}` };
}

// The instant vector of `query`, as [{metric, value}].
async function query(prom, q) {
  const res = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = await res.json();
  assert.equal(body.status, 'success', JSON.stringify(body));
  return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}

// Until Prometheus has scraped a state in which `q` has exactly `expected` (one number, or
// {label value: number} by `by`): it scrapes every second, so this waits for a scrape, not
// for a time. Deadline 30 s.
async function until(prom, q, expected, by) {
  const deadline = Date.now() + 30000;
  let last;
  for (;;) {
    const result = await query(prom, q);
    last = by ? Object.fromEntries(result.map((r) => [r.metric[by], r.value])) : result.length === 1 ? result[0].value : result;
    try {
      assert.deepEqual(last, expected);
      return;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`${q}: expected ${JSON.stringify(expected)}, Prometheus says ${JSON.stringify(last)}`);
    }
    await new Promise((r) => setTimeout(r, 250));  // the next query, not a synchronisation
  }
}

await run('e2e_prometheus', async () => {
  const watchdog = setTimeout(() => { console.error('prometheus: no result within 180 s'); process.exit(1); }, 180000);
  const { dir, root, config, cleanup } = referenceSetup();
  const m = await serveHttp(manifoldBinary(), config);
  let prom;
  try {
    const { client, transport } = await connect(`${m.url}/mcp`);
    const tools = (await client.listTools()).tools;
    for (let i = 0; i < 5; i++) await client.callTool({ name: 'everything__echo', arguments: { message: `hello ${i}` } });
    for (let i = 0; i < 3; i++) {
      const sum = await client.callTool({ name: 'everything__get-sum', arguments: { a: i, b: 2 } });
      assert.match(sum.content[0].text, new RegExp(`${i + 2}`));
    }
    for (let i = 0; i < 2; i++) {
      const missing = await client.callTool({ name: 'filesystem__read_text_file', arguments: { path: join(root, `missing-${i}.txt`) } });
      assert.equal(missing.isError, true);
    }
    await assert.rejects(client.callTool({ name: 'nobody__nothing', arguments: {} }), /Unknown tool/);

    prom = await startPrometheus(dir, `127.0.0.1:${m.port}`);
    await until(prom, 'up{job="manifold"}', 1);
    await until(prom, 'sum by (outcome) (manifold_calls_total{method="tools/call"})',
      { ok: 8, is_error: 2, jsonrpc_error: 1 }, 'outcome');
    await until(prom, 'manifold_calls_total{method="tools/call",tool="everything__echo",upstream="everything",outcome="ok"}', 5);
    await until(prom, 'mcp_server_operation_duration_seconds_count{tool="everything__get-sum",outcome="ok"}', 3);
    await until(prom, 'mcp_server_operation_duration_seconds_bucket{tool="everything__get-sum",outcome="ok",le="+Inf"}', 3);
    await until(prom, 'sum by (upstream) (mcp_client_operation_duration_seconds_count{method="tools/call"})',
      { everything: 8, filesystem: 2 }, 'upstream');
    await until(prom, 'manifold_call_errors_total{tool="filesystem__read_text_file",kind="is_error"}', 2);
    await until(prom, 'sum(manifold_upstream_state{state="ready"})', 3);
    await until(prom, 'manifold_catalog_entries{kind="tool"}', tools.length);
    await until(prom, 'manifold_sessions_open{transport="streamable_http"}', 1);
    await until(prom, 'count(manifold_upstream_received_bytes_total > 0)', 3);
    const rss = await query(prom, 'process_resident_memory_bytes{job="manifold"}');
    assert.ok(rss[0].value > 1e6);
    // No series carries a session id or the caller's text.
    const series = await (await fetch(`${prom.url}/api/v1/series?match[]=${encodeURIComponent('{job="manifold"}')}`)).json();
    const labels = JSON.stringify(series.data);
    assert.ok(!labels.includes(transport.sessionId) && !labels.includes('nobody__nothing') && !labels.includes('hello'));

    // Live: more calls, and the next scrapes see them.
    for (let i = 0; i < 2; i++) await client.callTool({ name: 'everything__echo', arguments: { message: 'again' } });
    await until(prom, 'manifold_calls_total{method="tools/call",tool="everything__echo",outcome="ok"}', 7);
    await transport.terminateSession();
    await client.close();
    await until(prom, 'manifold_sessions_open{transport="streamable_http"}', 0);
    console.log(`prometheus: ${(await query(prom, 'count({job="manifold"})'))[0].value} series scraped from manifold`);
  } finally {
    if (prom) await prom.stop();
    await m.stop();
    cleanup();
    clearTimeout(watchdog);
  }
});
