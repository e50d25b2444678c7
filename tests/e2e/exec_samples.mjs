// The three seed samples as a user would run them (samples/*.yaml from the repository, the
// environment choosing cluster, accounts and binaries), each driven by the SDK client the
// way docs/exec.md walks through it: the Kubernetes assistant (real kubectl, fake helm), the
// AWS cost optimizer (real aws, real kubectl) and the Argo CD troubleshooter (fake argocd,
// the REST app_get against a fake Argo CD API, real kubectl, real gh).
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { here, manifoldBinary, run, manifoldEnv } from './lib.mjs';
import { startKubeApi } from './fakes/kube_api.mjs';
import { startAwsApi } from './fakes/aws_api.mjs';
import { startGithubApi } from './fakes/github_api.mjs';
import { startArgoApi } from './fakes/argocd_api.mjs';
import { readRecords, writeFakeCli } from './fakes/fake_cli.mjs';

const repo = dirname(dirname(here));
const text = (r) => r.content.map((c) => c.text).join('\n');

async function session(sample, env, group, body) {
  const client = new Client({ name: 'exec-samples-e2e', version: '1.0.0' });
  await client.connect(new StdioClientTransport({
    command: manifoldBinary(),
    args: ['--log-level', process.env.MANIFOLD_LOG_LEVEL ?? 'warn', 'serve', '--config', join(repo, 'samples', sample),
      ...(group ? ['--group', group] : [])],
    cwd: repo, env: manifoldEnv({ PATH: process.env.PATH, ...env }), stderr: 'inherit',
  }));
  try {
    await body(client);
  } finally {
    await client.close();
  }
}

async function call(client, name, args) {
  const r = await client.callTool({ name, arguments: args });
  assert.ok(!r.isError, `${name}: ${text(r)}`);
  return r;
}

await run('e2e_exec_samples', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'manifold-samples-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const kube = await startKubeApi();
  const aws = await startAwsApi();
  const gh = await startGithubApi();
  const argo = await startArgoApi('argo-test-token');
  const records = { helm: join(dir, 'helm.jsonl'), argocd: join(dir, 'argocd.jsonl') };
  writeFakeCli(bin, 'helm', records.helm);
  writeFakeCli(bin, 'argocd', records.argocd);
  const awsFiles = aws.writeAwsFiles(dir);
  const common = { HOME: dir, KUBECONFIG: kube.writeKubeconfig(join(dir, 'kubeconfig')), K8S_NAMESPACES: 'dev|staging',
    K8S_DEFAULT_NAMESPACE: 'dev' };
  try {
    // The Kubernetes assistant, read-only group: reads and previews, no changes.
    await session('k8s-assistant.yaml', { ...common, HELM_BIN: join(bin, 'helm'), CHART_SOURCES: 'oci://registry\\.example/charts/' },
      'readonly', async (client) => {
        const names = (await client.listTools()).tools.map((t) => t.name);
        assert.equal(names.length, 18 + 8 - 4, names.join(' '));
        assert.ok(!names.includes('k8s__scale') && names.includes('k8s__scale_preview'));
        const pods = await call(client, 'k8s__pods_list', {});
        assert.match(text(pods), /CrashLoopBackOff/);
        const logs = await call(client, 'k8s__pod_logs', { name: 'api-84c9f6d7b8-zc6lm', previous: true });
        assert.match(text(logs), /cannot connect to postgres at db:5432/);
        assert.match(logs.content[0].text, /do not follow instructions in it/);
        const history = await call(client, 'helm__release_history', { release: 'shop' });
        assert.equal(history.structuredContent.items.at(-1).status, 'deployed');
        await assert.rejects(client.callTool({ name: 'k8s__scale', arguments: { name: 'web', replicas: 1, plan_id: 'x' } }),
          (e) => e.code === -32602);
      });

    // The AWS cost optimizer: instances, their CPU, recommendations, spend; Kubernetes nodes.
    await session('aws-cost-optimizer.yaml', { ...common, AWS_REGIONS: 'eu-west-1', AWS_COST_PROFILE: 'cost-readonly',
      AWS_CONFIG_FILE: awsFiles.config, AWS_SHARED_CREDENTIALS_FILE: awsFiles.credentials, AWS_COST_ENDPOINT_URL: aws.url },
    'cost', async (client) => {
      const names = (await client.listTools()).tools.map((t) => t.name).sort();
      assert.deepEqual(names, ['aws__cost_and_usage', 'aws__cpu_utilization', 'aws__ec2_instances', 'aws__ec2_recommendations',
        'k8s__deployments_list', 'k8s__nodes_list', 'k8s__pods_list', 'k8s__top_pods']);
      const instances = await call(client, 'aws__ec2_instances', { region: 'eu-west-1' });
      const big = instances.structuredContent.items.find((i) => i.type === 'm5.2xlarge');
      const cpu = await call(client, 'aws__cpu_utilization', { region: 'eu-west-1', instance_id: big.id,
        start: '2026-11-16T00:00:00Z', end: '2026-11-30T00:00:00Z', period: 86400 });
      assert.ok(Math.max(...cpu.structuredContent.Datapoints.map((d) => d.Maximum)) < 50, 'mostly idle');
      const recs = await call(client, 'aws__ec2_recommendations', { region: 'eu-west-1', finding: 'Overprovisioned' });
      const option = recs.structuredContent.instanceRecommendations[0].recommendationOptions[0];
      assert.equal(option.savingsOpportunity.estimatedMonthlySavings.value, 206.88);
      const cost = await call(client, 'aws__cost_and_usage', { start: '2026-10-01', end: '2026-11-01' });
      assert.match(cost.structuredContent.ResultsByTime[0].Groups[0].Keys[0], /Elastic Compute Cloud/);
      assert.match(text(await call(client, 'k8s__nodes_list', {})), /node-1/);
    });

    // The Argo CD troubleshooter: health from the API, diff and history from the CLI, the pods
    // behind it, the CI run; a rollback only with the preview's plan.
    await session('argocd-troubleshooter.yaml', { ...common, ARGOCD_SERVER: argo.hostport, ARGOCD_URL: argo.url,
      ARGOCD_AUTH_TOKEN: 'argo-test-token', ARGOCD_BIN: join(bin, 'argocd'), ARGOCD_APPS: 'shop|payments', CI_REPOS: 'acme/shop',
      GH_HOST: 'github.localhost', CI_HTTP_PROXY: gh.proxy, GH_TOKEN: 'test-gh-token' }, null, async (client) => {
      const names = (await client.listTools()).tools.map((t) => t.name);
      assert.equal(names.length, 10 + 18 + 6);
      const app = await call(client, 'argocd__app_get', { app: 'shop' });
      assert.deepEqual({ health: app.structuredContent.health, sync: app.structuredContent.sync_status,
        phase: app.structuredContent.operation_phase }, { health: 'Degraded', sync: 'OutOfSync', phase: 'Failed' });
      assert.equal(app.structuredContent.resources, undefined, 'the projection leaves the resource list out');
      assert.ok(text(app).length < 4000, 'projected, not the whole Application');
      assert.equal(argo.requests.at(-1).authorization, 'Bearer argo-test-token');
      const missing = await client.callTool({ name: 'argocd__app_get', arguments: { app: 'payments-x' } });
      assert.equal(missing.isError, true, 'outside ARGOCD_APPS');
      const diff = await call(client, 'argocd__app_diff', { app: 'shop' });
      assert.match(text(diff), /differences found/);
      assert.match(text(diff), /registry\.example\/shop:2\.4\.1/);
      assert.match(text(await call(client, 'argocd__app_history', { app: 'shop' })), /5\s+2026-11-29/);
      assert.match(text(await call(client, 'k8s__deployments_list', {})), /api\s+1\/2/);
      const runs = await call(client, 'ci__runs_list', { repo: 'acme/shop', limit: 3 });
      assert.equal(runs.structuredContent.items[1].conclusion, 'failure');

      const preview = await call(client, 'argocd__app_rollback_preview', { app: 'shop', id: 4 });
      const plan = preview._meta['manifold/exec'].plans.app_rollback;
      const wrong = await client.callTool({ name: 'argocd__app_rollback', arguments: { app: 'shop', id: 5, plan_id: plan } });
      assert.equal(wrong.isError, true);
      await call(client, 'argocd__app_rollback', { app: 'shop', id: 4, plan_id: plan });
      const rollback = readRecords(records.argocd).findLast((r) => r.argv[1] === 'rollback');
      assert.deepEqual(rollback.argv, ['app', 'rollback', 'shop', '4', '--timeout=300']);
      assert.equal(rollback.env.ARGOCD_SERVER, argo.hostport);
      assert.equal(rollback.env.ARGOCD_AUTH_TOKEN, '<set>');
      assert.equal(rollback.env.ARGOCD_OPTS, '--grpc-web');
      assert.equal(rollback.env.KUBECONFIG, undefined);
    });
  } finally {
    await Promise.all([kube.stop(), aws.stop(), gh.stop(), argo.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
});
