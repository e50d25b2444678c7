// Scale-out figures (bench/RESULTS.md, "Replicas behind nginx"): calls/s and latency of
// tools/call through Debian's nginx (round robin, as tests/e2e/nginx.mjs configures it) in
// front of 1 and of 3 manifold replicas with sealed session ids (http.sessions), beside one
// replica called directly, with and without sealed ids. The upstream is the fake MCP server
// (its echo tool), one per replica. manifold_loadgen is the host: S sessions, C calls in
// flight each, closed loop. Not a test: nothing here asserts a time.
//   node bench/scale_out.mjs <manifold> <manifold_loadgen> <fake_mcp_server> [reps]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNginx } from '../tests/e2e/nginx.mjs';
import { newSecret, startReplicas } from '../tests/e2e/replicas.mjs';

const [manifold, loadgen, fake] = process.argv.slice(2, 5);
const reps = Number(process.argv[5] ?? 3);
if (!manifold || !loadgen || !fake) {
  console.error('usage: node bench/scale_out.mjs <manifold> <manifold_loadgen> <fake_mcp_server> [reps]');
  process.exit(2);
}
const servers = `  fake: {command: ${JSON.stringify(fake)}}\n`;
const extra = 'naming: {prefix: never}\n';
const loads = [{ sessions: 1, inflight: 1, calls: 3000 }, { sessions: 4, inflight: 4, calls: 20000 }];

function measure(url, { sessions, inflight, calls }) {
  const r = spawnSync(loadgen, ['http', '--url', `${url}/mcp`, '--sessions', `${sessions}`, '--inflight',
    `${inflight}`, '--calls', `${calls}`, '--seconds', '0'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`loadgen: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

// One manifold without http.sessions (random ids, sessions in one process).
async function plainReplica() {
  const dir = mkdtempSync(join(tmpdir(), 'manifold-bench-'));
  const config = join(dir, 'manifold.yaml');
  writeFileSync(config, `${extra}servers:\n${servers}`);
  const portFile = join(dir, 'port');
  const child = spawn(manifold, ['--log-level', 'warn', 'serve', '--config', config, '--listen', '127.0.0.1:0',
    '--port-file', portFile], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  for (let i = 0; i < 500 && !existsSync(portFile); i++) await Promise.race([new Promise((r) => setTimeout(r, 20)), exited]);
  const port = Number(readFileSync(portFile, 'utf8'));
  return { url: `http://127.0.0.1:${port}`, async stop() { child.kill('SIGTERM'); await exited; rmSync(dir, { recursive: true, force: true }); } };
}

const rows = [];
const record = (setup, load, r) => rows.push({ setup, load: `s=${load.sessions} c=${load.inflight}`, ...r });

for (let rep = 0; rep < reps; rep++) {
  const plain = await plainReplica();
  for (const load of loads) record('1 replica, direct, random ids', load, measure(plain.url, load));
  await plain.stop();
  for (const count of [1, 3]) {
    const set = await startReplicas({ count, servers, keys: [['k1', newSecret()]], extra });
    // The load generator keeps its connections for the whole run (nginx closes a client
    // connection after 1000 requests by default).
    const lb = await startNginx({ backends: set.replicas.map((r) => `127.0.0.1:${r.port}`),
      extraLocation: '      keepalive_requests 1000000;' });
    try {
      if (count === 1) for (const load of loads) record('1 replica, direct, sealed ids', load, measure(set.replicas[0].url, load));
      for (const load of loads) record(`nginx + ${count} replica${count > 1 ? 's' : ''}, sealed ids`, load, measure(lb.url, load));
    } finally {
      await lb.stop();
      await set.stop();
    }
  }
}

// Medians over the repetitions.
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const groups = new Map();
for (const r of rows) {
  const key = `${r.setup}|${r.load}`;
  if (!groups.has(key)) groups.set(key, []);
  groups.get(key).push(r);
}
console.log('| setup | load | calls/s | p50 µs | p99 µs | errors |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const [key, rs] of groups) {
  const [setup, load] = key.split('|');
  console.log(`| ${setup} | ${load} | ${Math.round(median(rs.map((r) => r.calls_per_s)))} | ` +
    `${median(rs.map((r) => r.p50_us)).toFixed(0)} | ${median(rs.map((r) => r.p99_us)).toFixed(0)} | ` +
    `${rs.reduce((n, r) => n + r.errors, 0)} |`);
}
