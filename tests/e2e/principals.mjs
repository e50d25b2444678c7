// Two principals through one manifold over HTTP, each with two sessions, calling at once, many
// rounds: an upstream shared by everyone ("hub") and one isolated per principal ("own"), both
// the real everything server. Every sampling request, elicitation and progress notification an
// upstream sends while serving a call must reach the session that made that call and no other.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { manifoldBinary, node, pkg, referenceSetup, run, serveHttp } from './lib.mjs';

const text = (r) => r.content.filter((c) => c.type === 'text').map((c) => c.text).join('\n');
const hashOf = (key) => {
  const r = spawnSync(manifoldBinary(), ['key', 'hash'], { input: key, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split(/\s+/).pop();
};

await run('e2e_principals', async () => {
  const setup = referenceSetup();
  const keys = { alice: `mfd_alice_${'a'.repeat(40)}`, bob: `mfd_bob_${'b'.repeat(40)}` };
  const q = JSON.stringify;
  writeFileSync(setup.config, `auth:
  api_keys:
    - {principal: alice, hash: "${hashOf(keys.alice)}", roles: [user]}
    - {principal: bob, hash: "${hashOf(keys.bob)}", roles: [user]}
roles:
  user:
    tools: {allow: ["hub__*", "own__*"]}
servers:
  hub:
    command: ${q(node)}
    args: [${q(pkg('server-everything'))}, stdio]
    isolation: shared
  own:
    command: ${q(node)}
    args: [${q(pkg('server-everything'))}, stdio]
    isolation: principal
`);
  const server = await serveHttp(setup.config);
  try {
    async function session(who, n) {
      const name = `${who}-${n}`;
      const c = new Client({ name, version: '1' }, { capabilities: { sampling: {}, elicitation: {} } });
      c.label = name;
      c.sampled = [];
      c.elicited = 0;
      c.setRequestHandler(CreateMessageRequestSchema, async (req) => {
        c.sampled.push(JSON.stringify(req.params.messages));
        return { role: 'assistant', model: name, content: { type: 'text', text: `answer from ${name}` } };
      });
      c.setRequestHandler(ElicitRequestSchema, async () => {
        c.elicited += 1;
        return { action: 'accept', content: { name } };
      });
      await c.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${keys[who]}` } },
      }));
      return c;
    }
    const clients = [await session('alice', 1), await session('alice', 2), await session('bob', 1), await session('bob', 2)];
    for (const c of clients) {
      const names = (await c.listTools()).tools.map((t) => t.name);
      for (const t of ['hub__trigger-sampling-request', 'own__trigger-sampling-request', 'own__trigger-elicitation-request',
        'hub__trigger-long-running-operation']) assert.ok(names.includes(t), `${c.label} lists ${t}`);
    }

    // Concurrent rounds. On `own` (isolation: principal; one session per principal calls it)
    // every request reaches its caller exactly. On the shared `hub` several sessions have calls
    // in flight at once and a stdio server's request carries nothing that says which call it
    // serves, so manifold refuses it with a clear error rather than guess; it never delivers it
    // to another session. Progress carries a token manifold minted per call: always exact.
    const [alice1, alice2, bob1, bob2] = clients;
    const exact = new Set([alice1, bob1]);
    const rounds = 5;
    const refusals = [];
    for (let round = 0; round < rounds; round += 1) {
      await Promise.all(clients.flatMap((c) => {
        const tag = `${c.label}/round ${round}`;
        const progress = { hub: [], own: [] };
        const calls = (exact.has(c) ? ['hub', 'own'] : ['hub']).map(async (s) => {
          await c.callTool({ name: `${s}__trigger-long-running-operation`, arguments: { duration: 0.2, steps: 2 } },
            undefined, { onprogress: (p) => progress[s].push(p.progress) });
          assert.deepEqual(progress[s], [1, 2], `${s} progress for ${tag} only on its own call`);
        });
        calls.push((async () => {
          try {
            const r = await c.callTool({ name: 'hub__trigger-sampling-request', arguments: { prompt: `hub ${tag}`, maxTokens: 5 } });
            assert.match(text(r), new RegExp(`answer from ${c.label}\\b`), `hub sampling for ${tag}: ${text(r)}`);
          } catch (e) {
            assert.match(String(e.message), /isolation: manifold cannot tell which host session/, `hub sampling for ${tag}: ${e.message}`);
            refusals.push(tag);
          }
        })());
        if (exact.has(c)) {
          calls.push((async () => {
            const r = await c.callTool({ name: 'own__trigger-sampling-request', arguments: { prompt: `own ${tag}`, maxTokens: 5 } });
            assert.match(text(r), new RegExp(`answer from ${c.label}\\b`), `own sampling for ${tag} answered by its own host`);
          })(), (async () => {
            const r = await c.callTool({ name: 'own__trigger-elicitation-request', arguments: {} });
            assert.match(JSON.stringify(r), new RegExp(`${c.label}`), `elicitation for ${tag} answered by its own host`);
            assert.doesNotMatch(JSON.stringify(r), new RegExp(`${c === alice1 ? 'bob' : 'alice'}-`), `elicitation for ${tag}`);
          })());
        }
        return calls;
      }));
    }
    assert.ok(refusals.length > 0, 'concurrent sampling on the shared upstream was refused at least once');
    // One at a time, the shared upstream's requests reach their caller.
    for (const c of clients) {
      const r = await c.callTool({ name: 'hub__trigger-sampling-request', arguments: { prompt: `hub ${c.label}/alone`, maxTokens: 5 } });
      assert.match(text(r), new RegExp(`answer from ${c.label}\\b`));
    }
    for (const c of clients) {
      assert.ok(c.sampled.every((m) => m.includes(`${c.label}/`)), `${c.label} got only its own requests: ${c.sampled.join(' | ')}`);
      assert.ok(c.sampled.some((m) => m.includes(`${c.label}/alone`)));
      if (exact.has(c)) {
        assert.equal(c.sampled.filter((m) => m.includes('own ')).length, rounds, `${c.label}: every own sampling request`);
        assert.equal(c.elicited, rounds, `${c.label} got exactly its own elicitations`);
      } else {
        assert.equal(c.elicited, 0);
      }
    }
    assert.ok(alice2 && bob2);
    // hub: one instance for everyone; own: the launch instance (it lists the catalog) and one
    // per principal, whatever the number of sessions.
    const instances = spawnSync('pgrep', ['-c', '-P', String(server.child.pid), '-f', pkg('server-everything')], { encoding: 'utf8' });
    assert.equal(Number(instances.stdout.trim()), 4, instances.stderr);
    await Promise.all(clients.map((c) => c.close()));
  } finally {
    await server.stop();
    setup.cleanup();
  }
});
