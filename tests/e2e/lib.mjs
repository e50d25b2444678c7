// Shared set-up for the end-to-end tests: a temporary directory with a manifold config that
// fronts the real reference servers installed from npm next to this file.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = dirname(fileURLToPath(import.meta.url));
export const modules = join(here, 'node_modules');
export const node = process.execPath;
export const pkg = (name) => join(modules, '@modelcontextprotocol', name, 'dist', 'index.js');

// The environment for a manifold a test starts through the SDK's stdio transport (which
// passes only what it is given): `env` plus MANIFOLD_INITIALIZE_GRACE when CTest sets it, so
// that a slow upstream on a loaded machine is in the first catalog these tests assert on.
export function manifoldEnv(env) {
  const grace = process.env.MANIFOLD_INITIALIZE_GRACE;
  return grace ? { ...env, MANIFOLD_INITIALIZE_GRACE: grace } : env;
}

export function manifoldBinary() {
  const bin = process.argv[2];
  if (!bin) throw new Error('usage: node <test>.mjs <path to manifold>');
  return bin;
}

// A scratch directory with a filesystem root, a memory file and a config for all three
// reference servers. Returns {dir, root, config, cleanup}.
export function referenceSetup(extraYaml = '', serverYaml = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'manifold-e2e-'));
  const root = join(dir, 'root');
  mkdirSync(root);
  writeFileSync(join(root, 'notes.txt'), 'manifold end-to-end notes\n');
  const q = JSON.stringify;
  const config = join(dir, 'manifold.yaml');
  writeFileSync(config, `servers:
  everything:
    command: ${q(node)}
    args: [${q(pkg('server-everything'))}, stdio]
${serverYaml.everything ?? ''}  memory:
    command: ${q(node)}
    args: [${q(pkg('server-memory'))}]
    env: {MEMORY_FILE_PATH: ${q(join(dir, 'memory.jsonl'))}}
${serverYaml.memory ?? ''}  filesystem:
    command: ${q(node)}
    args: [${q(pkg('server-filesystem'))}, ${q(root)}]
${extraYaml}`);
  return { dir, root, config, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

// Every process a test starts; killed when the test ends however it ends.
const children = [];
process.on('exit', () => { for (const c of children) if (c.exitCode === null) c.kill('SIGKILL'); });

// Resolves when `file` exists (fs.watch on its directory, no polling), or rejects at the deadline.
export function appears(file, ms = 20000) {
  return new Promise((resolve, reject) => {
    if (existsSync(file)) return resolve();
    const w = watch(dirname(file), (event, name) => {
      if ((name === null || name === basename(file)) && existsSync(file)) { clearTimeout(t); w.close(); resolve(); }
    });
    const t = setTimeout(() => { w.close(); reject(new Error(`${file} never appeared`)); }, ms);
    if (existsSync(file)) { clearTimeout(t); w.close(); resolve(); }
  });
}

// Starts `argv` (argv[0] the program) with stderr collected; `logged(text)` waits for a line.
export function start(argv, options = {}) {
  const child = spawn(argv[0], argv.slice(1), { stdio: [options.stdin ?? 'ignore', options.stdout ?? 'ignore', 'pipe'], env: options.env ?? process.env });
  children.push(child);
  let stderr = '';
  const waiters = [];
  child.stderr.on('data', (d) => {
    stderr += d;
    for (const w of [...waiters]) if (stderr.includes(w.text)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(); }
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    child, exited,
    stderr: () => stderr,
    logged: (text, ms = 20000) => new Promise((resolve, reject) => {
      if (stderr.includes(text)) return resolve();
      const t = setTimeout(() => reject(new Error(`never logged "${text}":\n${stderr.slice(-3000)}`)), ms);
      waiters.push({ text, resolve: () => { clearTimeout(t); resolve(); } });
    }),
    async stop(signal = 'SIGTERM') { if (child.exitCode === null) child.kill(signal); return exited; },
  };
}

// Starts `manifold serve --listen 127.0.0.1:0` on `config` and resolves with
// {url, port, child, stop} once it listens (the port comes from --port-file).
export async function serveHttp(config, extraArgs = [], port = 0) {
  const portFile = `${config}.${port}.port`;
  rmSync(portFile, { force: true });
  const child = spawn(manifoldBinary(), ['--log-level', process.env.MANIFOLD_LOG_LEVEL ?? 'warn', 'serve',
    '--config', config, '--listen', `127.0.0.1:${port}`, '--port-file', portFile, ...extraArgs],
  { stdio: ['ignore', 'inherit', 'inherit'] });
  children.push(child);
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  await Promise.race([appears(portFile), exited.then(({ code }) => { throw new Error(`manifold exited early (${code})`); })]);
  const bound = Number(readFileSync(portFile, 'utf8'));
  return {
    port: bound, url: `http://127.0.0.1:${bound}`, child,
    async stop() { if (child.exitCode === null) child.kill('SIGTERM'); return exited; },
  };
}

// Starts the everything server in `mode` (streamableHttp or sse) on a port the OS picks,
// bound to loopback. Resolves with {url, stop}.
export async function everythingOverHttp(mode, dir) {
  const portFile = join(dir, `everything-${mode}.port`);
  const child = spawn(node, ['--require', join(here, 'loopback.cjs'), pkg('server-everything'), mode], {
    env: { ...process.env, PORT: '0', MANIFOLD_TEST_PORT_FILE: portFile },
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  children.push(child);
  const exited = new Promise((resolve) => child.on('exit', resolve));
  await Promise.race([appears(portFile), exited.then(() => { throw new Error(`everything ${mode} exited early`); })]);
  const port = Number(readFileSync(portFile, 'utf8'));
  const path = mode === 'sse' ? '/sse' : '/mcp';
  return {
    url: `http://127.0.0.1:${port}${path}`,
    stop: () => { if (child.exitCode === null) child.kill('SIGTERM'); return exited; },
  };
}

// Runs the async test body, prints one summary line, and sets the exit code.
export async function run(name, body) {
  const started = Date.now();
  try {
    await body();
    console.log(`${name}: 1 passed, 0 failed (${Date.now() - started} ms)`);
  } catch (err) {
    console.error(err);
    console.log(`${name}: 0 passed, 1 failed`);
    process.exitCode = 1;
  }
}
