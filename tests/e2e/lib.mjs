// Shared set-up for the end-to-end tests: a temporary directory with a manifold config that
// fronts the real reference servers installed from npm next to this file.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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
  filesystem:
    command: ${q(node)}
    args: [${q(pkg('server-filesystem'))}, ${q(root)}]
${extraYaml}`);
  return { dir, root, config, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

// Starts `manifold serve --listen 127.0.0.1:0` on `config` and resolves with
// {url, port, child, stop} once it listens (the port comes from --port-file).
export async function serveHttp(config, extraArgs = [], port = 0) {
  const { spawn } = await import('node:child_process');
  const { existsSync, readFileSync } = await import('node:fs');
  const portFile = `${config}.${port}.port`;
  (await import('node:fs')).rmSync(portFile, { force: true });
  const child = spawn(manifoldBinary(), ['--log-level', process.env.MANIFOLD_LOG_LEVEL ?? 'warn', 'serve',
    '--config', config, '--listen', `127.0.0.1:${port}`, '--port-file', portFile, ...extraArgs],
  { stdio: ['ignore', 'inherit', 'inherit'] });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  for (let i = 0; i < 300 && !existsSync(portFile); i++) {
    await Promise.race([new Promise((r) => setTimeout(r, 20)), exited]);
    if (child.exitCode !== null) throw new Error(`manifold exited early (${child.exitCode})`);
  }
  const bound = Number(readFileSync(portFile, 'utf8'));
  return {
    port: bound, url: `http://127.0.0.1:${bound}`, child,
    async stop() { child.kill('SIGTERM'); return exited; },
  };
}

// Starts the everything server in `mode` (streamableHttp or sse) on a port the OS picks,
// bound to loopback. Resolves with {url, stop}.
export async function everythingOverHttp(mode, dir) {
  const { spawn } = await import('node:child_process');
  const { existsSync, readFileSync } = await import('node:fs');
  const portFile = join(dir, `everything-${mode}.port`);
  const child = spawn(node, ['--require', join(here, 'loopback.cjs'), pkg('server-everything'), mode], {
    env: { ...process.env, PORT: '0', MANIFOLD_TEST_PORT_FILE: portFile },
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  for (let i = 0; i < 500 && !existsSync(portFile); i++) {
    await new Promise((r) => setTimeout(r, 20));
    if (child.exitCode !== null) throw new Error(`everything ${mode} exited early`);
  }
  const port = Number(readFileSync(portFile, 'utf8'));
  const path = mode === 'sse' ? '/sse' : '/mcp';
  return {
    url: `http://127.0.0.1:${port}${path}`,
    stop: () => new Promise((resolve) => { child.on('exit', resolve); child.kill('SIGTERM'); }),
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
