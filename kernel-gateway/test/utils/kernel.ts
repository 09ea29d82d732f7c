/**
 * Helpers for driving kernels in tests: run a cell with `@jupyterlab/services` and collect
 * what came back, write kernelspecs, speak the raw WebSocket protocols.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { Kernel, KernelMessage } from '@jupyterlab/services';

export interface CellResult {
  reply: KernelMessage.IExecuteReplyMsg;
  stdout: string;
  stderr: string;
  results: string[];
  errors: KernelMessage.IErrorMsg['content'][];
  iopub: KernelMessage.IIOPubMessage[];
}

/** Runs code and collects its outputs; `onStdin` answers `input()` prompts. */
export async function run(
  kernel: Kernel.IKernelConnection,
  code: string,
  onStdin?: (prompt: string) => string
): Promise<CellResult> {
  const out: Omit<CellResult, 'reply'> = { stdout: '', stderr: '', results: [], errors: [], iopub: [] };
  const future = kernel.requestExecute({ code, allow_stdin: !!onStdin });
  future.onIOPub = msg => {
    out.iopub.push(msg);
    const t = msg.header.msg_type;
    if (t === 'stream') {
      const c = (msg as KernelMessage.IStreamMsg).content;
      if (c.name === 'stdout') out.stdout += c.text;
      else out.stderr += c.text;
    } else if (t === 'execute_result') {
      out.results.push((msg as KernelMessage.IExecuteResultMsg).content.data['text/plain'] as string);
    } else if (t === 'error') {
      out.errors.push((msg as KernelMessage.IErrorMsg).content);
    }
  };
  if (onStdin) {
    future.onStdin = msg => {
      if (msg.header.msg_type === 'input_request') {
        const prompt = (msg as KernelMessage.IInputRequestMsg).content.prompt;
        future.sendInputReply({ status: 'ok', value: onStdin(prompt) }, msg.header as KernelMessage.IHeader<'input_request'>);
      }
    };
  }
  const reply = (await future.done) as KernelMessage.IExecuteReplyMsg;
  return { reply, ...out };
}

/** Writes a kernelspec named `name` under `<root>/kernels/` (a JUPYTER_PATH entry). */
export async function writeKernelSpec(root: string, name: string, spec: Record<string, unknown>): Promise<void> {
  const dir = join(root, 'kernels', name);
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'kernel.json'),
    JSON.stringify({
      argv: ['/usr/bin/python3', '-m', 'ipykernel_launcher', '-f', '{connection_file}'],
      display_name: name,
      language: 'python',
      ...spec
    })
  );
}

/** A raw WebSocket to a kernel's channels, collecting every message it receives. */
export class RawChannel {
  readonly received: Array<{ data: Buffer | string; binary: boolean }> = [];
  private readonly _waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, binary) => {
      this.received.push({ data: binary ? Buffer.from(data as Buffer) : data.toString(), binary });
      for (const w of this._waiters.splice(0)) w();
    });
  }

  static async open(url: string, protocols?: string[]): Promise<RawChannel> {
    const ws = new WebSocket(url, protocols);
    const ch = new RawChannel(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return ch;
  }

  /** Waits until `pred` holds for the messages received so far. */
  async until<T>(pred: (received: RawChannel['received']) => T | undefined | false, ms = 15_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = pred(this.received);
      if (v) return v;
      if (Date.now() > end) throw new Error(`timed out; received ${this.received.length} messages`);
      await new Promise<void>(resolve => {
        const t = setTimeout(resolve, 100);
        this._waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): Promise<void> {
    return new Promise(resolve => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

/** A legacy-protocol (JSON) client message. */
export function legacyMessage(channel: string, msgType: string, content: Record<string, unknown>, session: string): { id: string; text: string } {
  const id = `${msgType}-${Math.random().toString(36).slice(2)}`;
  const msg = {
    channel,
    header: { msg_id: id, msg_type: msgType, session, username: 'test', date: new Date().toISOString(), version: '5.3' },
    parent_header: {},
    metadata: {},
    content,
    buffers: []
  };
  return { id, text: JSON.stringify(msg) };
}

/** Parses a legacy-protocol frame (JSON text, or binary with buffers). */
export function parseLegacy(frame: { data: Buffer | string; binary: boolean }): { msg: Record<string, any>; buffers: Buffer[] } {
  if (!frame.binary) return { msg: JSON.parse(frame.data as string), buffers: [] };
  const data = frame.data as Buffer;
  const n = data.readUInt32BE(0);
  const offsets: number[] = [];
  for (let i = 0; i < n; i++) offsets.push(data.readUInt32BE(4 * (i + 1)));
  offsets.push(data.length);
  const msg = JSON.parse(data.subarray(offsets[0]!, offsets[1]!).toString('utf8'));
  const buffers: Buffer[] = [];
  for (let i = 1; i < n; i++) buffers.push(data.subarray(offsets[i]!, offsets[i + 1]!));
  return { msg, buffers };
}
