// The status page served by a real manifold in front of the demo's reference servers
// (everything, memory, filesystem), in Debian's chromium driven by playwright-core: the page
// loads from manifold with no request leaving it, shows the upstreams and the tools with their
// stories, a call made through manifold by a real MCP client appears in the recent calls
// without a reload, and an upstream the test kills turns red. Screenshots go to the directory
// given as the second argument (the README's comes from here).
//
//   node status_page_live.mjs <manifold> <artifact dir>
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { manifoldBinary, referenceSetup, run } from './lib.mjs';
import { connect, serveHttp } from './observe_lib.mjs';

const artifacts = process.argv[3] ?? join(tmpdir(), 'manifold-status-page');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';

// The child of `pid` whose command line mentions `needle`.
function childProcess(pid, needle) {
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    for (const c of children) {
      if (readFileSync(`/proc/${c}/cmdline`, 'utf8').includes(needle)) return Number(c);
    }
  }
  throw new Error(`no child of ${pid} runs ${needle}`);
}

await run('e2e_status_page_live', async () => {
  const watchdog = setTimeout(() => { console.error('status_page_live: no result within 150 s'); process.exit(1); }, 150000);
  mkdirSync(artifacts, { recursive: true });
  // The upstream the test kills stays down long enough to be seen (supervision restarts it
  // after the backoff).
  const { config, cleanup } = referenceSetup('', { memory: '    restart: {backoff: 60s, max_backoff: 60s}\n' });
  const m = await serveHttp(manifoldBinary(), config);
  const profile = mkdtempSync(join(tmpdir(), 'manifold-chromium-'));
  let context;
  try {
    await m.logged('catalog built');
    const { client, transport } = await connect(`${m.url}/mcp`);
    const tools = (await client.listTools()).tools;
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 900 },
      timeout: 60000,
    });
    context.setDefaultTimeout(20000);
    const page = context.pages()[0] ?? await context.newPage();
    const problems = [];
    const foreign = [];
    page.on('console', (msg) => { if (msg.type() === 'error') problems.push(msg.text()); });
    page.on('pageerror', (e) => problems.push(String(e)));
    page.on('request', (r) => { if (!r.url().startsWith(m.url)) foreign.push(r.url()); });

    await page.goto(`${m.url}/`, { waitUntil: 'domcontentloaded' });
    assert.equal(new URL(page.url()).pathname, '/ui/');
    for (const name of ['everything', 'memory', 'filesystem']) {
      const row = page.locator(`#upstreams tr[data-upstream="${name}"]`);
      await row.waitFor();
      assert.equal(await row.getAttribute('data-state'), 'ready');
      assert.match(await row.getAttribute('class'), /up-ok/);
    }
    assert.equal(await page.locator('#n-tools').textContent(), String(tools.length));
    const echo = page.locator('#catalog tr[data-entry="everything__echo"]');
    await echo.waitFor();
    assert.match(await echo.textContent(), /\[everything\] echo/);
    assert.match(await echo.textContent(), /everything__/);
    await page.locator('#live', { hasText: 'live' }).waitFor();
    await page.evaluate(() => { window.__sameDocument = true; });

    // A call through manifold appears without a reload.
    await client.callTool({ name: 'everything__get-sum', arguments: { a: 20, b: 22 } });
    const call = page.locator('#calls tbody tr[data-call="everything__get-sum"]');
    await call.waitFor();
    assert.match(await call.textContent(), /anonymous.*everything__get-sum.*everything.*ms.*ok/s);
    await page.screenshot({ path: join(artifacts, 'status_page.png'), fullPage: true });

    // An upstream killed behind manifold's back turns red.
    process.kill(childProcess(m.child.pid, 'server-memory'), 'SIGKILL');
    const memory = page.locator('#upstreams tr[data-upstream="memory"].up-bad');
    await memory.waitFor();
    assert.match(await memory.getAttribute('data-state'), /backing-off|failed|stopped/);
    // (The table is rebuilt on every status event, so the cell is read in the page, where a
    // row replaced between two reads cannot hand back a detached cell's empty style.)
    const red = 'rgb(198, 40, 40)';
    const color = await page.waitForFunction((want) => {
      const td = document.querySelector('#upstreams tr[data-upstream="memory"].up-bad td');
      const got = td ? getComputedStyle(td).color : '';
      return got === want ? got : null;
    }, red, { timeout: 10000 }).then((h) => h.jsonValue()).catch(() => 'not red within 10 s');
    assert.equal(color, red, 'the killed upstream is red');
    assert.match(await page.locator('#upstreams tr[data-upstream="everything"]').getAttribute('class'), /up-ok/);
    assert.equal(await page.evaluate(() => window.__sameDocument), true, 'updates arrived without a reload');
    await page.screenshot({ path: join(artifacts, 'status_page-upstream-down.png'), fullPage: true });
    await page.screenshot({ path: join(artifacts, 'status_page-viewport.png') });

    assert.deepEqual(foreign, [], 'requests left manifold');
    assert.deepEqual(problems, [], 'console errors');
    await transport.terminateSession();
    await client.close();
    console.log(`status_page_live: screenshots in ${artifacts}`);
  } finally {
    if (context) await context.close();
    await m.stop();
    rmSync(profile, { recursive: true, force: true });
    cleanup();
    clearTimeout(watchdog);
  }
});
