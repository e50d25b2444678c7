// A fake AWS endpoint for the exec pack tests: one HTTP listener on 127.0.0.1 (port 0) that
// the aws CLI reaches through the pack's `endpoint_url` variable. It answers the EC2 Query API
// (DescribeInstances, XML), CloudWatch GetMetricStatistics (Query API, XML), Compute
// Optimizer (JSON 1.0) and Cost Explorer (JSON 1.1) with realistic canned data, and records
// each request (service, action, parameters) for the tests.
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const account = '123456789012';
const instances = [
  { id: 'i-0a1b2c3d4e5f60718', type: 'm5.2xlarge', state: 'running', az: 'eu-west-1a', name: 'checkout-api', team: 'shop', launched: '2026-06-01T10:00:00.000Z' },
  { id: 'i-0f9e8d7c6b5a40312', type: 'c5.4xlarge', state: 'running', az: 'eu-west-1b', name: 'search-indexer', team: 'search', launched: '2026-03-14T08:30:00.000Z' },
  { id: 'i-07766554433221100', type: 't3.medium', state: 'stopped', az: 'eu-west-1a', name: 'legacy-batch', team: 'ops', launched: '2025-11-02T17:45:00.000Z' },
];

const xmlEscape = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function describeInstances(params) {
  let list = instances;
  for (let i = 1; params[`Filter.${i}.Name`]; i++) {
    const name = params[`Filter.${i}.Name`];
    const values = Object.keys(params).filter((k) => k.startsWith(`Filter.${i}.Value.`)).map((k) => params[k]);
    if (name === 'instance-state-name') list = list.filter((x) => values.includes(x.state));
    if (name.startsWith('tag:')) {
      const key = name.slice(4);
      list = list.filter((x) => values.some((v) => v === '*' || (key === 'team' && x.team === v) || (key === 'Name' && x.name === v)));
    }
  }
  const items = list.map((x) => `
        <item>
          <instanceId>${x.id}</instanceId>
          <imageId>ami-0c55b159cbfafe1f0</imageId>
          <instanceState><code>${x.state === 'running' ? 16 : 80}</code><name>${x.state}</name></instanceState>
          <privateDnsName>ip-10-0-1-12.eu-west-1.compute.internal</privateDnsName>
          <dnsName/>
          <instanceType>${x.type}</instanceType>
          <launchTime>${x.launched}</launchTime>
          <placement><availabilityZone>${x.az}</availabilityZone><tenancy>default</tenancy></placement>
          <monitoring><state>disabled</state></monitoring>
          <privateIpAddress>10.0.1.12</privateIpAddress>
          <architecture>x86_64</architecture>
          <rootDeviceType>ebs</rootDeviceType>
          <platformDetails>Linux/UNIX</platformDetails>
          <tagSet>
            <item><key>Name</key><value>${xmlEscape(x.name)}</value></item>
            <item><key>team</key><value>${xmlEscape(x.team)}</value></item>
          </tagSet>
        </item>`).join('');
  return `<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>8f7724cf-496f-496e-8fe3-example</requestId>
  <reservationSet>
    <item>
      <reservationId>r-0123456789abcdef0</reservationId>
      <ownerId>${account}</ownerId>
      <groupSet/>
      <instancesSet>${items}
      </instancesSet>
    </item>
  </reservationSet>
</DescribeInstancesResponse>`;
}

function metricStatistics(params) {
  const start = Date.parse(params.StartTime);
  const period = Number(params.Period) * 1000;
  const points = [];
  for (let t = start, i = 0; t < Date.parse(params.EndTime) && i < 24; t += period, i++) {
    points.push(`<member><Timestamp>${new Date(t).toISOString().replace(/\.\d+Z$/, 'Z')}</Timestamp>` +
      `<Average>${(6 + (i % 5) * 1.5).toFixed(2)}</Average><Maximum>${(22 + (i % 7) * 3).toFixed(2)}</Maximum><Unit>Percent</Unit></member>`);
  }
  return `<GetMetricStatisticsResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">
  <GetMetricStatisticsResult>
    <Label>${xmlEscape(params.MetricName)}</Label>
    <Datapoints>${points.join('')}</Datapoints>
  </GetMetricStatisticsResult>
  <ResponseMetadata><RequestId>2b5a3f4e-1c2d-4e5f-8a9b-example</RequestId></ResponseMetadata>
</GetMetricStatisticsResponse>`;
}

function ec2Recommendations(body) {
  const region = 'eu-west-1';
  const rec = (x, finding, options) => ({
    instanceArn: `arn:aws:ec2:${region}:${account}:instance/${x.id}`, accountId: account, instanceName: x.name,
    currentInstanceType: x.type, finding, findingReasonCodes: finding === 'Overprovisioned' ? ['CPUOverprovisioned', 'MemoryOverprovisioned'] : [],
    utilizationMetrics: [{ name: 'CPU', statistic: 'MAXIMUM', value: finding === 'Overprovisioned' ? 18.4 : 92.1 }],
    lookBackPeriodInDays: 14, currentPerformanceRisk: 'VeryLow',
    recommendationOptions: options.map((o, rank) => ({ instanceType: o.type, performanceRisk: 1, rank: rank + 1,
      savingsOpportunity: { savingsOpportunityPercentage: o.pct, estimatedMonthlySavings: { currency: 'USD', value: o.usd } } })),
    lastRefreshTimestamp: 1764460800,
  });
  let list = [
    rec(instances[0], 'Overprovisioned', [{ type: 'm5.large', pct: 74.8, usd: 206.88 }, { type: 'm6i.xlarge', pct: 49.6, usd: 137.24 }]),
    rec(instances[1], 'Underprovisioned', [{ type: 'c5.9xlarge', pct: -124.9, usd: 0 }]),
  ];
  const finding = body.filters?.find((f) => f.name === 'Finding');
  if (finding) list = list.filter((r) => finding.values.includes(r.finding));
  if (body.instanceArns) list = list.filter((r) => body.instanceArns.includes(r.instanceArn));
  return { instanceRecommendations: list.slice(0, body.maxResults ?? 100), errors: [] };
}

function costAndUsage(body) {
  const services = [['Amazon Elastic Compute Cloud - Compute', '4127.53'], ['Amazon Relational Database Service', '1893.20'],
    ['Amazon Simple Storage Service', '311.07'], ['AWS Lambda', '12.94']];
  return {
    GroupDefinitions: body.GroupBy ?? [],
    ResultsByTime: [{ TimePeriod: body.TimePeriod, Total: {},
      Groups: services.map(([k, v]) => ({ Keys: [k], Metrics: { [body.Metrics[0]]: { Amount: v, Unit: 'USD' } } })), Estimated: false }],
    DimensionValueAttributes: [],
  };
}

function jsonError(res, type, message) {
  res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
  res.end(JSON.stringify({ __type: type, message }));
}

// Starts the fake. Resolves with {url, requests, writeAwsFiles(dir) -> {config, credentials}, stop()}.
export async function startAwsApi() {
  const requests = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const target = req.headers['x-amz-target'];
      if (target) {
        const parsed = JSON.parse(body || '{}');
        const [service, action] = target.split('.');
        requests.push({ service, action, params: parsed, authorization: req.headers.authorization ?? '' });
        const type = req.headers['content-type'];
        if (action === 'GetEC2InstanceRecommendations') {
          res.writeHead(200, { 'content-type': type });
          return res.end(JSON.stringify(ec2Recommendations(parsed)));
        }
        if (action === 'GetCostAndUsage') {
          res.writeHead(200, { 'content-type': type });
          return res.end(JSON.stringify(costAndUsage(parsed)));
        }
        return jsonError(res, 'UnknownOperationException', `unknown operation ${target}`);
      }
      const params = Object.fromEntries(new URLSearchParams(body));
      requests.push({ service: params.Version === '2010-08-01' ? 'monitoring' : 'ec2', action: params.Action, params,
        authorization: req.headers.authorization ?? '' });
      res.writeHead(200, { 'content-type': 'text/xml' });
      if (params.Action === 'DescribeInstances') return res.end(describeInstances(params));
      if (params.Action === 'GetMetricStatistics') return res.end(metricStatistics(params));
      res.writeHead(400);
      return res.end(`<Response><Errors><Error><Code>InvalidAction</Code><Message>${xmlEscape(params.Action)}</Message></Error></Errors></Response>`);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url, requests,
    writeAwsFiles(dir) {
      const config = join(dir, 'aws-config');
      const credentials = join(dir, 'aws-credentials');
      writeFileSync(config, '[profile cost-readonly]\nregion = eu-west-1\noutput = json\n');
      writeFileSync(credentials, '[cost-readonly]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n');
      return { config, credentials };
    },
    stop: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}
