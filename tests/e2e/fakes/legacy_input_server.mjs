// A handshake-era (SDK 1.x) MCP server over stdio whose tools and prompt ask the client for
// input while they run (sampling, elicitation, roots), the push way: the upstream of the
// multi-round-trip bridging test (mrtr_bridge.mjs).
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import * as T from '@modelcontextprotocol/sdk/types.js';

const server = new McpServer({ name: 'legacy-input', version: '1.0.0' }, { capabilities: {} });
const text = (t) => ({ content: [{ type: 'text', text: t }] });
const schema = (field) => ({ type: 'object', properties: { [field]: { type: 'string' } }, required: [field] });
const elicit = (extra, message, field) =>
  extra.sendRequest({ method: 'elicitation/create', params: { message, requestedSchema: schema(field) } }, T.ElicitResultSchema);
const sample = (extra, question) => extra.sendRequest({ method: 'sampling/createMessage', params: {
  messages: [{ role: 'user', content: { type: 'text', text: question } }], maxTokens: 20 } }, T.CreateMessageResultSchema);
const roots = (extra) => extra.sendRequest({ method: 'roots/list' }, T.ListRootsResultSchema);

// Everything at once: one round.
server.registerTool('ask_all', { description: 'Elicits, samples and lists roots concurrently.' }, async (extra) => {
  const [who, llm, where] = await Promise.all([elicit(extra, 'name?', 'name'), sample(extra, 'Capital of France?'), roots(extra)]);
  return text(`name=${who.content?.name} llm=${llm.content.text} roots=${where.roots.map((r) => r.uri).join(',')}`);
});
// One question after the other: two rounds.
server.registerTool('two_step', { description: 'Two sequential elicitations.' }, async (extra) => {
  const first = await elicit(extra, 'name?', 'name');
  const second = await elicit(extra, 'color?', 'color');
  return text(`${first.content?.name} likes ${second.content?.color}`);
});
server.registerTool('confirm', { description: 'One elicitation.' }, async (extra) => {
  const r = await elicit(extra, 'name?', 'name');
  return text(`Hello, ${r.content?.name} (${r.action})`);
});
// Elicitation, then sampling: a host without the elicitation capability is asked only the
// sampling (the elicitation is declined for it).
server.registerTool('elicit_then_sample', { description: 'Elicits, then samples.' }, async (extra) => {
  const r = await elicit(extra, 'name?', 'name');
  const llm = await sample(extra, 'Capital of France?');
  return text(`elicitation=${r.action} llm=${llm.content.text}`);
});
server.registerTool('sample_only', { description: 'Needs sampling.' }, async (extra) => {
  try {
    return text(`llm=${(await sample(extra, 'Capital of France?')).content.text}`);
  } catch (e) {
    return { isError: true, ...text(`no sampling: ${e.message}`) };
  }
});
server.registerPrompt('topic_prompt', { description: 'Asks for a topic first.' }, async (extra) => {
  const r = await elicit(extra, 'topic?', 'topic');
  return { messages: [{ role: 'user', content: { type: 'text', text: `Tell me about ${r.content?.topic}` } }] };
});

await server.connect(new StdioServerTransport());
