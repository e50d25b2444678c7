// Identity and access over HTTP with real clients: the negative matrix (every way a request
// can be unauthenticated or unauthorised, each refused with the right status or error and
// none reaching the upstream, which records what it receives), roles as views, call-time
// rules, rate limits, session ownership, the audit chain and the forwarded identity.
// Usage: node access.mjs <manifold> <fake_mcp_server>
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as jose from 'jose';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { run } from './lib.mjs';

const manifold = process.argv[2];
const fake = process.argv[3];
const dir = mkdtempSync(join(tmpdir(), 'manifold-access-'));
const q = JSON.stringify;
const issuer = 'https://idp.test';
const audience = 'https://manifold.test/mcp';
const children = [];
process.on('exit', () => { for (const c of children) if (c.exitCode === null) c.kill('SIGKILL'); });

const hashOf = (key) => {
  const r = spawnSync(manifold, ['key', 'hash'], { input: key, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split(/\s+/).pop();
};

async function keyPair(alg, kid) {
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await jose.exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { alg, kid, publicKey, privateKey, jwk };
}

function token(key, claims = {}, { exp = '5m', nbf, iss = issuer, aud = audience, sub = 'bob', kid = key.kid, alg = key.alg } = {}) {
  let jwt = new jose.SignJWT({ realm_access: { roles: ['dev'] }, ...claims })
    .setProtectedHeader({ alg, kid }).setIssuer(iss).setAudience(aud).setSubject(sub).setIssuedAt();
  if (exp !== null) jwt = jwt.setExpirationTime(exp);
  if (nbf) jwt = jwt.setNotBefore(nbf);
  return jwt.sign(key.privateKey);
}

const b64 = (o) => Buffer.from(q(o)).toString('base64url');

function waitFile(file, ms = 15000) {
  return new Promise((resolve, reject) => {
    if (existsSync(file)) return resolve();
    const w = watch(dir, () => { if (existsSync(file)) { clearTimeout(t); w.close(); resolve(); } });
    const t = setTimeout(() => { w.close(); reject(new Error(`${file} never appeared`)); }, ms);
  });
}

function post(port, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/mcp', agent: false,
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers } }, (res) => {
      let data = '';
      res.on('data', (d) => { data += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    req.end(typeof body === 'string' ? body : q(body));
  });
}

const init = { jsonrpc: '2.0', id: 1, method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'access', version: '1' } } };

async function client(port, auth) {
  const c = new Client({ name: 'access', version: '1' });
  const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), {
    requestInit: { headers: { authorization: auth } } });
  await c.connect(transport);
  c.http = transport;
  return c;
}

const text = (r) => r.content.map((c) => c.text).join('');
const upstreamCalls = () => (existsSync(join(dir, 'alpha.log')) ? readFileSync(join(dir, 'alpha.log'), 'utf8') : '')
  .split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((m) => m.method === 'tools/call').map((m) => m.params);

await run('e2e_access', async () => {
  const rsa = await keyPair('RS256', 'rsa1');
  const ec = await keyPair('ES256', 'ec1');
  const ed = await keyPair('EdDSA', 'ed1');
  const rotated = await keyPair('RS256', 'rsa2');
  const jwks = join(dir, 'jwks.json');
  writeFileSync(jwks, q({ keys: [rsa.jwk, ec.jwk, ed.jwk] }));
  const aliceKey = 'mfd_alice_' + 'a'.repeat(40);
  const malloryKey = 'mfd_mallory_' + 'm'.repeat(40);
  const limitedKey = 'mfd_limited_' + 'l'.repeat(40);
  const config = join(dir, 'manifold.yaml');
  writeFileSync(config, `auth:
  api_keys:
    - {principal: alice, hash: "${hashOf(aliceKey)}", roles: [dev]}
    - {principal: mallory, hash: "${hashOf(malloryKey)}", roles: [viewer]}
    - {principal: limited, hash: "${hashOf(limitedKey)}", roles: [limited]}
  jwt:
    issuer: ${issuer}
    audience: ${audience}
    jwks_file: ${jwks}
    algorithms: [RS256, ES256, EdDSA]
    leeway: 5s
    jwks_min_refresh_interval: 10ms
    roles_claim: realm_access.roles
  resource:
    url: ${audience}
    authorization_servers: [${issuer}]
    scopes_supported: [mcp]
roles:
  dev:
    tools: {allow: ["alpha__*"], deny: ["alpha__crash"]}
    rules:
      - {name: small-only, tools: [alpha__big], when: {bytes: {maximum: 100}}}
  viewer:
    tools: {allow: [alpha__echo]}
  limited:
    tools: {allow: [alpha__echo]}
    limits: {rate: "1/m", burst: 2}
audit:
  file: ${join(dir, 'audit.jsonl')}
  arguments: redacted
identity_signing_key: "${'k'.repeat(40)}"
servers:
  alpha:
    command: ${q(fake)}
    args: [--name, alpha, --record, ${q(join(dir, 'alpha.log'))}]
    isolation: shared
    forward_identity: meta
`);
  const portFile = join(dir, 'port');
  const child = spawn(manifold, ['--log-level', 'info', 'serve', '--config', config, '--listen', '127.0.0.1:0',
    '--port-file', portFile], { stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  await waitFile(portFile);
  const port = Number(readFileSync(portFile, 'utf8'));

  // --- the negative matrix: refused, with the right status, before anything reaches alpha ---
  const none = { jsonrpc: '2.0', alg: 'none' };
  const cases = [
    ['no credentials', {}, 401],
    ['a malformed token', { authorization: 'Bearer !!not-a-token!!' }, 400],
    ['a token that is not a JWT', { authorization: 'Bearer abc.def.ghi' }, 401],
    ['a wrong API key', { authorization: 'Bearer mfd_nobody_' + 'x'.repeat(40) }, 401],
    ['a wrong signature', { authorization: `Bearer ${(await token(rsa)).slice(0, -4)}AAAA` }, 401],
    ['an expired token', { authorization: `Bearer ${await token(rsa, {}, { exp: Math.floor(Date.now() / 1000) - 3600 })}` }, 401],
    ['a token not yet valid', { authorization: `Bearer ${await token(ec, {}, { nbf: Math.floor(Date.now() / 1000) + 3600 })}` }, 401],
    ['a wrong issuer', { authorization: `Bearer ${await token(ed, {}, { iss: 'https://evil.test' })}` }, 401],
    ['a wrong audience', { authorization: `Bearer ${await token(rsa, {}, { aud: 'https://other.test/mcp' })}` }, 401],
    ['an unknown kid', { authorization: `Bearer ${await token(rotated, {}, { kid: 'nobody' })}` }, 401],
    ['alg none', { authorization: `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: issuer, aud: audience, sub: 'x', exp: 9999999999, realm_access: { roles: ['dev'] } })}.` }, 401],
    ['HS/RS confusion', { authorization: `Bearer ${await new jose.SignJWT({ realm_access: { roles: ['dev'] } })
      .setProtectedHeader({ alg: 'HS256', kid: 'rsa1' }).setIssuer(issuer).setAudience(audience).setSubject('x')
      .setExpirationTime('5m').sign(new TextEncoder().encode(await jose.exportSPKI(rsa.publicKey)))}` }, 401],
    ['a Basic header', { authorization: 'Basic YWxpY2U6cGFzcw==' }, 401],
  ];
  void none;
  for (const [name, headers, status] of cases) {
    const r = await post(port, init, headers);
    assert.equal(r.status, status, `${name}: ${r.status} ${r.body}`);
    assert.equal(JSON.parse(r.body).error.code, -32600, name);
    if (status === 401) {
      assert.match(r.headers['www-authenticate'] ?? '', /^Bearer /, `${name}: challenge`);
      assert.match(r.headers['www-authenticate'], /resource_metadata="[^"]+"/, `${name}: resource_metadata`);
    }
    console.log(`refused: ${name} -> ${r.status}`);
  }
  // RFC 9728 metadata, open to everyone.
  const metadata = await new Promise((resolve) => http.get({ host: '127.0.0.1', port,
    path: '/.well-known/oauth-protected-resource/mcp', agent: false }, (res) => {
    let d = ''; res.on('data', (c) => { d += c; }); res.on('end', () => resolve({ status: res.statusCode, body: d }));
  }));
  assert.equal(metadata.status, 200, metadata.body);
  assert.equal(JSON.parse(metadata.body).resource, audience);
  assert.deepEqual(JSON.parse(metadata.body).authorization_servers, [issuer]);

  // --- valid identities: each sees what its roles admit ---
  const bob = await client(port, `Bearer ${await token(rsa, {}, { sub: 'bob' })}`);  // JWT, role dev
  const names = (await bob.listTools()).tools.map((t) => t.name);
  assert.ok(names.includes('alpha__echo') && names.includes('alpha__inspect'));
  assert.ok(!names.includes('alpha__crash'), 'denied by the role');
  const viewer = await client(port, `Bearer ${malloryKey}`);  // API key, role viewer
  assert.deepEqual((await viewer.listTools()).tools.map((t) => t.name), ['alpha__echo']);
  assert.equal(text(await viewer.callTool({ name: 'alpha__echo', arguments: { text: 'hi' } })), 'hi');
  await assert.rejects(viewer.callTool({ name: 'alpha__inspect', arguments: {} }), (e) => e.code === -32602, 'hidden: unknown');
  await assert.rejects(viewer.readResource({ uri: 'alpha+x://secret' }), (e) => e.code === -32002);
  await assert.rejects(viewer.complete({ ref: { type: 'ref/prompt', name: 'alpha__p' }, argument: { name: 'a', value: '' } }),
    (e) => e.code === -32602);
  // ES256 and EdDSA tokens work too.
  for (const key of [ec, ed]) {
    const c = await client(port, `Bearer ${await token(key, {}, { sub: `user-${key.kid}` })}`);
    assert.equal(text(await c.callTool({ name: 'alpha__echo', arguments: { text: key.kid } })), key.kid);
    await c.close();
  }

  // --- call-time rules: refused with an isError naming the rule; never sent upstream ---
  const big = await bob.callTool({ name: 'alpha__big', arguments: { bytes: 5000 } });
  assert.equal(big.isError, true);
  assert.match(text(big), /small-only/);
  assert.equal(text(await bob.callTool({ name: 'alpha__big', arguments: { bytes: 10 } })).length, 10);

  // --- limits: the third call within a minute is refused with retryAfterMs and HTTP 429 ---
  const limited = await client(port, `Bearer ${limitedKey}`);
  await limited.callTool({ name: 'alpha__echo', arguments: { text: '1' } });
  await limited.callTool({ name: 'alpha__echo', arguments: { text: '2' } });
  // (HTTP 429: the SDK client reports it as a transport error carrying the JSON-RPC body)
  await assert.rejects(limited.callTool({ name: 'alpha__echo', arguments: { text: '3' } }),
    (e) => (e.code === -32029 && e.data?.retryAfterMs > 0) || /"code":-32029.*"retryAfterMs":\d+/.test(e.message));
  const raw = await post(port, { jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'alpha__echo', arguments: { text: '4' } } },
    { authorization: `Bearer ${limitedKey}`, 'mcp-session-id': limited.http.sessionId, 'mcp-protocol-version': '2025-11-25' });
  assert.equal(raw.status, 429, raw.body);
  assert.ok(Number(raw.headers['retry-after']) >= 1);

  // --- another principal's session id is unknown ---
  const hijack = await post(port, { jsonrpc: '2.0', id: 5, method: 'tools/list' },
    { authorization: `Bearer ${malloryKey}`, 'mcp-session-id': bob.http.sessionId, 'mcp-protocol-version': '2025-11-25' });
  assert.equal(hijack.status, 404, hijack.body);

  // --- a revoked key: gone after the key set is refreshed (an unknown kid triggers it) ---
  const before = await token(rsa, {}, { sub: 'carol' });
  const carol = await post(port, init, { authorization: `Bearer ${before}` });
  assert.equal(carol.status, 200, carol.body);
  writeFileSync(jwks, q({ keys: [rotated.jwk, ec.jwk, ed.jwk] }));  // rsa1 revoked, rsa2 added
  const dave = await post(port, init, { authorization: `Bearer ${await token(rotated, {}, { sub: 'dave' })}` });
  assert.equal(dave.status, 200, `the new key works after the refresh: ${dave.body}`);
  const revoked = await post(port, init, { authorization: `Bearer ${await token(rsa, {}, { sub: 'erin' })}` });
  assert.equal(revoked.status, 401, 'a token of the revoked key is refused');
  const cached = await post(port, init, { authorization: `Bearer ${before}` });
  assert.equal(cached.status, 401, 'even one verified before the refresh');

  // --- the forwarded identity: signed claims in _meta, never the host's token ---
  const inspect = await (await client(port, `Bearer ${aliceKey}`)).callTool({ name: 'alpha__inspect', arguments: {} });
  const seen = JSON.parse(text(inspect));
  const forwarded = seen.params._meta?.['io.manifold/identity'];
  assert.ok(forwarded, q(seen));
  const claims = jose.decodeJwt(forwarded);
  assert.equal(claims.sub, 'alice');
  assert.deepEqual(claims.roles, ['dev']);
  assert.equal(claims.aud, 'alpha');
  assert.ok(!JSON.stringify(seen).includes(aliceKey), 'the API key itself never travels');

  // --- nothing refused reached the upstream ---
  const calls = upstreamCalls();
  for (const c of calls) {
    assert.notEqual(c.name, 'crash');
    if (c.name === 'big') assert.ok(c.arguments.bytes <= 100, q(c));
    if (c.name === 'echo') assert.notEqual(c.arguments.text, '3');
  }
  assert.equal(calls.filter((c) => c.name === 'echo' && ['3', '4'].includes(c.arguments.text)).length, 0);

  // --- the audit chain: every call and refusal, with the rule; tampering is detected ---
  const audit = join(dir, 'audit.jsonl');
  const lines = readFileSync(audit, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  assert.ok(lines.some((l) => l.principal === 'bob' && l.rule?.includes('small-only') && l.outcome === 'refused'), 'rule refusal audited');
  assert.ok(lines.some((l) => l.principal === 'limited' && l.outcome === 'rate_limited'), 'rate limit audited');
  assert.ok(lines.some((l) => l.principal === 'mallory' && l.rule === 'visibility'), 'a hidden tool audited');
  assert.ok(!readFileSync(audit, 'utf8').includes(aliceKey), 'no credential in the audit');
  assert.equal(spawnSync(manifold, ['audit', 'verify', audit]).status, 0);
  const tampered = join(dir, 'tampered.jsonl');
  writeFileSync(tampered, readFileSync(audit, 'utf8').replace('"bob"', '"eve"'));
  assert.equal(spawnSync(manifold, ['audit', 'verify', tampered]).status, 1);

  for (const c of [bob, viewer, limited]) await c.close();
  child.kill('SIGTERM');
});
rmSync(dir, { recursive: true, force: true });
process.exit();
