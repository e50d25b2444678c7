// MCP authorization where a person signs in: the authorization server answers /authorize with
// a login page, so manifold prints the URL and listens on its loopback redirect URI; this test
// plays the browser. Then the access token expires and manifold refreshes it. The resource
// server and authorization server are written here (node:http, loopback), strict about
// PKCE, `resource`, the redirect URI and state.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manifoldBinary, run } from './lib.mjs';

const listen = (server) => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
const body = (req) => new Promise((resolve) => {
  let s = '';
  req.on('data', (d) => { s += d; }).on('end', () => resolve(s));
});
const b64url = (buf) => buf.toString('base64url');

await run('e2e_oauth_person', async () => {
  const as = { codes: new Map(), tokens: new Map(), refresh: new Map(), clients: new Map(), log: [] };
  let asUrl;
  let mcpUrl;

  // ---- authorization server ----
  const asServer = createServer(async (req, res) => {
    const url = new URL(req.url, asUrl);
    as.log.push(`${req.method} ${url.pathname}`);
    const json = (status, obj) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(obj)); };
    if (url.pathname === '/.well-known/oauth-authorization-server') {
      return json(200, {
        issuer: asUrl, authorization_endpoint: `${asUrl}/authorize`, token_endpoint: `${asUrl}/token`,
        registration_endpoint: `${asUrl}/register`, response_types_supported: ['code'],
        grant_types_supported: ['authorization_code', 'refresh_token'], code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_post'],
      });
    }
    if (url.pathname === '/register' && req.method === 'POST') {
      const reg = JSON.parse(await body(req));
      const client = { client_id: `c-${randomBytes(4).toString('hex')}`, client_secret: randomBytes(8).toString('hex'), redirect_uris: reg.redirect_uris, token_endpoint_auth_method: 'client_secret_post' };
      as.clients.set(client.client_id, client);
      return json(201, client);
    }
    if (url.pathname === '/authorize') {
      const q = Object.fromEntries(url.searchParams);
      const client = as.clients.get(q.client_id);
      if (!client || !client.redirect_uris.includes(q.redirect_uri) || q.code_challenge_method !== 'S256' || q.resource !== mcpUrl) {
        res.writeHead(400); return res.end('bad authorization request');
      }
      as.pending = q;  // the "person" approves this request below
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end('<form>Sign in to Example</form>');
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      const f = Object.fromEntries(new URLSearchParams(await body(req)));
      const client = as.clients.get(f.client_id);
      if (!client || f.client_secret !== client.client_secret) return json(401, { error: 'invalid_client' });
      if (f.resource !== mcpUrl) return json(400, { error: 'invalid_target' });
      let user;
      if (f.grant_type === 'authorization_code') {
        const grant = as.codes.get(f.code);
        as.codes.delete(f.code);
        if (!grant || grant.redirect_uri !== f.redirect_uri || b64url(createHash('sha256').update(f.code_verifier ?? '').digest()) !== grant.code_challenge) {
          return json(400, { error: 'invalid_grant' });
        }
        user = grant.user;
      } else if (f.grant_type === 'refresh_token') {
        user = as.refresh.get(f.refresh_token);
        as.refresh.delete(f.refresh_token);
        if (!user) return json(400, { error: 'invalid_grant' });
      } else {
        return json(400, { error: 'unsupported_grant_type' });
      }
      const access = `at-${randomBytes(8).toString('hex')}`;
      const refresh = `rt-${randomBytes(8).toString('hex')}`;
      as.tokens.set(access, { user, uses: 0 });
      as.refresh.set(refresh, user);
      return json(200, { access_token: access, token_type: 'Bearer', expires_in: 60, refresh_token: refresh, scope: 'mcp' });
    }
    res.writeHead(404); res.end();
  });
  asUrl = `http://127.0.0.1:${await listen(asServer)}`;

  // ---- MCP resource server: each access token serves three requests, then expires ----
  const seenAuth = [];
  const mcpServer = createServer(async (req, res) => {
    const url = new URL(req.url, mcpUrl);
    if (url.pathname === '/.well-known/oauth-protected-resource/mcp') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ resource: mcpUrl, authorization_servers: [asUrl], scopes_supported: ['mcp'] }));
    }
    if (url.pathname !== '/mcp') { res.writeHead(404); return res.end(); }
    const auth = req.headers.authorization ?? '';
    seenAuth.push(auth);
    const token = as.tokens.get(auth.replace(/^Bearer /, ''));
    if (!token || token.uses >= 3) {
      res.writeHead(401, { 'www-authenticate': `Bearer error="invalid_token", resource_metadata="${new URL('/.well-known/oauth-protected-resource/mcp', mcpUrl)}"` });
      return res.end();
    }
    token.uses++;
    if (req.method !== 'POST') { res.writeHead(405); return res.end(); }
    const msg = JSON.parse(await body(req));
    if (msg.id === undefined) { res.writeHead(202); return res.end(); }
    const reply = (result) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result })); };
    if (msg.method === 'initialize') return reply({ protocolVersion: msg.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'oauth-test', version: '1' } });
    if (msg.method === 'tools/list') return reply({ tools: [{ name: 'whoami', inputSchema: { type: 'object' } }] });
    if (msg.method === 'tools/call') return reply({ content: [{ type: 'text', text: `you are ${token.user}` }] });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: 'Method not found' } }));
  });
  mcpUrl = `http://127.0.0.1:${await listen(mcpServer)}/mcp`;

  const dir = mkdtempSync(join(tmpdir(), 'manifold-oauth-'));
  try {
    const config = join(dir, 'manifold.yaml');
    writeFileSync(config, `servers:\n  remote:\n    url: ${mcpUrl}\n    transport: http\n    oauth:\n      authorize_timeout: 60s\n`);
    // Runs `manifold call`; when it prints the sign-in URL, `person` gets the URL and plays the
    // browser. Resolves with the exit code and both outputs once manifold has exited.
    const callAsPerson = (person) => new Promise((resolve, reject) => {
      const child = spawn(manifoldBinary(), ['--log-level', 'info', 'call', '--config', config, 'remote__whoami', '--args', '{}'],
        { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      let acted;
      child.stdout.on('data', (d) => { stdout += d; });
      child.stderr.on('data', (d) => {
        stderr += d;
        const m = /needs authorization by a person: open (\S+)/.exec(stderr);
        if (m && !acted) acted = person(new URL(m[1])).catch((e) => { child.kill(); reject(e); });
      });
      child.on('exit', async (code) => {
        await acted;
        resolve({ code, stdout, stderr });
      });
    });

    // The person signs in, and the browser follows the redirect to manifold's listener.
    const first = await callAsPerson(async (asked) => {
      assert.equal(asked.origin + asked.pathname, `${asUrl}/authorize`);
      const q = Object.fromEntries(asked.searchParams);
      assert.deepEqual(as.pending, q, 'the printed URL is the request the server saw');
      assert.equal(q.scope, 'mcp');
      assert.match(q.redirect_uri, /^http:\/\/127\.0\.0\.1:\d+\/callback$/);
      // A stray request to the listener does not end the wait.
      assert.equal((await fetch(new URL('/favicon.ico', q.redirect_uri))).status, 404);
      const code = `code-${randomBytes(6).toString('hex')}`;
      as.codes.set(code, { user: 'alice', redirect_uri: q.redirect_uri, code_challenge: q.code_challenge });
      const landing = await fetch(`${q.redirect_uri}?code=${code}&state=${encodeURIComponent(q.state)}`);
      assert.equal(landing.status, 200);
      assert.match(await landing.text(), /authorization received/);
    });
    assert.equal(first.code, 0, `manifold call failed:\n${first.stderr}`);
    assert.match(first.stdout, /you are alice/);
    assert.match(first.stderr, /refreshed the access token/, 'the expired token was refreshed, not re-authorized');
    assert.equal(as.log.filter((l) => l === 'GET /authorize').length, 1, 'one sign-in for the whole run');
    assert.ok(seenAuth.every((a, i) => i === 0 || a.startsWith('Bearer ')), 'every request after the first carries the token');
    assert.doesNotMatch(first.stderr, /at-[0-9a-f]{16}|rt-[0-9a-f]{16}/, 'tokens never reach the log');

    // A redirect with the wrong state is refused: no token, a clear error, exit non-zero.
    const forged = await callAsPerson(async (asked) => {
      await fetch(`${asked.searchParams.get('redirect_uri')}?code=forged&state=not-the-state`);
    });
    assert.notEqual(forged.code, 0);
    assert.match(forged.stderr, /state does not match/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    asServer.close();
    mcpServer.close();
  }
});
