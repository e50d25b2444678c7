// One trace across host -> manifold -> upstream, with real SDK peers on both sides and an
// OTLP/HTTP receiver on loopback: the host's context (in `_meta`, or in HTTP headers) is the
// parent of manifold's SERVER span, whose CLIENT span is the parent of the upstream's own
// SERVER span (the SDK server in fakes/traced_server.mjs exports it to the same receiver),
// over stdio (`_meta` only) and Streamable HTTP (`_meta` and headers).
//
//   node tracing.mjs <manifold>
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { here, manifoldBinary, node, referenceSetup, run } from './lib.mjs';
import { appears, connect, hex, otlpReceiver, serveHttp, start } from './observe_lib.mjs';

const q = JSON.stringify;
const traced = join(here, 'fakes', 'traced_server.mjs');

await run('e2e_tracing', async () => {
  const watchdog = setTimeout(() => { console.error('tracing: no result within 120 s'); process.exit(1); }, 120000);
  const receiver = await otlpReceiver();
  const { dir, cleanup } = referenceSetup();
  const env = { ...process.env, OTLP_ENDPOINT: receiver.endpoint };
  const portFile = join(dir, 'traced-http.port');
  const remote = start([node, traced, 'http', portFile], { env });
  let m;
  try {
    await appears(portFile);
    const config = join(dir, 'tracing.yaml');
    writeFileSync(config, `servers:
  local:
    command: ${q(node)}
    args: [${q(traced)}, stdio]
    env: {OTLP_ENDPOINT: ${q(receiver.endpoint)}}
  remote:
    url: http://127.0.0.1:${readFileSync(portFile, 'utf8')}/mcp
    transport: http
tracing:
  otlp_endpoint: ${receiver.endpoint}
  batch_interval: 100ms
  sample_ratio: 0.5
`);
    m = await serveHttp(manifoldBinary(), config);
    const spansOf = async (trace, n) => {
      const got = await receiver.spans((s) => s.traceId === trace, n);
      const service = (s) => s.resource.attributes.find((a) => a.key === 'service.name').value.stringValue;
      return {
        manifoldServer: got.find((s) => service(s) === 'manifold' && s.kind === 2),
        manifoldClient: got.find((s) => service(s) === 'manifold' && s.kind === 3),
        upstream: got.find((s) => service(s) !== 'manifold'),
        service,
      };
    };

    // The host's context in `_meta` (a sampled parent: followed whatever the ratio).
    const { client, transport } = await connect(`${m.url}/mcp`);
    for (const server of ['local', 'remote']) {
      const trace = hex(16);
      const parent = hex(8);
      const result = await client.callTool({ name: `${server}__work`, arguments: {}, _meta: { traceparent: `00-${trace}-${parent}-01` } });
      const seen = JSON.parse(result.content[0].text);
      const s = await spansOf(trace, 3);
      assert.equal(s.manifoldServer.parentSpanId, parent, `${server}: manifold's SERVER span continues the host's`);
      assert.equal(s.manifoldServer.name, `tools/call ${server}__work`);
      assert.equal(s.manifoldServer.attributes['mcp.session.id'], transport.sessionId);
      assert.equal(s.manifoldClient.parentSpanId, s.manifoldServer.spanId);
      assert.equal(s.manifoldClient.attributes['manifold.upstream'], server);
      assert.equal(s.upstream.parentSpanId, s.manifoldClient.spanId, `${server}: the upstream continues manifold's CLIENT span`);
      assert.equal(s.service(s.upstream), server === 'local' ? 'traced-upstream-stdio' : 'traced-upstream-http');
      assert.equal(seen.meta, `00-${trace}-${s.manifoldClient.spanId}-01`);
      assert.equal(seen.header, server === 'remote' ? seen.meta : null);
    }
    await transport.terminateSession();
    await client.close();

    // The host's context in the HTTP request's headers instead.
    const trace = hex(16);
    const parent = hex(8);
    const viaHeaders = await connect(`${m.url}/mcp`, { traceparent: `00-${trace}-${parent}-01` });
    await viaHeaders.client.callTool({ name: 'remote__work', arguments: {} });
    const s = await spansOf(trace, 3);
    const work = (await receiver.spans((x) => x.traceId === trace && x.name === 'tools/call remote__work')).at(0);
    assert.equal(work.parentSpanId, parent);
    assert.equal(s.upstream.parentSpanId, (await receiver.spans((x) => x.traceId === trace && x.kind === 3 && x.parentSpanId === work.spanId))[0].spanId);
    await viaHeaders.transport.terminateSession();
    await viaHeaders.client.close();
    console.log(`tracing: ${receiver.all().length} spans received`);
  } catch (e) {
    if (m) console.error(`manifold's log:\n${m.stderr().slice(-4000)}`);
    throw e;
  } finally {
    if (m) await m.stop();
    await remote.stop();
    await receiver.close();
    cleanup();
    clearTimeout(watchdog);
  }
});
