/** Running code in a kernel through `@jupyterlab/services`, as JupyterLab does, from tests. */
import type { Kernel } from '@jupyterlab/services';

/** Executes `code` and resolves with what it printed (stream output) once the reply is in. */
export async function execStdout(kernel: Kernel.IKernelConnection, code: string): Promise<string> {
  let out = '';
  const f = kernel.requestExecute({ code });
  f.onIOPub = m => {
    if (m.header.msg_type === 'stream') out += String((m.content as { text: string }).text);
  };
  await f.done;
  return out;
}
