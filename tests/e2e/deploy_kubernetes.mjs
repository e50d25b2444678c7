// deploy/kubernetes against the real binary: renders each overlay with `kubectl kustomize`,
// checks the objects fit together (selectors, ports, probes, security context), writes the
// ConfigMap's config where the pod would see it, runs `manifold check` on it with the
// Secret's environment, starts manifold with the container's own args (only the listen
// address moved to a free loopback port) and asks the probes' paths what the kubelet would.
//   node deploy_kubernetes.mjs <manifold> [overlay ...]
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { manifoldBinary, run } from './lib.mjs';

let YAML;
try {
  YAML = await import('yaml');
} catch {
  throw new Error('the `yaml` package is missing from tests/e2e/node_modules (it comes with the '
    + 'Inspector in package-lock.json): run bash scripts/setup.sh');
}

const repo = resolve(dirname(new URL(import.meta.url).pathname), '..', '..');
const overlays = process.argv.length > 3 ? process.argv.slice(3) : ['single-user', 'platform'];

function render(overlay) {
  const dir = join(repo, 'deploy', 'kubernetes', 'overlays', overlay);
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, `kubectl kustomize ${relative(repo, dir)}: ${r.stderr}`);
  const docs = YAML.parseAllDocuments(r.stdout);
  for (const d of docs) assert.equal(d.errors.length, 0, `${overlay}: YAML errors ${d.errors}`);
  return docs.map((d) => d.toJS()).filter(Boolean);
}

const one = (objs, kind) => {
  const found = objs.filter((o) => o.kind === kind);
  assert.equal(found.length, 1, `exactly one ${kind} (found ${found.length})`);
  return found[0];
};

const matches = (selector, labels) => Object.entries(selector ?? {}).length > 0
  && Object.entries(selector).every(([k, v]) => labels[k] === v);

function request(port, path, headers = {}, method = 'GET', body = '') {
  return new Promise((resolveReq, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      let data = '';
      res.on('data', (d) => { data += d; });
      res.on('end', () => resolveReq({ status: res.statusCode, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const probeHeaders = (probe) => Object.fromEntries((probe.httpGet.httpHeaders ?? []).map((h) => [h.name, h.value]));

// Runs `manifold check`; when this manifold predates `auth:` (unknown key), checks the rest
// of the config and says so. Any other error fails.
function check(bin, file, env) {
  let r = spawnSync(bin, ['check', '--config', file], { encoding: 'utf8', env });
  if (r.status !== 0 && /unknown key `auth`/.test(r.stderr)) {
    const doc = YAML.parse(readFileSync(file, 'utf8'));
    delete doc.auth;
    delete doc.roles;
    writeFileSync(file, YAML.stringify(doc));
    console.log(`NOTE: this manifold has no auth support (unknown key \`auth\`): checked ${file} without auth/roles`);
    r = spawnSync(bin, ['check', '--config', file], { encoding: 'utf8', env });
    return { ...r, authChecked: false };
  }
  return { ...r, authChecked: true };
}

async function checkOverlay(bin, overlay) {
  const objs = render(overlay);
  const deployment = one(objs, 'Deployment');
  // The Service clients reach; a headless one (the replicas' view of each other) may be beside it.
  const services = objs.filter((o) => o.kind === 'Service');
  const service = one(services.filter((o) => o.spec.clusterIP !== 'None').map((o) => ({ ...o, kind: 'Service' })), 'Service');
  const headless = services.filter((o) => o.spec.clusterIP === 'None');
  const ingress = one(objs, 'Ingress');
  const pdb = one(objs, 'PodDisruptionBudget');
  const policy = one(objs, 'NetworkPolicy');
  const hpas = objs.filter((o) => o.kind === 'HorizontalPodAutoscaler');
  const pod = deployment.spec.template;
  const labels = pod.metadata.labels;
  const [container] = pod.spec.containers;

  // Objects that point at the pods or at each other.
  assert.ok(matches(deployment.spec.selector.matchLabels, labels), 'Deployment selector matches its pods');
  assert.ok(matches(service.spec.selector, labels), 'Service selects the pods');
  for (const h of headless) assert.ok(matches(h.spec.selector, labels), `Service ${h.metadata.name} selects the pods`);
  assert.ok(matches(pdb.spec.selector.matchLabels, labels), 'PodDisruptionBudget selects the pods');
  assert.ok(matches(policy.spec.podSelector.matchLabels, labels), 'NetworkPolicy selects the pods');
  const portOf = (p) => (typeof p === 'number' ? p : container.ports.find((c) => c.name === p)?.containerPort);
  const containerPort = container.ports[0].containerPort;
  for (const s of [service, ...headless]) {
    for (const p of s.spec.ports) assert.equal(portOf(p.targetPort), containerPort, `Service ${s.metadata.name} targetPort`);
  }
  for (const rule of policy.spec.ingress) {
    for (const p of rule.ports) assert.equal(portOf(p.port), containerPort, 'NetworkPolicy port');
  }
  for (const rule of ingress.spec.rules) {
    for (const p of rule.http.paths) {
      const backend = p.backend.service;
      assert.equal(backend.name, service.metadata.name, 'Ingress backend is the Service');
      assert.ok(service.spec.ports.some((sp) => sp.name === backend.port.name || sp.port === backend.port.number),
        'Ingress backend port is a Service port');
    }
  }
  const a = ingress.metadata.annotations ?? {};
  assert.equal(a['nginx.ingress.kubernetes.io/proxy-buffering'], 'off', 'SSE: proxy buffering off');
  assert.equal(a['nginx.ingress.kubernetes.io/proxy-http-version'], '1.1');
  for (const t of ['read', 'send']) {
    assert.ok(Number(a[`nginx.ingress.kubernetes.io/proxy-${t}-timeout`]) >= 3600, `long proxy-${t}-timeout`);
  }

  // Replicas and autoscaling.
  if (overlay === 'single-user') {
    assert.equal(deployment.spec.replicas, 1);
    assert.equal(hpas.length, 0, 'single-user has no autoscaler');
  } else {
    assert.equal(deployment.spec.replicas, 3);
    assert.equal(hpas.length, 1);
    assert.equal(hpas[0].spec.scaleTargetRef.name, deployment.metadata.name);
    assert.equal(hpas[0].spec.minReplicas, 3);
    assert.ok(container.resources.requests.cpu, 'CPU request for the autoscaler');
  }

  // Security context.
  const sc = container.securityContext;
  assert.equal(pod.spec.securityContext.runAsNonRoot, true);
  assert.equal(sc.readOnlyRootFilesystem, true);
  assert.equal(sc.allowPrivilegeEscalation, false);
  assert.deepEqual(sc.capabilities.drop, ['ALL']);
  assert.equal((sc.seccompProfile ?? pod.spec.securityContext.seccompProfile).type, 'RuntimeDefault');
  assert.ok(container.resources.limits.memory, 'memory limit');

  // The config as the pod sees it: the ConfigMap volume's files under its mountPath.
  assert.deepEqual(container.command, ['/usr/bin/manifold'], 'the package\'s binary');
  const args = [...container.args];
  const configPath = args[args.indexOf('--config') + 1];
  const mount = container.volumeMounts.find((m) => configPath.startsWith(`${m.mountPath}/`));
  assert.ok(mount, `--config ${configPath} is on a mounted volume`);
  const volume = pod.spec.volumes.find((v) => v.name === mount.name);
  // A ConfigMap volume, or a projected one with the ConfigMap and Secrets side by side.
  const sources = volume.projected ? volume.projected.sources : [{ configMap: volume.configMap }];
  const configSource = sources.find((s) => s.configMap);
  assert.ok(configSource, `${mount.mountPath} holds a ConfigMap`);
  const configMap = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === configSource.configMap.name);
  assert.ok(configMap, `ConfigMap ${configSource.configMap.name} is rendered`);
  const key = relative(mount.mountPath, configPath);
  assert.ok(configMap.data?.[key], `ConfigMap has ${key}`);
  // The volume's files as the pod sees them. A Secret the operator creates (not rendered: the
  // session keys) gets test content here.
  const files = { ...configMap.data };
  for (const { secret } of sources.filter((s) => s.secret)) {
    const rendered = objs.find((o) => o.kind === 'Secret' && o.metadata.name === secret.name);
    for (const item of secret.items ?? []) {
      assert.ok(item.mode === undefined || (item.mode & 0o040) !== 0,
        `${secret.name}/${item.key}: readable by the pod's group (fsGroup)`);
      if (rendered) {
        files[item.path] = Buffer.from(rendered.data[item.key], 'base64').toString('utf8');
      } else {
        assert.equal(item.key, 'session-keys', `Secret ${secret.name} is rendered, or is the session keys`);
        files[item.path] = `k1 ${randomBytes(32).toString('base64')}\n`;
      }
    }
  }

  // The environment: env, then each envFrom Secret (decoded), as the kubelet builds it.
  const env = { PATH: process.env.PATH };
  for (const from of container.envFrom ?? []) {
    const secret = objs.find((o) => o.kind === 'Secret' && o.metadata.name === from.secretRef?.name);
    if (!secret) {
      assert.equal(from.secretRef?.optional, true, `Secret ${from.secretRef?.name} is rendered or optional`);
      continue;
    }
    for (const [k, v] of Object.entries(secret.data ?? {})) env[k] = Buffer.from(v, 'base64').toString('utf8');
    Object.assign(env, secret.stringData ?? {});
  }
  for (const e of container.env ?? []) {
    if (e.valueFrom?.fieldRef?.fieldPath === 'status.podIP') env[e.name] = '127.0.0.1';
    else env[e.name] = e.value;
  }

  // Sealed sessions: the peers named in the config are the headless Service, on the pods' port.
  const sessions = YAML.parse(configMap.data[key])?.http?.sessions;
  for (const peer of sessions?.peers ?? []) {
    const url = new URL(peer);
    const target = headless.find((h) => h.metadata.name === url.hostname);
    assert.ok(target, `peer ${peer} is a headless Service`);
    assert.ok(target.spec.ports.some((p) => p.port === Number(url.port)), `peer ${peer}: a port of ${url.hostname}`);
  }
  // Termination: the preStop delay (the endpoints drop the pod meanwhile), then the drain
  // (lifecycle.drain_timeout, 30 s unless set) fit in the grace period.
  const preStop = container.lifecycle?.preStop?.exec?.command ?? [];
  assert.equal(preStop[0], 'sleep', 'preStop waits before SIGTERM');
  const durations = { ms: 0.001, s: 1, m: 60, h: 3600 };
  const seconds = (d) => {
    const m = /^(\d+)(ms|s|m|h)$/.exec(String(d));
    assert.ok(m, `a duration: ${d}`);
    return Number(m[1]) * durations[m[2]];
  };
  const drain = seconds(YAML.parse(configMap.data[key])?.lifecycle?.drain_timeout ?? '30s');
  assert.ok(pod.spec.terminationGracePeriodSeconds > Number(preStop[1]) + drain,
    `terminationGracePeriodSeconds ${pod.spec.terminationGracePeriodSeconds} covers preStop ${preStop[1]} s and the drain ${drain} s`);
  if (overlay === 'platform') {
    assert.ok(sessions?.keys_file, 'platform: sessions sealed (any replica serves any request)');
    assert.match(sessions.advertise ?? '', /\$\{POD_IP\}/, 'platform: replicas reach each other at the pod IP');
  }

  const dir = mkdtempSync(join(tmpdir(), `manifold-k8s-${overlay}-`));
  let child;
  try {
    const local = join(dir, relative('/', mount.mountPath));
    mkdirSync(local, { recursive: true });
    for (const [k, v] of Object.entries(files)) writeFileSync(join(local, k), v);
    const config = join(local, key);
    const checked = check(bin, config, env);
    assert.equal(checked.status, 0, `manifold check on ${overlay}'s ConfigMap: ${checked.stderr}`);

    // The container's args with the config at its local place and the listen address moved
    // from 0.0.0.0:<containerPort> to a loopback port the OS picks.
    const listenAt = args.indexOf('--listen');
    assert.equal(args[listenAt + 1], `0.0.0.0:${containerPort}`, 'listens on the container port');
    args[args.indexOf('--config') + 1] = config;
    args[listenAt + 1] = '127.0.0.1:0';
    const portFile = join(dir, 'port');
    child = spawn(bin, [...args, '--port-file', portFile], { env, stdio: ['ignore', 'inherit', 'inherit'] });
    const exited = new Promise((r) => child.on('exit', (code) => r(code)));
    // Bounded poll for the port file (about 10 s), or manifold's exit.
    for (let i = 0; i < 500 && !existsSync(portFile) && child.exitCode === null; i++) {
      await Promise.race([new Promise((r) => setTimeout(r, 20)), exited]);
    }
    assert.ok(existsSync(portFile), `manifold serve with the container's args is listening (exit ${child.exitCode})`);
    const port = Number(readFileSync(portFile, 'utf8'));

    for (const name of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
      const probe = container[name];
      assert.ok(probe?.httpGet, `${name} is an HTTP probe`);
      assert.equal(portOf(probe.httpGet.port), containerPort, `${name} port`);
      const want = name === 'readinessProbe' ? '/readyz' : '/healthz';
      assert.equal(probe.httpGet.path, want, `${name} path`);
      // Readiness may take until the catalog is built: bounded poll (about 10 s).
      let r;
      for (let i = 0; i < 100; i++) {
        r = await request(port, probe.httpGet.path, probeHeaders(probe));
        if (r.status === 200 || name !== 'readinessProbe') break;
        await new Promise((res) => setTimeout(res, 100));
      }
      assert.equal(r.status, 200, `${name} ${probe.httpGet.path}: ${r.status} ${r.body}`);
    }

    // With auth on, the MCP endpoint should refuse a client without a key (the probes did
    // not need one).
    if (overlay === 'platform' && checked.authChecked) {
      const init = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'k8s-test', version: '0' } } });
      const r = await request(port, '/mcp', { 'content-type': 'application/json',
        accept: 'application/json, text/event-stream' }, 'POST', init);
      // (Checked loosely until HTTP authentication lands with the access work: a manifold
      // that parses `auth:` but does not enforce it yet says so here.)
      if (r.status === 401) console.log('platform: /mcp without a key is refused (401)');
      else console.log(`NOTE: platform: /mcp without a key answered ${r.status}: auth is not enforced over HTTP by this manifold`);
    }
    child.kill('SIGTERM');
    assert.equal(await exited, 0, 'manifold stops cleanly on SIGTERM');
    child = undefined;
    console.log(`${overlay}: ${objs.map((o) => o.kind).join(', ')}; check, serve and probes OK`);
  } finally {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

await run('deploy_kubernetes', async () => {
  const bin = manifoldBinary();
  const version = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  assert.equal(version.status, 0, 'kubectl is installed (bash scripts/setup.sh)');
  console.log(version.stdout.trim().split('\n').join('; '));
  // The manifests use kustomize 4+ syntax (labels, inline patches, directories as
  // resources); kubectl embeds kustomize 4+ from 1.21 on (Debian 12's kubernetes-client
  // is 1.20, with kustomize 2: too old).
  const major = Number(/Kustomize Version: v(\d+)/.exec(version.stdout)?.[1] ?? 0);
  assert.ok(major >= 4, `kubectl with kustomize 4 or newer is needed: ${version.stdout.trim()}`);
  for (const overlay of overlays) await checkOverlay(bin, overlay);
});
