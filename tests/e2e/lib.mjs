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

export function manifoldBinary() {
  const bin = process.argv[2];
  if (!bin) throw new Error('usage: node <test>.mjs <path to manifold>');
  return bin;
}

// A scratch directory with a filesystem root, a memory file and a config for all three
// reference servers. Returns {dir, root, config, cleanup}.
export function referenceSetup(extraYaml = '') {
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
  memory:
    command: ${q(node)}
    args: [${q(pkg('server-memory'))}]
    env: {MEMORY_FILE_PATH: ${q(join(dir, 'memory.jsonl'))}}
  filesystem:
    command: ${q(node)}
    args: [${q(pkg('server-filesystem'))}, ${q(root)}]
${extraYaml}`);
  return { dir, root, config, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
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
