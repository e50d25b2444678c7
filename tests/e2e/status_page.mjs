// The status page (observe/assets/, embedded in manifold) in a real browser: Debian's
// chromium driven by playwright-core, against data no real upstream sends (status_page_live.mjs
// runs it on a real manifold): a tiny node server here plays the listener with the page's
// files, canned JSON in the shapes status_page.hpp defines, an SSE stream the test pushes
// events into, and the Content-Security-Policy the listener sends. Checks: upstreams and tools render, the catalog search filters, a pushed `call`
// appears without a reload, a pushed status turns an upstream red, names are shown as text
// (never as HTML), no request leaves the origin, no console errors (CSP violations
// included). Screenshots go to the directory given as the first argument.
//
//   node status_page.mjs <artifact dir>
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium } from 'playwright-core';
import { here, run } from './lib.mjs';

const repo = dirname(dirname(here));
const assets = join(repo, 'observe', 'assets');
const artifacts = process.argv[2] ?? join(repo, 'build', 'status_page');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const timeoutMs = 15000;

// The CSP the listener sends: read from the header, so the test and the C++ agree.
function statusPageCsp() {
  const header = readFileSync(join(repo, 'observe', 'include', 'manifold', 'observe', 'status_page.hpp'), 'utf8');
  const m = header.match(/status_page_csp\s*=\s*((?:\s*"[^"]*")+);/);
  assert.ok(m, 'status_page_csp not found in status_page.hpp');
  return [...m[1].matchAll(/"([^"]*)"/g)].map((x) => x[1]).join('');
}

const status = {
  version: '0.1.0', started: '2025-05-01T12:00:00.000Z', ready: true,
  catalog: { tools: 4, prompts: 1, resources: 2, resource_templates: 0, hidden: 2, collisions: 1, rebuilds: 3 },
  calls: { total: 2, failed: 1 },
  upstreams: [
    { name: 'everything', state: 'ready', transport: 'stdio', restarts: 0, in_flight: 0, latency_ms: 1.8,
      last_error: null, protocol_version: '2025-06-18', tools: 2 },
    { name: 'memory', state: 'ready', transport: 'stdio', restarts: 1, in_flight: 0, latency_ms: 0.9,
      last_error: null, protocol_version: '2025-06-18', tools: 1 },
    { name: 'docs', state: 'starting', transport: 'http', restarts: 0, in_flight: 0, latency_ms: null,
      last_error: null, protocol_version: '', tools: 0 },
  ],
};

const evil = 'evil<img src=x onerror="window.__pwned=1">';
const catalog = {
  entries: [
    { kind: 'tool', name: 'everything__echo', server: 'everything', original: 'echo',
      decisions: ['prefixed with `everything__`'], groups: ['readonly'], roles: ['dev'], pinned: true },
    { kind: 'tool', name: 'everything__add', server: 'everything', original: 'add', decisions: ['prefixed with `everything__`'] },
    { kind: 'tool', name: 'memory__read_graph', server: 'memory', original: 'read_graph',
      decisions: ['prefixed with `memory__`', 'renamed from `memory__read_graph_v1`'] },
    { kind: 'tool', name: evil, server: 'memory', original: 'evil', decisions: [] },
    { kind: 'prompt', name: 'everything__simple-prompt', server: 'everything', original: 'simple-prompt', decisions: [] },
  ],
  collisions: [{ kind: 'tool', name: 'memory__search', kept: { server: 'memory', original: 'search' },
    dropped: { server: 'docs', original: 'search' }, rule: 'first-wins' }],
  filtered: [{ kind: 'tool', server: 'everything', original: 'trigger-sampling-request', rule: 'tools.deny `trigger-*`' }],
  rejected: [],
  upstreams: status.upstreams,
};
const calls = {
  total: 2,
  calls: [
    { time: '2025-05-01T12:00:02.000Z', principal: 'ci-bot', method: 'tools/call', tool: 'memory__read_graph',
      upstream: 'memory', latency_ms: 3.2, outcome: 'is_error', error: 'graph missing', trace_id: '' },
    { time: '2025-05-01T12:00:01.000Z', principal: 'ci-bot', method: 'tools/call', tool: 'everything__add',
      upstream: 'everything', latency_ms: 1.1, outcome: 'ok', error: '', trace_id: '' },
  ],
};

// The stand-in listener. Returns {url, push(event, data), streams(), close()}.
async function serve() {
  const csp = statusPageCsp();
  const files = { '/ui/': ['index.html', 'text/html; charset=utf-8'], '/ui/app.css': ['app.css', 'text/css; charset=utf-8'],
    '/ui/app.js': ['app.js', 'text/javascript; charset=utf-8'] };
  const api = { '/ui/api/status': () => status, '/ui/api/catalog': () => catalog, '/ui/api/calls': () => calls };
  const streams = new Set();
  const server = createServer((req, res) => {
    const path = req.url.split('?')[0];
    const common = { 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' };
    if (path === '/ui' || path === '/') {
      res.writeHead(302, { Location: '/ui/' }).end();
    } else if (files[path]) {
      const [name, type] = files[path];
      res.writeHead(200, { ...common, 'Content-Type': type, 'Content-Security-Policy': csp });
      res.end(readFileSync(join(assets, name)));
    } else if (api[path]) {
      res.writeHead(200, { ...common, 'Content-Type': 'application/json' }).end(JSON.stringify(api[path]()));
    } else if (path === '/ui/events') {
      res.writeHead(200, { ...common, 'Content-Type': 'text/event-stream' });
      res.write(': manifold status events\n\n');
      streams.add(res);
      req.on('close', () => streams.delete(res));
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    push(event, data) {
      for (const s of streams) s.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    streams: () => streams.size,
    close() {
      for (const s of streams) s.end();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

await run('e2e_status_page', async () => {
  const watchdog = setTimeout(() => {
    console.error('status_page: no result within 120 s');
    process.exit(1);
  }, 120000);
  mkdirSync(artifacts, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), 'manifold-chromium-'));
  const listener = await serve();
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
    timeout: 60000,
  });
  try {
    context.setDefaultTimeout(timeoutMs);
    const page = context.pages()[0] ?? await context.newPage();
    const problems = [];
    const foreign = [];
    page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
    page.on('pageerror', (e) => problems.push(String(e)));
    page.on('request', (r) => { if (!r.url().startsWith(listener.url)) foreign.push(r.url()); });

    await page.goto(`${listener.url}/ui`, { waitUntil: 'domcontentloaded' });
    // Upstreams, with their states.
    const everything = page.locator('#upstreams tr[data-upstream="everything"]');
    await everything.waitFor();
    assert.equal(await everything.getAttribute('data-state'), 'ready');
    assert.match(await everything.getAttribute('class'), /up-ok/);
    assert.match(await page.locator('#upstreams tr[data-upstream="docs"]').getAttribute('class'), /up-wait/);
    assert.equal(await page.locator('#upstreams tbody tr').count(), 3);
    // Catalog counts and tools, with their stories.
    assert.equal(await page.locator('#n-tools').textContent(), '4');
    assert.equal(await page.locator('#n-collisions').textContent(), '1');
    const echo = page.locator('#catalog tr[data-entry="everything__echo"]');
    await echo.waitFor();
    assert.match(await echo.textContent(), /\[everything\] echo/);
    assert.match(await echo.textContent(), /prefixed with `everything__`/);
    assert.match(await echo.textContent(), /pinned/);
    assert.match(await echo.textContent(), /group readonly/);
    assert.match(await page.locator('#catalog tr[data-entry="memory__read_graph"]').textContent(), /renamed from/);
    assert.match(await page.locator('#collisions').textContent(), /memory__search.*\[docs\] search left out \(first-wins\)/s);
    assert.match(await page.locator('#filtered').textContent(), /trigger-sampling-request.*tools\.deny/s);
    // Names from upstreams are text, never HTML.
    assert.equal(await page.locator(`#catalog tr[data-entry="${evil.replace(/"/g, '\\"')}"] td`).first().textContent(), evil);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    assert.equal(await page.locator('#catalog img').count(), 0);
    // Search filters the explorer.
    await page.fill('#search', 'memory');
    await page.waitForFunction(() => document.querySelectorAll('#catalog tbody tr').length === 2);
    assert.equal(await echo.count(), 0);
    await page.fill('#search', '');
    await page.waitForFunction(() => document.querySelectorAll('#catalog tbody tr').length === 5);
    // Recent calls, then the live stream.
    assert.equal(await page.locator('#calls tbody tr').count(), 2);
    await page.locator('#live', { hasText: 'live' }).waitFor();
    await page.waitForFunction(() => document.readyState === 'complete');
    const deadline = Date.now() + timeoutMs;
    while (listener.streams() === 0) {
      assert.ok(Date.now() < deadline, 'the page never opened /ui/events');
      await new Promise((r) => setImmediate(r));
    }
    await page.screenshot({ path: join(artifacts, 'status_page-initial.png'), fullPage: true });

    await page.evaluate(() => { window.__sameDocument = true; });
    listener.push('call', { time: new Date().toISOString(), principal: 'alice', method: 'tools/call',
      tool: 'everything__echo', upstream: 'everything', latency_ms: 2.4, outcome: 'ok', error: '', trace_id: 'abc' });
    const fresh = page.locator('#calls tbody tr').first();
    await page.locator('#calls tbody tr[data-call="everything__echo"]').waitFor();
    assert.equal(await page.locator('#calls tbody tr').count(), 3);
    assert.match(await fresh.textContent(), /alice.*everything__echo.*everything.*2\.40 ms.*ok/s);

    const failed = structuredClone(status);
    failed.upstreams[0].state = 'failed';
    failed.upstreams[0].last_error = 'process exited with status 1';
    failed.calls = { total: 3, failed: 1 };
    listener.push('status', failed);
    await page.locator('#upstreams tr[data-upstream="everything"].up-bad').waitFor();
    assert.equal(await everything.getAttribute('data-state'), 'failed');
    assert.match(await everything.textContent(), /process exited with status 1/);
    const color = await everything.locator('td').first().evaluate((td) => getComputedStyle(td).color);
    assert.equal(color, 'rgb(198, 40, 40)', 'the failed upstream is red');
    assert.equal(await page.locator('#n-calls').textContent(), '3');
    assert.equal(await page.evaluate(() => window.__sameDocument), true, 'updates arrived without a reload');
    await page.screenshot({ path: join(artifacts, 'status_page-live.png'), fullPage: true });

    assert.deepEqual(foreign, [], 'requests left the origin');
    assert.deepEqual(problems, [], 'console errors');
    console.log(`status_page: screenshots in ${artifacts}`);
  } finally {
    await context.close();
    await listener.close();
    rmSync(profile, { recursive: true, force: true });
    clearTimeout(watchdog);
  }
});
