// tests/e2e/nginx.mjs works: nginx started unprivileged on a free loopback port
// round-robins between two backends, and passes an SSE stream through unbuffered.
import assert from 'node:assert/strict';
import http from 'node:http';
import { nginxVersion, startNginx } from './nginx.mjs';
import { run } from './lib.mjs';

// A backend that names itself; GET /events sends one SSE event and keeps the stream open
// until the client goes away.
function backend(name) {
  const server = http.createServer((req, res) => {
    if (req.url === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(`data: hello from ${name}\n\n`);
      req.on('close', () => res.end());
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'x-http-version': req.httpVersion });
    res.end(name);
  });
  return new Promise((resolve) => server.listen({ port: 0, host: '127.0.0.1' }, () => resolve(server)));
}

function get(url) {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    }).on('error', reject);
  });
}

// Resolves with the first SSE event's data while the backend still holds the stream open:
// a buffering proxy would sit on the small event until the stream ended (the 5 s deadline
// turns that into a failure instead of a hang).
function firstEvent(url) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      let buf = '';
      res.on('data', (d) => {
        buf += d;
        const end = buf.indexOf('\n\n');
        if (end >= 0) { clearTimeout(timer); req.destroy(); resolve(buf.slice(0, end)); }
      });
    });
    const timer = setTimeout(() => { req.destroy(); reject(new Error('no SSE event within 5 s: buffered?')); }, 5000);
    req.on('error', (e) => { if (!req.destroyed) reject(e); });
  });
}

await run('nginx_smoke', async () => {
  const a = await backend('a');
  const b = await backend('b');
  const lb = await startNginx({ backends: [a, b].map((s) => `127.0.0.1:${s.address().port}`) });
  try {
    const seen = [];
    for (let i = 0; i < 6; i++) {
      const r = await get(`${lb.url}/who`);
      assert.equal(r.status, 200);
      assert.equal(r.headers['x-http-version'], '1.1', 'HTTP/1.1 to the backends');
      seen.push(r.body);
    }
    assert.deepEqual([...seen].sort(), ['a', 'a', 'a', 'b', 'b', 'b'], `round robin: ${seen}`);
    for (let i = 1; i < seen.length; i++) assert.notEqual(seen[i], seen[i - 1], `alternates: ${seen}`);
    const event = await firstEvent(`${lb.url}/events`);
    assert.match(event, /^data: hello from [ab]$/);
    assert.match(lb.accessLog(), /upstream=127\.0\.0\.1:\d+/);
    console.log(`${nginxVersion()}: ${seen.join(' ')}; SSE unbuffered`);
  } finally {
    await lb.stop();
    a.close();
    b.close();
  }
});
