// Judges a run of the conformance suite's client side from its results (checks.json per
// scenario), as the suite does, with one difference: the suite fails a scenario for a
// WARNING too, and sse-retry warns when the client reconnected "slightly late" (more than
// 200 ms after the server's `retry:`, measured by the wall clock). The requirement is to wait
// at least `retry` before reconnecting; on a loaded 2-core machine the reconnection can come
// later than the suite's window without the client doing anything wrong. That warning is
// accepted here and printed; reconnecting too early, very late (the suite's FAILURE), any
// other warning or failure still fails, as do scenarios listed as expected failures that
// pass.
//   node judge.mjs <expected-failures.yaml> <results dir>
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import YAML from 'yaml';

const [expectedFile, resultsDir] = process.argv.slice(2);
const expected = new Set(YAML.parse(readFileSync(expectedFile, 'utf8'))?.client ?? []);

// Every directory under `dir` holding a checks.json, with its scenario name (the directory's
// path under the results, without the run's timestamp).
function scenarios(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (!statSync(path).isDirectory()) continue;
    let checks = null;
    try { checks = JSON.parse(readFileSync(join(path, 'checks.json'), 'utf8')); } catch { /* a folder of scenarios */ }
    if (checks) out.push({ scenario: relative(resultsDir, path).replace(/-\d{4}-\d\d-\d\dT[\d-]+Z$/, ''), checks });
    else out.push(...scenarios(path));
  }
  return out;
}

const lateOnly = (c) => c.id === 'client-sse-retry-timing' && c.status === 'WARNING' &&
  c.details?.slightlyLate === true && c.details?.tooEarly === false && c.details?.veryLate === false;

let passed = 0;
let failed = 0;
for (const { scenario, checks } of scenarios(resultsDir)) {
  for (const c of checks.filter(lateOnly)) {
    console.log(`${scenario}: accepted: ${c.errorMessage} (retry ${c.details.expectedRetryMs} ms, ` +
      `reconnected after ${c.details.actualDelayMs} ms)`);
  }
  const bad = checks.some((c) => c.status === 'FAILURE' || (c.status === 'WARNING' && !lateOnly(c)));
  if (bad === expected.has(scenario)) {
    passed++;
  } else {
    failed++;
    console.log(bad ? `${scenario}: failed (not an expected failure)` : `${scenario}: passed, but is listed as an expected failure`);
  }
}
console.log(`conformance client (judged from the results): ${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
