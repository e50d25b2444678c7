// Turns bench/run.sh's raw results (one JSON line per run, repeated) into Markdown tables:
// the median over repetitions of every figure, and manifold beside its baseline.
//   node report.mjs results.jsonl micro.json
import { readFileSync } from 'node:fs';

const [resultsPath, microPath] = process.argv.slice(2);
const lines = readFileSync(resultsPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// scenario -> label -> {field: median}, labels in first-seen order.
const groups = new Map();
for (const r of lines) {
  if (!groups.has(r.scenario)) groups.set(r.scenario, new Map());
  const byLabel = groups.get(r.scenario);
  if (!byLabel.has(r.label)) byLabel.set(r.label, []);
  byLabel.get(r.label).push(r);
}
const med = (scenario, label) => {
  const runs = groups.get(scenario)?.get(label);
  if (!runs) return undefined;
  const out = { runs: runs.length };
  for (const k of Object.keys(runs[0])) {
    if (typeof runs[0][k] === 'number') out[k] = median(runs.map((r) => r[k]));
  }
  return out;
};
const labels = (scenario) => [...(groups.get(scenario)?.keys() ?? [])];

const f0 = (x) => (x === undefined ? '–' : Math.round(x).toLocaleString('en-US'));
const f1 = (x) => (x === undefined ? '–' : x.toFixed(1));
const signed = (x) => (x === undefined ? '–' : `${x >= 0 ? '+' : ''}${x.toFixed(1)}`);
const table = (head, rows) =>
  [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

const out = [];
const latencyTable = (scenario, title, note) => {
  if (!groups.has(scenario)) return;
  out.push(`### ${title}`, '', note, '');
  out.push(table(['run', 'calls/s', 'p50 µs', 'p90 µs', 'p99 µs', 'max µs', 'errors'],
    labels(scenario).map((l) => {
      const m = med(scenario, l);
      return [l, f0(m.calls_per_s), f1(m.p50_us), f1(m.p90_us), f1(m.p99_us), f0(m.max_us), f0(m.errors)];
    })));
  const pairs = labels(scenario).filter((l) => l.startsWith('manifold ')).map((l) => [l, l.replace('manifold', 'direct')]);
  if (pairs.length) {
    out.push('', table(['load', 'added p50 µs', 'added p99 µs', 'throughput vs direct'],
      pairs.map(([m, d]) => {
        const a = med(scenario, m);
        const b = med(scenario, d);
        return [m.replace('manifold ', ''), signed(a.p50_us - b.p50_us), signed(a.p99_us - b.p99_us),
          `${(a.calls_per_s / b.calls_per_s).toFixed(2)}x`];
      })));
  }
  out.push('');
};

out.push(`Medians over ${median([...groups.values()].flatMap((g) => [...g.values()].map((r) => r.length)))} repetitions.`, '');
latencyTable('stdio', '1. stdio host → manifold → stdio upstream', 'c = calls in flight; direct = the same load generator on the fake server\'s own stdio.');
latencyTable('http', '2. HTTP host → manifold → stdio upstream', 's = sessions, one call in flight each, each on its own keep-alive connection; direct = the same load on bench_http_echo, a minimal Streamable HTTP server with the same echo tool.');

if (groups.has('memory')) {
  const idle = med('memory', '10 upstreams idle (stdio)');
  const sessions = med('memory', '1000 idle HTTP sessions');
  out.push('### 3. Memory', '', table(['what', 'figure'], [
    ['manifold RSS, 10 upstreams, catalog served, idle', `${f0(idle?.rss_kb)} kB (peak ${f0(idle?.peak_rss_kb)} kB)`],
    ['… of which its own: PSS (shared library pages split between processes) / anonymous', `${f0(idle?.pss_kb)} kB / ${f0(idle?.anon_kb)} kB`],
    ['RSS growth per idle HTTP session (1,000 opened)', `${f0(sessions?.per_session_bytes)} bytes`],
  ]), '');
}
if (groups.has('cold')) {
  const one = med('cold', 'one upstream directly');
  const ten = med('cold', 'manifold, 10 upstreams');
  out.push('### 4. Cold start', '', 'From process start until every tools/list page is in; each upstream answers initialize after 200 ms.', '',
    table(['run', 'initialize answered ms', 'catalog served ms'], [
      ['one upstream directly (the slowest upstream)', f1(one?.initialize_ms), f1(one?.catalog_ms)],
      ['manifold with 10 such upstreams', f1(ten?.initialize_ms), f1(ten?.catalog_ms)],
      ['manifold over the slowest upstream', '', signed(ten?.catalog_ms - one?.catalog_ms)],
    ]), '');
}
if (groups.has('scale')) {
  const s = med('scale', 'manifold, 100 x 500 tools');
  out.push('### 5. Catalog scale', '', table(['what', 'figure'], [
    ['tools in the catalog', f0(s?.tools)],
    ['start → catalog served (100 processes spawned, initialized, listed)', `${f1(s?.catalog_ms)} ms`],
    ['tools/list, every page, again', `${f1(s?.list_all_pages_ms)} ms`],
    ['manifold RSS after listing (peak)', `${f0(s?.rss_kb)} kB (${f0(s?.peak_rss_kb)} kB)`],
  ]), '');
}
if (groups.has('peers')) {
  out.push('### 6. Peers: the same Node SDK client', '', 'server-everything\'s echo tool, reached directly over stdio, through manifold (stdio, legacy SSE, Streamable HTTP) and through mcp-hub (its SSE endpoint).', '');
  out.push(table(['run', 'calls/s', 'p50 µs', 'p90 µs', 'p99 µs', 'max µs', 'errors'],
    labels('peers').map((l) => {
      const m = med('peers', l);
      return [l, f0(m.calls_per_s), f1(m.p50_us), f1(m.p90_us), f1(m.p99_us), f0(m.max_us), f0(m.errors)];
    })));
  const ratio = (a, b, k) => (a && b ? (a[k] / b[k]).toFixed(2) + 'x' : '–');
  const rows = [];
  for (const c of [1, 16]) {
    const hub = med('peers', `mcp-hub (sse) c=${c}`);
    const direct = med('peers', `direct (stdio) c=${c}`);
    for (const l of ['manifold (sse)', 'manifold (stdio)', 'manifold (http)']) {
      const m = med('peers', `${l} c=${c}`);
      rows.push([`${l} c=${c}`, ratio(m, hub, 'p50_us'), ratio(m, hub, 'calls_per_s'), ratio(m, direct, 'p50_us'), ratio(m, direct, 'calls_per_s')]);
    }
    rows.push([`mcp-hub (sse) c=${c}`, '1.00x', '1.00x', ratio(hub, direct, 'p50_us'), ratio(hub, direct, 'calls_per_s')]);
  }
  out.push('', table(['run', 'p50 vs mcp-hub', 'calls/s vs mcp-hub', 'p50 vs direct', 'calls/s vs direct'], rows));
  if (groups.has('peers-fast')) {
    out.push('', 'The same two, mcp-hub and manifold on the legacy SSE transport, driven by the C++ load generator (not the bottleneck):', '');
    out.push(table(['run', 'calls/s', 'p50 µs', 'p90 µs', 'p99 µs', 'max µs', 'errors', 'p50 vs mcp-hub', 'calls/s vs mcp-hub'],
      labels('peers-fast').map((l) => {
        const m = med('peers-fast', l);
        const hub = med('peers-fast', l.replace('manifold', 'mcp-hub'));
        return [l, f0(m.calls_per_s), f1(m.p50_us), f1(m.p90_us), f1(m.p99_us), f0(m.max_us), f0(m.errors),
          ratio(m, hub, 'p50_us'), ratio(m, hub, 'calls_per_s')];
      })));
  }
  const hubMem = med('peers-memory', 'mcp-hub');
  const mMem = med('peers-memory', 'manifold');
  if (hubMem && mMem) {
    out.push('', table(['process (own RSS, upstream child excluded)', 'idle kB', 'peak kB'], [
      ['mcp-hub', f0(hubMem.rss_idle_kb), f0(hubMem.rss_peak_kb)],
      ['manifold', f0(mMem.rss_idle_kb), f0(mMem.rss_peak_kb)],
      ['manifold / mcp-hub', (mMem.rss_idle_kb / hubMem.rss_idle_kb).toFixed(3), (mMem.rss_peak_kb / hubMem.rss_peak_kb).toFixed(3)],
    ]));
  }
  out.push('');
}
if (microPath) {
  const micro = JSON.parse(readFileSync(microPath, 'utf8'));
  const rows = micro.benchmarks
    .filter((b) => b.aggregate_name === 'median' || !b.aggregate_name)
    .map((b) => [b.run_name ?? b.name, `${b.real_time.toFixed(b.real_time < 10 ? 3 : 1)} ${b.time_unit}`,
      b.items_per_second ? f0(b.items_per_second) : '–']);
  out.push('### Micro-benchmarks (Google Benchmark, median)', '', table(['benchmark', 'time per iteration', 'items/s'], rows), '');
}
console.log(out.join('\n'));
