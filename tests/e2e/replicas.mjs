// Several manifold replicas on loopback for scale-out tests: each with its own config
// directory, session keys (http.sessions, laid out as a mounted Kubernetes Secret) and
// upstream processes, on a port the OS handed out
// (so that a killed replica comes back where the balancer expects it), all listing each
// other as peers. Start, kill, restart, rewrite keys, and wait for what a replica logs.
//
//   const set = await startReplicas({ count: 3, servers: yaml, keys: [['k1', secret]] });
//   set.replicas[0].url; await set.replicas[1].kill('SIGKILL'); await set.replicas[1].start();
//   await set.replicas[0].rotate([['k2', s2], ['k1', s1]]);   // resolves once it reloaded
//   await set.stop();
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync,
  writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manifoldBinary } from './lib.mjs';

const maxLog = 8 * 1024 * 1024;   // what a replica's log may hold in memory
const startDeadline = 30_000;     // a replica listens, or reloads, within this

export const newSecret = () => randomBytes(32).toString('base64');

// A port the OS considers free now (the replica binds it a moment later).
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Every process below `pid` (from /proc), deepest last.
function descendantsOf(pid) {
  const out = [];
  const visit = (p) => {
    let tasks = [];
    try { tasks = readdirSync(`/proc/${p}/task`); } catch { return; }
    for (const t of tasks) {
      let children = '';
      try { children = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8'); } catch { continue; }
      for (const c of children.split(' ').filter(Boolean).map(Number)) { out.push(c); visit(c); }
    }
  };
  visit(pid);
  return out;
}

const keysText = (keys) => `# id secret (the first seals)\n${keys.map(([id, s]) => `${id} ${s}`).join('\n')}\n`;

// The session keys laid out as the kubelet mounts a Secret: the file lives in a timestamped
// directory, `..data` links to that directory and `session-keys` to `..data/session-keys`.
// An update writes a new directory, points `..data_tmp` at it, renames that over `..data`
// and removes the old directory.
let generation = 0;
function writeSecret(dir, keys) {
  mkdirSync(dir, { recursive: true });
  const stamp = `..${Date.now()}_${generation++}`;
  mkdirSync(join(dir, stamp));
  writeFileSync(join(dir, stamp, 'session-keys'), keysText(keys), { mode: 0o600 });
  let old = null;
  try { old = readlinkSync(join(dir, '..data')); } catch { /* first time */ }
  symlinkSync(stamp, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  if (old === null) symlinkSync(join('..data', 'session-keys'), join(dir, 'session-keys'));
  else rmSync(join(dir, old), { recursive: true, force: true });
}

class Replica {
  constructor({ dir, index, port, config }) {
    Object.assign(this, { dir, index, port, config, url: `http://127.0.0.1:${port}`, log: '',
      child: null, exited: null, waiters: [] });
  }

  // Starts the process and resolves once it listens (its own log line says so).
  async start() {
    this.log = '';
    const child = spawn(manifoldBinary(), ['--log-level', 'info', 'serve', '--config', this.config,
      '--listen', `127.0.0.1:${this.port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => {
      this.log = (this.log + d).slice(-maxLog);
      this.waiters = this.waiters.filter((w) => !w.check());
    });
    this.exited.then(() => { for (const w of this.waiters) w.fail(); this.waiters = []; });
    await this.waitFor(new RegExp(`over HTTP on 127\\.0\\.0\\.1:${this.port}\\b`));
  }

  // Resolves when the log (from `from` on) matches `pattern`; rejects when the process exits
  // first or after startDeadline.
  waitFor(pattern, from = 0) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { drop(); reject(new Error(`replica ${this.index}: no ${pattern} in ${startDeadline} ms\n${this.tail()}`)); }, startDeadline);
      const waiter = {
        check: () => {
          const m = this.log.slice(from).match(pattern);
          if (!m) return false;
          clearTimeout(timer);
          resolve(m);
          return true;
        },
        fail: () => { clearTimeout(timer); reject(new Error(`replica ${this.index} exited\n${this.tail()}`)); },
      };
      const drop = () => { this.waiters = this.waiters.filter((w) => w !== waiter); };
      if (!waiter.check()) this.waiters.push(waiter);
    });
  }

  tail(lines = 30) { return this.log.split('\n').slice(-lines).join('\n'); }

  get running() { return this.child !== null && this.child.exitCode === null && this.child.signalCode === null; }

  // SIGKILL takes the replica's upstream processes with it, as the end of a container does
  // (manifold starts them in process groups of their own, so nothing else would).
  async kill(signal = 'SIGTERM') {
    if (!this.running) return this.exited;
    const descendants = signal === 'SIGKILL' ? descendantsOf(this.child.pid) : [];
    this.child.kill(signal);
    for (const pid of descendants) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    return this.exited;  // {code, signal}
  }

  // Rewrites this replica's keys as the kubelet updates a mounted Secret and resolves once
  // the replica has reloaded them.
  async rotate(keys) {
    const from = this.log.length;
    writeSecret(join(this.dir, 'secret'), keys);
    const ring = keys.map(([id]) => id).join(', ');
    await this.waitFor(new RegExp(`sealed with key ${keys[0][0]} \\(ring: ${ring}\\)`), from);
  }
}

// `servers`: the YAML of the `servers:` section (indented by two spaces); `keys`: [[id,
// secret], ...], the first seals; `extra`: more top-level YAML.
export async function startReplicas({ count, servers, keys, extra = '' }) {
  const root = mkdtempSync(join(tmpdir(), 'manifold-replicas-'));
  const ports = [];
  while (ports.length < count) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  const peers = ports.map((p) => `"http://127.0.0.1:${p}"`).join(', ');
  const replicas = ports.map((port, index) => {
    const dir = join(root, `r${index}`);
    mkdirSync(dir);
    writeSecret(join(dir, 'secret'), keys);
    const config = join(dir, 'manifold.yaml');
    writeFileSync(config, `servers:\n${servers}http:\n  sessions:\n    keys_file: secret/session-keys\n` +
      `    peers: [${peers}]\n${extra}`);
    return new Replica({ dir, index, port, config });
  });
  const set = {
    root, replicas,
    async stop() {
      await Promise.all(replicas.map((r) => r.kill('SIGTERM')));
      rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    for (const r of replicas) await r.start();
  } catch (e) {
    await set.stop();
    throw e;
  }
  return set;
}
