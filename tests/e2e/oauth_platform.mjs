// manifold as an OAuth 2.1 resource server in front of an organisation, against a real
// authorization server (oauth2-mock-server, JWTs from its JWKS): the official SDK client
// discovers manifold's protected-resource metadata, signs in with PKCE (this test plays the
// browser and the person choosing who signs in), and calls tools; each person sees what their
// roles admit. Toward the upstream "ledger" (an SDK server that itself requires tokens from the
// same authorization server) manifold exchanges each caller's token for one meant for ledger
// (RFC 8693), so ledger sees who is calling without ever receiving the caller's own token.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, watch } from 'node:fs';
import { createServer } from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as jose from 'jose';
import { OAuth2Issuer, OAuth2Service } from 'oauth2-mock-server';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { manifoldBinary, run } from './lib.mjs';

const tokenExchange = 'urn:ietf:params:oauth:grant-type:token-exchange';
const listen = (server, port = 0) => new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, '127.0.0.1', () => resolve(server.address().port));
});
const readAll = (req) => new Promise((resolve) => {
  const parts = [];
  req.on('data', (d) => parts.push(d)).on('end', () => resolve(Buffer.concat(parts)));
});
const text = (r) => r.content.filter((c) => c.type === 'text').map((c) => c.text).join('\n');
const sendJson = (res, status, body, headers = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

// A port the OS just handed out, for a listener whose URL must be known before it starts
// (manifold's resource URL is in its config). Bounded retries cover the rare reuse race.
async function freePort() {
  const s = net.createServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
}

function waitFile(path, ms = 20_000) {
  return new Promise((resolve, reject) => {
    if (existsSync(path) && readFileSync(path, 'utf8').trim()) return resolve();
    const dir = join(path, '..');
    const timer = setTimeout(() => { w.close(); reject(new Error(`timed out waiting for ${path}`)); }, ms);
    const w = watch(dir, () => {
      if (existsSync(path) && readFileSync(path, 'utf8').trim()) {
        clearTimeout(timer);
        w.close();
        resolve();
      }
    });
  });
}

await run('e2e_oauth_platform', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'manifold-oauth-platform-'));
  const children = [];
  const servers = [];
  try {
    // ---- the authorization server ----
    const issuer = new OAuth2Issuer();
    await issuer.keys.generate('RS256');
    const service = new OAuth2Service(issuer);
    const people = { alice: ['ledger-reader', 'dev'], bob: ['ledger-reader'], carol: [] };
    const codes = new Map();  // authorization code -> { who, scope }
    const exchanges = [];
    service.on('beforeWellKnownOpenIdConfiguration', (r) => {
      r.body.grant_types_supported.push(tokenExchange);
      r.body.token_endpoint_auth_methods_supported = ['none', 'client_secret_basic', 'client_secret_post'];
    });
    // The person at the login page: the "browser" names them with login_hint.
    service.on('beforeAuthorizeRedirect', (redirect, req) => {
      const q = new URL(req.url, 'http://x').searchParams;
      codes.set(redirect.url.searchParams.get('code'), { who: q.get('login_hint'), scope: q.get('scope') ?? '' });
    });
    // Access tokens for a person are for the resource they asked for (RFC 8707), with their roles.
    service.on('beforeTokenSigning', (token, req) => {
      if (req.body?.grant_type === 'client_credentials') {  // manifold itself, for the resource it names
        token.payload.sub = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString().split(':')[0];
        token.payload.aud = req.body.resource;
        return;
      }
      const grant = codes.get(req.body?.code);
      if (!grant) return;
      token.payload.sub = grant.who;
      token.payload.aud = req.body.resource;
      token.payload.roles = people[grant.who];
      token.payload.scope = grant.scope;
    });
    const as = createServer(async (req, res) => {
      if (req.method !== 'POST' || !req.url.startsWith('/token')) return service.requestHandler(req, res);
      const raw = await readAll(req);
      const body = new URLSearchParams(raw.toString());
      if (body.get('grant_type') !== tokenExchange) {
        // Every other grant goes to the mock as it came.
        const replay = Readable.from([raw]);
        Object.assign(replay, { method: req.method, url: req.url, headers: req.headers });
        return service.requestHandler(replay, res);
      }
      // RFC 8693: only manifold, authenticated, may exchange; the subject token must be one
      // this server issued for manifold; the new token is for the resource asked for.
      const basic = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString();
      if (basic !== 'manifold:exchange-s3cret') return sendJson(res, 401, { error: 'invalid_client' });
      try {
        const keys = jose.createLocalJWKSet({ keys: issuer.keys.toJSON() });
        const { payload } = await jose.jwtVerify(body.get('subject_token'), keys, { issuer: issuer.url, audience: mcpUrl });
        assert.equal(body.get('subject_token_type'), 'urn:ietf:params:oauth:token-type:access_token');
        const resource = body.get('resource');
        exchanges.push({ sub: payload.sub, resource, audience: body.get('audience') });
        const access = await issuer.buildToken({
          expiresIn: 300,
          scopesOrTransform: (_h, p) => Object.assign(p, { sub: payload.sub, aud: resource, act: { sub: 'manifold' }, scope: 'ledger' }),
        });
        sendJson(res, 200, { access_token: access, issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          token_type: 'Bearer', expires_in: 300 }, { 'cache-control': 'no-store' });
      } catch (e) {
        sendJson(res, 400, { error: 'invalid_grant', error_description: String(e.message ?? e) });
      }
    });
    servers.push(as);
    const asPort = await listen(as);
    issuer.url = `http://127.0.0.1:${asPort}`;
    const jwks = jose.createRemoteJWKSet(new URL(`${issuer.url}/jwks`));

    // ---- ledger: an MCP server that accepts only tokens issued for it ----
    const seenByLedger = [];
    const ledger = createServer(async (req, res) => {
      const prm = { resource: ledgerUrl, authorization_servers: [issuer.url], scopes_supported: ['ledger'] };
      if (req.method === 'GET' && req.url.startsWith('/.well-known/oauth-protected-resource')) return sendJson(res, 200, prm);
      const challenge = { 'www-authenticate': `Bearer resource_metadata="http://127.0.0.1:${ledgerPort}/.well-known/oauth-protected-resource/mcp"` };
      const bearer = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      let claims;
      try {
        ({ payload: claims } = await jose.jwtVerify(bearer, jwks, { issuer: issuer.url, audience: ledgerUrl }));
      } catch {
        seenByLedger.push({ refused: bearer.slice(0, 12) });
        return sendJson(res, 401, { error: 'invalid_token' }, challenge);
      }
      seenByLedger.push({ sub: claims.sub, act: claims.act?.sub, bearer });
      const server = new McpServer({ name: 'ledger', version: '1.0.0' });
      server.registerTool('whoami', { description: 'Who the ledger sees', inputSchema: {} },
        async () => ({ content: [{ type: 'text', text: `${claims.sub} via ${claims.act?.sub ?? 'nobody'}` }] }));
      server.registerTool('balance', { description: 'A balance', inputSchema: {} },
        async () => ({ content: [{ type: 'text', text: `balance of ${claims.sub}: 42` }] }));
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on('close', () => { transport.close(); server.close(); });
      await server.connect(transport);
      await transport.handleRequest(req, res, JSON.parse((await readAll(req)).toString() || 'null'));
    });
    servers.push(ledger);
    const ledgerPort = await listen(ledger);
    const ledgerUrl = `http://127.0.0.1:${ledgerPort}/mcp`;

    // ---- manifold ----
    let mcpUrl;
    let port;
    const stderr = [];
    for (let attempt = 0; attempt < 5 && !port; attempt += 1) {
      const candidate = await freePort();
      mcpUrl = `http://127.0.0.1:${candidate}/mcp`;
      const config = join(dir, 'manifold.yaml');
      writeFileSync(config, `auth:
  jwt:
    issuer: ${issuer.url}
    audience: ${mcpUrl}
    jwks_url: ${issuer.url}/jwks
    algorithms: [RS256]
    roles_claim: roles
  resource:
    url: ${mcpUrl}
    authorization_servers: [${issuer.url}]
    scopes_supported: [mcp]
roles:
  ledger-reader:
    tools: {allow: [ledger__whoami]}
  dev:
    tools: {allow: ["ledger__*"]}
servers:
  ledger:
    url: ${ledgerUrl}
    transport: http
    oauth:
      grant: token_exchange
      client_id: manifold
      client_secret: exchange-s3cret
      audience: ledger
`);
      const portFile = join(dir, `port${attempt}`);
      const child = spawn(manifoldBinary(), ['--log-level', 'info', 'serve', '--config', config,
        '--listen', `127.0.0.1:${candidate}`, '--port-file', portFile], { stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr.on('data', (d) => { stderr.push(d.toString()); process.stderr.write(d); });
      children.push(child);
      const exited = new Promise((resolve) => child.once('exit', () => resolve('exited')));
      if (await Promise.race([waitFile(portFile).then(() => 'up'), exited]) === 'up') port = candidate;
    }
    assert.ok(port, 'manifold started');

    // ---- a person signs in through the SDK's OAuth support ----
    async function signIn(who) {
      let authorizeUrl;
      const provider = {
        saved: {},
        get redirectUrl() { return 'http://127.0.0.1:1/callback'; },
        get clientMetadata() {
          return { client_name: 'e2e', redirect_uris: ['http://127.0.0.1:1/callback'], grant_types: ['authorization_code'],
            response_types: ['code'], token_endpoint_auth_method: 'none' };
        },
        clientInformation: () => ({ client_id: 'e2e-client' }),  // pre-registered: the mock has no DCR
        tokens() { return this.saved.tokens; },
        saveTokens(t) { this.saved.tokens = t; },
        redirectToAuthorization(url) { authorizeUrl = url; },
        saveCodeVerifier(v) { this.saved.verifier = v; },
        codeVerifier() { return this.saved.verifier; },
      };
      const first = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
      await assert.rejects(new Client({ name: who, version: '1' }).connect(first), UnauthorizedError);
      assert.ok(authorizeUrl, 'the SDK found the authorization server through manifold\'s metadata');
      assert.equal(authorizeUrl.searchParams.get('resource'), mcpUrl, 'RFC 8707 resource is manifold');
      assert.equal(authorizeUrl.searchParams.get('code_challenge_method'), 'S256');
      // The browser: the person signs in, the server redirects back with a code.
      authorizeUrl.searchParams.set('login_hint', who);
      const redirect = await fetch(authorizeUrl, { redirect: 'manual' });
      assert.equal(redirect.status, 302);
      const code = new URL(redirect.headers.get('location')).searchParams.get('code');
      await first.finishAuth(code);
      const client = new Client({ name: who, version: '1' });
      client.token = provider.saved.tokens.access_token;
      client.connected = client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider }));
      return client;
    }

    const alice = await signIn('alice');
    await alice.connected;
    assert.deepEqual((await alice.listTools()).tools.map((t) => t.name).sort(), ['ledger__balance', 'ledger__whoami']);
    assert.equal(text(await alice.callTool({ name: 'ledger__whoami', arguments: {} })), 'alice via manifold');
    const bob = await signIn('bob');
    await bob.connected;
    assert.deepEqual((await bob.listTools()).tools.map((t) => t.name), ['ledger__whoami'], 'bob\'s role admits whoami only');
    await assert.rejects(bob.callTool({ name: 'ledger__balance', arguments: {} }), (e) => e.code === -32602);
    // Concurrent calls of both: each lands at ledger as its own caller.
    const rounds = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? bob : alice)
      .callTool({ name: 'ledger__whoami', arguments: {} })));
    rounds.forEach((r, i) => assert.equal(text(r), `${i % 2 ? 'bob' : 'alice'} via manifold`));
    assert.equal(text(await alice.callTool({ name: 'ledger__balance', arguments: {} })), 'balance of alice: 42');
    // A person whose token carries no role that admits anything: signed in, but refused.
    const carol = await signIn('carol');
    await assert.rejects(carol.connected, (e) => e.code === 403 && /roles do not include this endpoint/.test(e.message));

    // A token issued for another resource is refused by manifold with a challenge.
    const wrongAudience = await issuer.buildToken({ scopesOrTransform: (_h, p) => Object.assign(p, { sub: 'alice', aud: ledgerUrl, roles: ['dev'] }) });
    const refused = await fetch(mcpUrl, { method: 'POST', headers: { authorization: `Bearer ${wrongAudience}`,
      'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }) });
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get('www-authenticate'), /resource_metadata=/);

    // ledger saw each caller's exchanged token, never a caller's own token.
    const callers = new Set(seenByLedger.filter((s) => s.sub).map((s) => `${s.sub}/${s.act}`));
    assert.ok(callers.has('alice/manifold') && callers.has('bob/manifold'), JSON.stringify([...callers]));
    for (const c of [alice, bob, carol]) {
      assert.ok(!seenByLedger.some((s) => s.bearer === c.token), 'a caller\'s own token never reaches the upstream');
    }
    assert.ok(exchanges.some((e) => e.sub === 'alice' && e.resource === ledgerUrl && e.audience === 'ledger'), JSON.stringify(exchanges));
    assert.ok(exchanges.some((e) => e.sub === 'bob'));
    // The launch instance (no caller) listed the catalog under manifold's own client credentials.
    assert.ok(callers.has('manifold/undefined'), JSON.stringify([...callers]));
    await Promise.all([alice.close(), bob.close()]);
  } finally {
    for (const c of children) c.kill('SIGTERM');
    for (const s of servers) s.closeAllConnections?.(), s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
