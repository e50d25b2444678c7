// Stand-ins for CLIs that Debian does not package (helm, argocd) and recorders for the
// injection tests. writeFakeCli(dir, name, record) writes an executable `dir/name` that
// appends {argv, stdin, env} as a JSON line to `record` on every run, then answers like the
// real CLI would (realistic output and exit codes). With mode 'recorder' it answers only the
// pack's start-up probes (versions, auth can-i) and prints "recorded" otherwise.
import { appendFileSync, chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function writeFakeCli(dir, name, record, mode = 'fake') {
  const file = join(dir, name);
  const self = fileURLToPath(import.meta.url);
  writeFileSync(file, `#!${process.execPath}\nimport(${JSON.stringify(self)}).then((m) => m.main(${JSON.stringify(name)}, ` +
    `${JSON.stringify(record)}, ${JSON.stringify(mode)}));\n`);
  chmodSync(file, 0o755);
  return file;
}

const out = (text) => process.stdout.write(text.endsWith('\n') ? text : text + '\n');

function probe(name, argv) {
  const a = argv.join(' ');
  if (name === 'kubectl' && a.startsWith('version')) return '{"clientVersion":{"major":"1","minor":"30","gitVersion":"v1.30.2"}}';
  if (name === 'kubectl' && a.startsWith('auth can-i')) return 'yes';
  if (name === 'aws' && a === '--version') return 'aws-cli/2.9.19 Python/3.11.2 Linux/6.1 source/x86_64.debian.12';
  if (name === 'gh' && a === '--version') return 'gh version 2.23.0 (2023-02-27 Debian 2.23.0+dfsg1-1)';
  if (name === 'helm' && a === 'version --short') return 'v3.15.4+gfa9efb0';
  if (name === 'argocd' && a === 'version --client --short') return 'argocd: v2.12.3+6b9cd82';
  return null;
}

const releases = [
  { name: 'shop', namespace: 'dev', revision: '7', updated: '2026-11-29 14:02:11.503112 +0000 UTC', status: 'deployed', chart: 'shop-2.4.0', app_version: '2.4.0' },
  { name: 'payments', namespace: 'dev', revision: '3', updated: '2026-11-20 09:12:44.117042 +0000 UTC', status: 'deployed', chart: 'payments-1.8.1', app_version: '1.8.1' },
];

function helm(argv, stdin) {
  const [cmd, sub] = argv;
  if (cmd === 'list') return [0, JSON.stringify(releases)];
  if (cmd === 'status') {
    return [0, JSON.stringify({ name: argv[1], namespace: 'dev', version: 7,
      info: { first_deployed: '2026-09-01T10:00:00Z', last_deployed: '2026-11-29T14:02:11Z', status: 'deployed', description: 'Upgrade complete',
        notes: 'shop is available at https://shop.dev.example' },
      chart: { metadata: { name: 'shop', version: '2.4.0', appVersion: '2.4.0' } } })];
  }
  if (cmd === 'history') {
    return [0, JSON.stringify([5, 6, 7].map((r) => ({ revision: r, updated: `2026-11-${20 + r}T10:00:00Z`,
      status: r === 7 ? 'deployed' : 'superseded', chart: `shop-2.${r - 3}.0`, app_version: `2.${r - 3}.0`,
      description: r === 5 ? 'Install complete' : 'Upgrade complete' })))];
  }
  if (cmd === 'get' && sub === 'values') return [0, JSON.stringify({ replicaCount: 3, image: { tag: '2.4.0' }, ingress: { host: 'shop.dev.example' } })];
  if (cmd === 'upgrade') {
    const dry = argv.includes('--dry-run');
    const values = stdin.trim() ? JSON.parse(stdin) : {};
    const lines = [`Release "${argv[1]}" has been upgraded. Happy Helming!`, `NAME: ${argv[1]}`, 'LAST DEPLOYED: Mon Nov 30 09:00:00 2026',
      'NAMESPACE: dev', `STATUS: ${dry ? 'pending-upgrade' : 'deployed'}`, 'REVISION: 8'];
    if (dry) {
      lines.push('HOOKS:', 'MANIFEST:', '---', '# Source: shop/templates/deployment.yaml', 'apiVersion: apps/v1', 'kind: Deployment',
        'metadata:', `  name: ${argv[1]}`, 'spec:', `  replicas: ${values.replicaCount ?? 3}`);
    }
    return [0, lines.join('\n')];
  }
  if (cmd === 'rollback') return [0, 'Rollback was a success! Happy Helming!'];
  return [1, `Error: unknown command "${cmd}" for "helm"`];
}

function argocd(argv) {
  const [cmd, sub, app] = argv;
  if (cmd !== 'app') return [20, `FATA[0000] unknown command ${cmd}`];
  if (sub === 'list') {
    return [0, ['NAME         CLUSTER                         NAMESPACE  PROJECT  STATUS     HEALTH    SYNCPOLICY  CONDITIONS  REPO                                   PATH            TARGET',
      'argocd/shop  https://kubernetes.default.svc  dev        default  OutOfSync  Degraded  Manual      <none>      https://git.example/acme/deploy.git  apps/shop/dev   main',
      'argocd/payments  https://kubernetes.default.svc  dev    default  Synced     Healthy   Auto-Prune  <none>      https://git.example/acme/deploy.git  apps/payments   main'].join('\n')];
  }
  if (sub === 'resources') {
    return [0, ['GROUP  KIND        NAMESPACE  NAME  ORPHANED', '       Service     dev        shop  No', 'apps   Deployment  dev        shop  No'].join('\n')];
  }
  if (sub === 'history') {
    return [0, ['SOURCE  https://git.example/acme/deploy.git', 'ID  DATE                           REVISION',
      '4   2026-11-27 10:14:02 +0000 UTC  main (4f1c2d3)', '5   2026-11-29 14:02:11 +0000 UTC  main (9a8b7c6)'].join('\n')];
  }
  if (sub === 'diff') {
    return [1, ['===== apps/Deployment dev/shop ======', '@@ -21,7 +21,7 @@', '-        image: registry.example/shop:2.4.0', '+        image: registry.example/shop:2.4.1'].join('\n')];
  }
  if (sub === 'wait' || sub === 'sync' || sub === 'rollback') {
    const dry = argv.includes('--dry-run');
    return [0, [`TIMESTAMP                  GROUP  KIND        NAMESPACE  NAME  STATUS     HEALTH       HOOK  MESSAGE`,
      `2026-11-30T09:00:01+00:00  apps   Deployment  dev        shop  OutOfSync  Progressing        ${dry ? 'deployment.apps/shop configured (dry run)' : 'deployment.apps/shop configured'}`,
      '', `Name:               argocd/${app}`, `Operation:          ${sub === 'rollback' ? 'Rollback' : 'Sync'}`,
      `Phase:              Succeeded`, 'Message:            successfully synced (all tasks run)'].join('\n')];
  }
  return [20, `FATA[0000] unknown command app ${sub}`];
}

export async function main(name, record, mode) {
  const argv = process.argv.slice(2);
  const chunks = [];
  if (!process.stdin.isTTY) for await (const c of process.stdin) chunks.push(c);
  const stdin = Buffer.concat(chunks).toString();
  const env = Object.fromEntries(Object.entries(process.env).map(([k, v]) => [k, k.includes('TOKEN') ? '<set>' : v]));
  appendFileSync(record, JSON.stringify({ name, argv, stdin, env }) + '\n');
  const answer = probe(name, argv);
  if (answer !== null) return out(answer);
  if (mode === 'recorder') return out('recorded');
  const [code, text] = name === 'helm' ? helm(argv, stdin) : name === 'argocd' ? argocd(argv) : [2, `no fake for ${name}`];
  if (code === 0 || code === 1) out(text); else process.stderr.write(text + '\n');
  process.exitCode = code;
  return undefined;
}

export function readRecords(record) {
  try {
    return readFileSync(record, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}
