// The injection matrix through manifold: the real packs, with recorder binaries standing in
// for kubectl, aws, gh and helm (each writes a line to its record file when it runs). Every
// attempt must be refused before any process starts: the record files stay empty. Then the
// process limits through manifold with the exec fixture: a timeout stops the whole process
// group (a grandchild included), and output over the cap is cut with a marker.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { here, manifoldBinary, run, manifoldEnv } from './lib.mjs';
import { readRecords, writeFakeCli } from './fakes/fake_cli.mjs';

const packs = join(dirname(dirname(here)), 'samples', 'packs');
const fixture = process.argv[3] && resolve(process.argv[3]);
const q = JSON.stringify;
const text = (r) => r.content.map((c) => c.text).join('\n');

// Whether a process has ended (gone, or a zombie awaiting its reaper).
function gone(pid) {
  if (!existsSync(`/proc/${pid}/stat`)) return true;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return /\) [ZX] /.test(stat);
}

await run('e2e_exec_injection', async () => {
  if (!fixture) throw new Error('usage: node exec_injection.mjs <manifold> <exec_fixture>');
  const dir = mkdtempSync(join(tmpdir(), 'manifold-inject-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const records = {};
  for (const name of ['kubectl', 'aws', 'gh', 'helm']) {
    records[name] = join(dir, `${name}.jsonl`);
    writeFakeCli(bin, name, records[name], 'recorder');
  }
  const config = join(dir, 'manifold.yaml');
  writeFileSync(config, `include:
  - file: ${q(join(packs, 'kubernetes.yaml'))}
    vars: {kubeconfig: /nonexistent/kubeconfig, kubectl: ${q(join(bin, 'kubectl'))}, namespaces: "dev|staging", default_namespace: dev,
           cache_dir: ${q(join(dir, 'kube'))}}
  - file: ${q(join(packs, 'aws-cost.yaml'))}
    vars: {aws: ${q(join(bin, 'aws'))}, regions: eu-west-1}
  - file: ${q(join(packs, 'cicd.yaml'))}
    vars: {gh: ${q(join(bin, 'gh'))}, repos: acme/shop}
  - file: ${q(join(packs, 'helm.yaml'))}
    vars: {helm: ${q(join(bin, 'helm'))}, kubeconfig: /nonexistent/kubeconfig, namespaces: dev, default_namespace: dev}
servers:
  fx:
    exec:
      binary: ${q(fixture)}
      env: {set: {PID_FILE: ${q(join(dir, 'pids'))}}}
      tools:
        slow:
          argv: [fork-wait]
          timeout: 1s
          kill_grace: 1s
        flood:
          argv: [flood, "1000000"]
          output: {max_bytes: 64KiB}
        preview:
          argv: [print, "would change {{target}}"]
          params: {target: {type: string, enum: [a, b]}}
        change:
          argv: [print, "changed {{target}}"]
          params: {target: {type: string, enum: [a, b]}}
          preview: preview
          plan_ttl: 1ms
`);
  const client = new Client({ name: 'exec-injection-e2e', version: '1.0.0' });
  try {
    await client.connect(new StdioClientTransport({
      command: manifoldBinary(), args: ['--log-level', process.env.MANIFOLD_LOG_LEVEL ?? 'warn', 'serve', '--config', config],
      env: manifoldEnv({ PATH: process.env.PATH, HOME: dir }), stderr: 'inherit',
    }));
    await client.listTools();  // start-up probes (versions, auth can-i) have run
    for (const file of Object.values(records)) writeFileSync(file, '');

    const attempts = [
      ['k8s__pod_get', { name: '; rm -rf /' }],
      ['k8s__pod_get', { name: '$(id)' }],
      ['k8s__pod_get', { name: '`id`' }],
      ['k8s__pod_get', { name: 'web\nrm -rf /' }],
      ['k8s__pod_get', { name: '--kubeconfig=/etc/passwd' }],
      ['k8s__pod_get', { name: '-n' }],
      ['k8s__pod_logs', { name: '--server=https://attacker' }],
      ['k8s__pod_get', { name: 'a'.repeat(300) }],
      ['k8s__pod_get', { name: 42 }],
      ['k8s__pod_get', { name: 'web', kubeconfig: '/etc/passwd' }],
      ['k8s__pod_get', { name: 'web', namespace: 'kube-system' }],
      ['k8s__pods_list', { selector: 'app=web --server=https://attacker' }],
      ['k8s__scale_preview', { name: 'web', replicas: 10000 }],
      ['aws__ec2_instances', { region: 'eu-west-1', tag_key: 'file:///etc/passwd' }],
      ['aws__ec2_instances', { region: 'eu-west-1', tag_key: 'x', tag_value: 'fileb:///etc/shadow' }],
      ['aws__ec2_instances', { region: 'us-east-1' }],
      ['aws__cost_and_usage', { start: '2026-10-01', end: '2026-11-01', metric: 'BlendedCost --debug' }],
      ['ci__runs_list', { repo: 'acme/shop', branch: '@/etc/passwd' }],
      ['ci__runs_list', { repo: 'acme/shop --hostname=evil.example' }],
      ['ci__workflow_run_preview', { repo: 'acme/shop', workflow: 'deploy.yml', ref: 'main', inputs: { environment: 'x\ny' } }],
      ['helm__upgrade_preview', { release: 'shop', chart: 'file:///etc/passwd', version: '1.0.0' }],
      ['helm__upgrade_preview', { release: 'shop', chart: 'oci://registry.example/charts/shop', version: '1.0.0 --post-renderer=/bin/sh' }],
      ['k8s__scale', { name: 'web', replicas: 3 }],
      ['k8s__scale', { name: 'web', replicas: 3, plan_id: 'AAAAAAAAAAAAAAAAAAAAAA' }],
    ];
    for (const [name, args] of attempts) {
      const r = await client.callTool({ name, arguments: args });
      assert.equal(r.isError, true, `${name} ${q(args)} was not refused: ${text(r)}`);
      assert.match(text(r), /refused the call before running anything/, `${name} ${q(args)}`);
    }
    for (const [name, file] of Object.entries(records)) assert.deepEqual(readRecords(file), [], `${name} ran`);
    // The plan chain with the recorder: a plan for other arguments, reused, expired.
    const preview = await client.callTool({ name: 'k8s__scale_preview', arguments: { name: 'web', replicas: 3 } });
    const plan = preview._meta['manifold/exec'].plans.scale;
    for (const file of Object.values(records)) writeFileSync(file, '');
    const other = await client.callTool({ name: 'k8s__scale', arguments: { name: 'web', replicas: 4, plan_id: plan } });
    assert.match(text(other), /issued for other arguments/);
    const otherNs = await client.callTool({ name: 'k8s__scale', arguments: { name: 'web', replicas: 3, namespace: 'staging', plan_id: plan } });
    assert.match(text(otherNs), /issued for other arguments/);
    for (const [name, file] of Object.entries(records)) assert.deepEqual(readRecords(file), [], `${name} ran`);

    const ok = await client.callTool({ name: 'k8s__scale', arguments: { name: 'web', replicas: 3, plan_id: plan } });
    assert.ok(!ok.isError, text(ok));
    assert.deepEqual(readRecords(records.kubectl).map((r) => r.argv), [['scale', 'deployment/web', '--namespace=dev', '--replicas=3']]);
    writeFileSync(records.kubectl, '');
    const reused = await client.callTool({ name: 'k8s__scale', arguments: { name: 'web', replicas: 3, plan_id: plan } });
    assert.match(text(reused), /already used/);
    assert.deepEqual(readRecords(records.kubectl), []);

    const fxPreview = await client.callTool({ name: 'fx__preview', arguments: { target: 'a' } });
    const fxPlan = fxPreview._meta['manifold/exec'].plans.change;
    await new Promise((r) => setTimeout(r, 20));  // the plan's 1ms TTL passes: time is what is tested here
    const expired = await client.callTool({ name: 'fx__change', arguments: { target: 'a', plan_id: fxPlan } });
    assert.match(text(expired), /expired/);

    // A timeout stops the whole process group: the fixture and the grandchild it forked.
    const slow = await client.callTool({ name: 'fx__slow', arguments: {} });
    assert.equal(slow.isError, true);
    assert.match(text(slow), /timed out after 1s; the process group was stopped/);
    const pids = readFileSync(join(dir, 'pids'), 'utf8').trim().split('\n').map(Number);
    assert.equal(pids.length, 2);
    for (const pid of pids) {
      for (let i = 0; i < 100 && !gone(pid); i++) await new Promise((r) => setTimeout(r, 20));  // bounded: the signal is already sent
      assert.ok(gone(pid), `process ${pid} survived the timeout`);
    }

    const flood = await client.callTool({ name: 'fx__flood', arguments: {} });
    assert.ok(!flood.isError);
    assert.match(text(flood), /\[manifold: output truncated: kept the first 65536 of 1000000 bytes\]/);
    assert.ok(text(flood).length < 70000);
    assert.equal(flood._meta['manifold/exec'].truncated, true);
  } finally {
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
