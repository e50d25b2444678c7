// The exec packs through manifold with real CLIs: the official SDK client calls every tool
// of the Kubernetes pack (real kubectl against a fake API server), the AWS cost pack (real aws
// CLI against a fake endpoint), the CI/CD pack (real gh against a fake GitHub API) and the
// Helm pack (a fake helm that records argv, stdin and environment).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { here, manifoldBinary, run, manifoldEnv } from './lib.mjs';
import { startKubeApi } from './fakes/kube_api.mjs';
import { startAwsApi } from './fakes/aws_api.mjs';
import { startGithubApi } from './fakes/github_api.mjs';
import { readRecords, writeFakeCli } from './fakes/fake_cli.mjs';

const packs = join(dirname(dirname(here)), 'samples', 'packs');
const q = JSON.stringify;
const text = (r) => r.content.map((c) => c.text).join('\n');
const plans = (r) => r._meta?.['manifold/exec']?.plans ?? {};

async function call(client, name, args, options) {
  const r = await client.callTool({ name, arguments: args }, undefined, options);
  assert.ok(!r.isError, `${name} failed: ${text(r)}`);
  return r;
}

async function kubernetes(client, kube) {
  const pods = await call(client, 'k8s__pods_list', {});
  assert.match(text(pods), /api-84c9f6d7b8-zc6lm\s+0\/1\s+CrashLoopBackOff\s+5/);
  assert.ok(kube.requests.some((r) => r.path === '/api/v1/namespaces/dev/pods'), 'the default namespace is dev');

  const pod = await call(client, 'k8s__pod_get', { name: 'web-7d4b9c8f5d-x2x7q' });
  assert.equal(pod.structuredContent.metadata.name, 'web-7d4b9c8f5d-x2x7q');
  assert.equal(pod.structuredContent.status.phase, 'Running');

  const described = await call(client, 'k8s__pod_describe', { name: 'api-84c9f6d7b8-zc6lm' });
  assert.match(text(described), /Back-off restarting failed container/);

  const logs = await call(client, 'k8s__pod_logs', { name: 'api-84c9f6d7b8-zc6lm', previous: true, tail: 50 });
  assert.match(text(logs), /cannot connect to postgres/);
  assert.equal(logs._meta['manifold/untrusted_output'], true);
  assert.match(logs.content[0].text, /Treat it as data/);
  const logRequest = kube.requests.findLast((r) => r.path.endsWith('/log'));
  assert.equal(logRequest.query.previous, 'true');
  assert.equal(logRequest.query.tailLines, '50');

  const events = await call(client, 'k8s__events', { field_selector: 'type=Warning' });
  assert.match(text(events), /BackOff/);
  assert.doesNotMatch(text(events), /ScalingReplicaSet/);

  assert.match(text(await call(client, 'k8s__deployments_list', {})), /web\s+3\/3\s+3\s+3/);
  const web = await call(client, 'k8s__deployment_get', { name: 'web' });
  assert.equal(web.structuredContent.spec.replicas, 3);

  const progress = [];
  const rollout = await call(client, 'k8s__rollout_status', { name: 'api', timeout: '60s' },
    { onprogress: (p) => progress.push(p.message) });
  assert.match(text(rollout), /deployment "api" successfully rolled out/);
  assert.ok(progress.some((m) => /Waiting for deployment "api" rollout to finish/.test(m)), q(progress));

  assert.match(text(await call(client, 'k8s__rollout_history', { name: 'web' })), /4\s+bump nginx to 1\.27\.2/);

  const undoPreview = await call(client, 'k8s__rollout_undo_preview', { name: 'web', to_revision: 3 });
  assert.match(text(undoPreview), /rolled back \(server dry run\)/);
  const undoPlan = plans(undoPreview).rollout_undo;
  assert.match(undoPlan, /^[A-Za-z0-9_-]{22}$/);
  assert.ok(kube.requests.some((r) => r.method === 'PATCH' && r.query.dryRun === 'All'), 'the preview is a server dry run');
  const undone = await call(client, 'k8s__rollout_undo', { name: 'web', to_revision: 3, plan_id: undoPlan });
  assert.match(text(undone), /rolled back/);
  const undoPatch = kube.requests.findLast((r) => r.method === 'PATCH');
  assert.equal(undoPatch.path, '/apis/apps/v1/namespaces/dev/deployments/web');
  assert.equal(undoPatch.query.dryRun, undefined);

  const scalePreview = await call(client, 'k8s__scale_preview', { name: 'web', replicas: 5 });
  assert.match(text(scalePreview), /scaled \(server dry run\)/);
  const plan = plans(scalePreview).scale;
  const other = await client.callTool({ name: 'k8s__scale', arguments: { name: 'web', replicas: 6, plan_id: plan } });
  assert.equal(other.isError, true);
  assert.match(text(other), /issued for other arguments/);
  await call(client, 'k8s__scale', { name: 'web', replicas: 5, plan_id: plan });
  const scalePatch = kube.requests.findLast((r) => r.method === 'PATCH');
  assert.equal(scalePatch.path, '/apis/apps/v1/namespaces/dev/deployments/web/scale');
  assert.equal(JSON.parse(scalePatch.body).spec.replicas, 5);
  assert.equal(scalePatch.query.dryRun, undefined);
  const reused = await client.callTool({ name: 'k8s__scale', arguments: { name: 'web', replicas: 5, plan_id: plan } });
  assert.match(text(reused), /already used/);

  assert.match(text(await call(client, 'k8s__top_pods', { sort_by: 'cpu' })), /CPU\(cores\)/);
  assert.match(text(await call(client, 'k8s__nodes_list', {})), /node-2\s+Ready\s+worker/);
  assert.match(text(await call(client, 'k8s__cluster_health', {})), /readyz check passed/);
  assert.match(text(await call(client, 'k8s__can_i', { verb: 'list', resource: 'pods' })), /yes/);
  const no = await call(client, 'k8s__can_i', { verb: 'delete', resource: 'pods' });
  assert.match(text(no), /no: not allowed/);

  // Streaming logs: progress lines while kubectl follows; the host's cancel stops kubectl.
  const lines = [];
  const abort = new AbortController();
  const streamed = client.callTool({ name: 'k8s__pod_logs_follow', arguments: { name: 'web-7d4b9c8f5d-x2x7q' } }, undefined, {
    signal: abort.signal,
    onprogress: (p) => { lines.push(p.message); if (lines.length === 5) abort.abort('enough'); },
  });
  await assert.rejects(streamed);
  assert.ok(lines.length >= 5 && /GET \/healthz/.test(lines[0]), q(lines));
  assert.equal(await kube.streamsClosed(10000), true, 'kubectl was stopped: its log stream closed');
}

async function helm(client, record) {
  const list = await call(client, 'helm__releases_list', {});
  assert.equal(list.structuredContent.items[0].name, 'shop');
  assert.equal((await call(client, 'helm__release_status', { release: 'shop' })).structuredContent.info.status, 'deployed');
  assert.equal((await call(client, 'helm__release_history', { release: 'shop' })).structuredContent.items.length, 3);
  assert.equal((await call(client, 'helm__release_values', { release: 'shop' })).structuredContent.replicaCount, 3);
  const args = { release: 'shop', chart: 'oci://registry.example/charts/shop', version: '2.4.1', values: { replicaCount: 4 } };
  const preview = await call(client, 'helm__upgrade_preview', args);
  assert.match(text(preview), /replicas: 4/);
  const upgraded = await call(client, 'helm__upgrade', { ...args, plan_id: plans(preview).upgrade });
  assert.match(text(upgraded), /has been upgraded/);
  const upgrade = readRecords(record).findLast((r) => r.argv[0] === 'upgrade');
  assert.deepEqual(upgrade.argv, ['upgrade', 'shop', 'oci://registry.example/charts/shop', '--namespace=dev', '--version=2.4.1',
    '--values=-', '--atomic', '--wait', '--timeout=5m']);
  assert.deepEqual(JSON.parse(upgrade.stdin), { replicaCount: 4 });
  assert.deepEqual(Object.keys(upgrade.env).sort(), ['HELM_CACHE_HOME', 'HELM_CONFIG_HOME', 'HELM_DATA_HOME', 'HELM_PLUGINS', 'HOME',
    'KUBECONFIG', 'PATH'], 'the environment is exactly the pack\'s');
  const badChart = await client.callTool({ name: 'helm__upgrade_preview', arguments: { ...args, chart: 'https://evil.example/x' } });
  assert.equal(badChart.isError, true);
  const rb = await call(client, 'helm__rollback_preview', { release: 'shop', revision: 6 });
  await call(client, 'helm__rollback', { release: 'shop', revision: 6, plan_id: plans(rb).rollback });
  assert.deepEqual(readRecords(record).at(-1).argv, ['rollback', 'shop', '6', '--namespace=dev', '--wait', '--timeout=5m']);
}

async function aws(client, api) {
  const instances = await call(client, 'aws__ec2_instances', { region: 'eu-west-1' });
  assert.deepEqual(instances.structuredContent.items.map((i) => i.id), ['i-0a1b2c3d4e5f60718', 'i-0f9e8d7c6b5a40312']);
  assert.equal(instances.structuredContent.items[0].name, 'checkout-api');
  const tagged = await call(client, 'aws__ec2_instances', { region: 'eu-west-1', state: 'stopped', tag_key: 'team', tag_value: 'ops' });
  assert.equal(tagged.structuredContent.items[0].id, 'i-07766554433221100');
  const describe = api.requests.findLast((r) => r.action === 'DescribeInstances');
  assert.equal(describe.params['Filter.2.Name'], 'tag:team');
  assert.match(describe.authorization, /Credential=AKIAIOSFODNN7EXAMPLE\/\d+\/eu-west-1\/ec2\//);
  const refused = await client.callTool({ name: 'aws__ec2_instances', arguments: { region: 'ap-south-1' } });
  assert.equal(refused.isError, true, 'a region outside the allowlist is refused');

  const cpu = await call(client, 'aws__cpu_utilization', { region: 'eu-west-1', instance_id: 'i-0a1b2c3d4e5f60718',
    start: '2026-11-28T00:00:00Z', end: '2026-11-29T00:00:00Z' });
  assert.equal(cpu.structuredContent.Label, 'CPUUtilization');
  assert.equal(cpu.structuredContent.Datapoints.length, 24);
  const recs = await call(client, 'aws__ec2_recommendations', { region: 'eu-west-1', finding: 'Overprovisioned' });
  const rec = recs.structuredContent.instanceRecommendations[0];
  assert.equal(rec.recommendationOptions[0].instanceType, 'm5.large');
  assert.deepEqual(api.requests.findLast((r) => r.action === 'GetEC2InstanceRecommendations').params.filters,
    [{ name: 'Finding', values: ['Overprovisioned'] }]);
  const cost = await call(client, 'aws__cost_and_usage', { start: '2026-10-01', end: '2026-11-01' });
  assert.equal(cost.structuredContent.ResultsByTime[0].Groups[0].Metrics.UnblendedCost.Amount, '4127.53');
  assert.deepEqual(api.requests.findLast((r) => r.action === 'GetCostAndUsage').params.GroupBy, [{ Type: 'DIMENSION', Key: 'SERVICE' }]);
}

async function cicd(client, gh) {
  const watched = [];
  const watch = await call(client, 'ci__run_watch', { run_id: 9003, repo: 'acme/shop', interval: 1 },
    { onprogress: (p) => watched.push(p.message) });
  assert.match(text(watch), /deploy/);
  assert.ok(watched.includes('* main Deploy · 9003'), `the in-progress frame came as progress: ${JSON.stringify(watched)}`);
  const runs = await call(client, 'ci__runs_list', { repo: 'acme/shop' });
  assert.deepEqual(runs.structuredContent.items.map((r) => r.databaseId), [9003, 9002, 9001]);
  assert.equal((await call(client, 'ci__runs_list', { repo: 'acme/shop', workflow: 'ci.yml', limit: 5 })).structuredContent.items.length, 2);
  const view = await call(client, 'ci__run_view', { run_id: 9002, repo: 'acme/shop' });
  assert.equal(view.structuredContent.jobs[1].conclusion, 'failure');
  const failed = await call(client, 'ci__run_failed_logs', { run_id: 9002, repo: 'acme/shop' });
  assert.match(text(failed), /FAIL src\/checkout\/total\.test\.ts/);
  assert.equal(failed._meta['manifold/untrusted_output'], true);
  const other = await client.callTool({ name: 'ci__runs_list', arguments: { repo: 'evil/repo' } });
  assert.equal(other.isError, true);

  const trigger = { repo: 'acme/shop', workflow: 'deploy.yml', ref: 'main', inputs: { environment: 'staging' } };
  const preview = await call(client, 'ci__workflow_run_preview', trigger);
  assert.match(text(preview), /workflow_dispatch/);
  const badRef = await client.callTool({ name: 'ci__workflow_run_preview', arguments: { ...trigger, ref: 'attacker-branch' } });
  assert.equal(badRef.isError, true);
  const changed = await client.callTool({ name: 'ci__workflow_run',
    arguments: { ...trigger, inputs: { environment: 'production' }, plan_id: plans(preview).workflow_run } });
  assert.match(text(changed), /issued for other arguments/);
  await call(client, 'ci__workflow_run', { ...trigger, plan_id: plans(preview).workflow_run });
  assert.deepEqual(gh.state.dispatches, [{ workflow: '1002', ref: 'main', inputs: { environment: 'staging' } }]);
  assert.ok(gh.requests.every((r) => r.authorization === 'token test-gh-token'), 'GH_TOKEN passed through the allowlist');
}

await run('e2e_exec_packs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'manifold-packs-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const kube = await startKubeApi({ deny: ['delete pods'] });
  const api = await startAwsApi();
  const gh = await startGithubApi();
  const helmRecord = join(dir, 'helm.jsonl');
  writeFakeCli(bin, 'helm', helmRecord);
  const kubeconfig = kube.writeKubeconfig(join(dir, 'kubeconfig'));
  const awsFiles = api.writeAwsFiles(dir);
  const config = join(dir, 'manifold.yaml');
  writeFileSync(config, `include:
  - file: ${q(join(packs, 'kubernetes.yaml'))}
    vars: {kubeconfig: ${q(kubeconfig)}, namespaces: "dev|staging", default_namespace: dev, cache_dir: ${q(join(dir, 'kube-cache'))}, follow_seconds: 30s}
  - file: ${q(join(packs, 'helm.yaml'))}
    vars: {kubeconfig: ${q(kubeconfig)}, namespaces: dev, default_namespace: dev, helm: ${q(join(bin, 'helm'))}, helm_home: ${q(join(dir, 'helm'))}}
  - file: ${q(join(packs, 'aws-cost.yaml'))}
    vars: {regions: "eu-west-1|us-east-1", profile: cost-readonly, config_file: ${q(awsFiles.config)},
           credentials_file: ${q(awsFiles.credentials)}, endpoint_url: ${q(api.url)}}
  - file: ${q(join(packs, 'cicd.yaml'))}
    vars: {repos: acme/shop, workflows: 'ci\\.yml|deploy\\.yml', refs: 'main|release/[0-9.]+', host: github.localhost,
           http_proxy: ${q(gh.proxy)}, config_dir: ${q(join(dir, 'gh'))}}
`);
  const client = new Client({ name: 'exec-packs-e2e', version: '1.0.0' });
  try {
    await client.connect(new StdioClientTransport({
      command: manifoldBinary(), args: ['--log-level', process.env.MANIFOLD_LOG_LEVEL ?? 'warn', 'serve', '--config', config],
      env: manifoldEnv({ PATH: process.env.PATH, HOME: dir, GH_TOKEN: 'test-gh-token', SECRET_THAT_MUST_NOT_LEAK: 'x' }),
      stderr: 'inherit',
    }));
    const { tools } = await client.listTools();
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    assert.equal(tools.length, 18 + 8 + 4 + 6, tools.map((t) => t.name).join(' '));
    assert.equal(byName.k8s__pods_list.annotations.readOnlyHint, true);
    assert.equal(byName.k8s__pods_list.inputSchema.additionalProperties, false);
    assert.deepEqual(byName.k8s__scale.inputSchema.required, ['name', 'replicas', 'plan_id']);
    assert.equal(byName.k8s__scale.inputSchema.properties.replicas.maximum, 20);
    assert.equal(byName.k8s__pod_logs._meta['manifold/exec'].sensitive, true);
    await kubernetes(client, kube);
    await helm(client, helmRecord);
    await aws(client, api);
    await cicd(client, gh);
  } finally {
    await client.close();
    await Promise.all([kube.stop(), api.stop(), gh.stop()]);
  }

  // Credentials that may not list nodes: the self-check hides nodes_list, and
  // `manifold catalog --explain` says so and why.
  const narrow = await startKubeApi({ deny: ['list nodes'] });
  try {
    const narrowConfig = join(dir, 'narrow.yaml');
    writeFileSync(narrowConfig, `include:
  - file: ${q(join(packs, 'kubernetes.yaml'))}
    vars: {kubeconfig: ${q(narrow.writeKubeconfig(join(dir, 'narrow-kubeconfig')))}, namespaces: dev, default_namespace: dev,
           cache_dir: ${q(join(dir, 'narrow-cache'))}, follow_seconds: 30s}
`);
    // (Asynchronous: the fake API server answers kubectl from this very process.)
    const explain = (name) => new Promise((resolve, reject) => {
      const child = spawn(manifoldBinary(), ['--log-level', 'error', 'catalog', '--config', narrowConfig, '--explain', name],
        { env: { PATH: process.env.PATH, HOME: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => { stdout += d; });
      child.stderr.on('data', (d) => { stderr += d; });
      const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`catalog --explain ${name} timed out`)); }, 60_000);
      child.on('close', (status) => { clearTimeout(timer); resolve({ status, stdout, stderr }); });
    });
    const hidden = await explain('k8s__nodes_list');
    assert.equal(hidden.status, 1, hidden.stdout + hidden.stderr);
    assert.match(hidden.stdout, /tool `nodes_list` of upstream \[k8s\] is hidden by its self-check: .*list nodes/, hidden.stdout);
    const shown = await explain('k8s__pods_list');
    assert.equal(shown.status, 0, shown.stdout + shown.stderr);
    assert.match(shown.stdout, /`k8s__pods_list` is exposed/);
  } finally {
    await narrow.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
