// A fake Argo CD API server (the REST application endpoint) for the argocd pack's app_get
// tool: HTTP on 127.0.0.1, a port the OS picks; bearer token required; requests recorded.
import http from 'node:http';

const minutesAgo = (m) => new Date(Date.now() - m * 60e3).toISOString().replace(/\.\d+Z$/, 'Z');

function application(name, sync, health, phase) {
  return {
    metadata: { name, namespace: 'argocd', uid: 'd3f1c2b4-0000-4000-8000-00000000a001', resourceVersion: '881234',
      labels: { team: 'shop' }, managedFields: [{ manager: 'argocd-server', operation: 'Update' }] },
    spec: { project: 'default', destination: { server: 'https://kubernetes.default.svc', namespace: 'dev' },
      source: { repoURL: 'https://git.example/acme/deploy.git', path: `apps/${name}/dev`, targetRevision: 'main' },
      syncPolicy: {} },
    status: {
      sync: { status: sync, revision: '9a8b7c6d5e4f30211f0e9d8c7b6a5f4e3d2c1b0a', comparedTo: { source: { targetRevision: 'main' } } },
      health: { status: health, message: health === 'Degraded' ? 'Deployment "shop" exceeded its progress deadline' : undefined },
      operationState: { phase, message: phase === 'Failed' ? 'one or more objects failed to apply, reason: admission webhook denied the request' : 'successfully synced (all tasks run)',
        startedAt: minutesAgo(20), finishedAt: minutesAgo(19), syncResult: { revision: '9a8b7c6d5e4f30211f0e9d8c7b6a5f4e3d2c1b0a' } },
      conditions: health === 'Degraded' ? [{ type: 'SyncError', message: 'Failed sync attempt to 9a8b7c6: one or more objects failed to apply', lastTransitionTime: minutesAgo(19) }] : [],
      history: [{ id: 4, revision: '4f1c2d3', deployedAt: minutesAgo(3000) }, { id: 5, revision: '9a8b7c6', deployedAt: minutesAgo(20) }],
      resources: Array.from({ length: 40 }, (_, i) => ({ kind: 'ConfigMap', name: `shop-config-${i}`, namespace: 'dev', status: 'Synced' })),
    },
  };
}

export async function startArgoApi(token) {
  const requests = [];
  const apps = { shop: application('shop', 'OutOfSync', 'Degraded', 'Failed'), payments: application('payments', 'Synced', 'Healthy', 'Succeeded') };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    requests.push({ method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), authorization: req.headers.authorization });
    const send = (code, body) => { res.writeHead(code, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)); };
    if (req.headers.authorization !== `Bearer ${token}`) return send(401, { error: 'invalid session: token is invalid', code: 16 });
    const m = url.pathname.match(/^\/api\/v1\/applications\/([^/]+)$/);
    if (!m) return send(404, { error: 'Not Found', code: 5 });
    const app = apps[decodeURIComponent(m[1])];
    if (!app) return send(404, { error: `applications.argoproj.io "${decodeURIComponent(m[1])}" not found`, code: 5 });
    return send(200, app);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}`, hostport: `127.0.0.1:${port}`, requests,
    stop: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }) };
}
