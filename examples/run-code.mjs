#!/usr/bin/env node
// Runs Python code in a notebook instance through the gateway with JupyterLab's own client.
//
//   node examples/run-code.mjs <gateway URL> <instance id> '<code>'      (token in NBG_TOKEN)
//
// Prints the stream output and the execute result; exits non-zero when the code raised.
import WebSocket from 'ws';
import { KernelManager, ServerConnection } from '@jupyterlab/services';

const [gateway, id, code] = process.argv.slice(2);
const token = process.env.NBG_TOKEN;
if (!gateway || !id || code === undefined || !token) {
  console.error("usage: NBG_TOKEN=<token> node examples/run-code.mjs <gateway URL> <instance id> '<code>'");
  process.exit(2);
}
// @jupyterlab/services narrates its WebSocket on the console; keep stdout for the output.
console.log = console.info = console.debug = () => {};
const base = `${gateway.replace(/\/$/, '')}/notebooks/${id}/`;
const serverSettings = ServerConnection.makeSettings({
  baseUrl: base, wsUrl: base.replace(/^http/, 'ws'), token, appendToken: true, WebSocket
});
const kernels = new KernelManager({ serverSettings });
await kernels.ready;
const kernel = await kernels.startNew({ name: 'python3' });
const future = kernel.requestExecute({ code });
future.onIOPub = msg => {
  const c = msg.content;
  if (msg.header.msg_type === 'stream') process.stdout.write(c.text);
  if (msg.header.msg_type === 'execute_result') process.stdout.write(`${c.data['text/plain']}\n`);
  if (msg.header.msg_type === 'error') console.error(c.traceback.join('\n'));
};
const reply = await future.done;
await kernel.shutdown();
kernels.dispose();
process.exit(reply.content.status === 'ok' ? 0 : 1);
