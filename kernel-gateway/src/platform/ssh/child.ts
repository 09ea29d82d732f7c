/**
 * The process behind an SSH session channel, with pipes (exec, subsystems, shells without
 * a pty) or with a pty (node-pty), behind one small interface so the channel code does not
 * care which.
 *
 * #### Notes
 * - Every child leads its own process group (pipes: `detached`; ptys: a new session), so a
 *   `signal` request or a hang-up reaches the command's whole job, and the agent is never hit.
 * - A hang-up is SIGHUP, as a closing terminal sends: processes started with `nohup` (VS Code
 *   Remote-SSH's server) survive the session, everything else stops.
 * - Exit is reported after the output has been read to the end (pipes: 'close', not 'exit'),
 *   so the exit status never overtakes the last bytes.
 */
import { spawn as spawnProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import type { PtySpec } from '../../../../server/src/ssh/agent-protocol';

export type ExitStatus = { code: number } | { signal: string; core: boolean };

export interface ChildEvents {
  onData(stream: 'stdout' | 'stderr', data: Buffer): void;
  onExit(status: ExitStatus): void;
  onError(err: Error): void;
}

export interface ISessionChild {
  readonly pid: number;
  /** Writes to stdin; false when the caller should wait for `onDrain`. */
  write(data: Buffer): boolean;
  onDrain(cb: () => void): void;
  /** The client's EOF. Ignored on a pty, as sshd does (a pty cannot be half-closed). */
  endInput(): void;
  resize(cols: number, rows: number): void;
  /** Sends `SIG<name>` to the foreground job. */
  signal(name: string): void;
  /** SIGHUP to the session's process group; SIGKILL when `force`. */
  hangup(force?: boolean): void;
  pause(): void;
  resume(): void;
  /** With a pty: whether a job other than the shell holds the terminal's foreground. */
  foregroundJob(): boolean;
}

export interface SpawnSpec {
  file: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  pty?: PtySpec;
}

/** Spawns with pipes, or with a pty when `spec.pty` is set. */
export async function spawnSessionChild(spec: SpawnSpec, events: ChildEvents): Promise<ISessionChild> {
  return spec.pty ? spawnPty(spec, spec.pty, events) : spawnPiped(spec, events);
}

async function spawnPiped(spec: SpawnSpec, events: ChildEvents): Promise<ISessionChild> {
  const child = spawnProcess(spec.file, spec.args, { cwd: spec.cwd, env: spec.env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  const pid = child.pid!;
  child.on('error', err => events.onError(err));
  child.stdout!.on('data', (d: Buffer) => events.onData('stdout', d));
  child.stderr!.on('data', (d: Buffer) => events.onData('stderr', d));
  // EPIPE when the command stops reading its input is normal, not a session error.
  child.stdin!.on('error', () => undefined);
  child.once('close', (code, signal) => {
    events.onExit(signal ? { signal: signal.replace(/^SIG/, ''), core: false } : { code: code ?? 0 });
  });
  const group = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        child.kill(sig);
      } catch {
        /* already gone */
      }
    }
  };
  // Frames that arrive in one socket read go to the pipe in one writev: corked until the tick ends.
  let corked = false;
  const uncork = (): void => {
    corked = false;
    child.stdin!.uncork();
  };
  return {
    pid,
    write: data => {
      if (!corked) {
        corked = true;
        child.stdin!.cork();
        process.nextTick(uncork);
      }
      return child.stdin!.write(data);
    },
    onDrain: cb => child.stdin!.once('drain', cb),
    endInput: () => child.stdin!.end(),
    resize: () => undefined,
    signal: name => group(`SIG${name}` as NodeJS.Signals),
    hangup: force => group(force ? 'SIGKILL' : 'SIGHUP'),
    pause: () => {
      child.stdout!.pause();
      child.stderr!.pause();
    },
    resume: () => {
      child.stdout!.resume();
      child.stderr!.resume();
    },
    foregroundJob: () => false
  };
}

async function spawnPty(spec: SpawnSpec, pty: PtySpec, events: ChildEvents): Promise<ISessionChild> {
  // Loaded lazily: the agent still serves exec and sftp where node-pty is not built.
  const { spawn } = await import('node-pty');
  const term = spawn(spec.file, spec.args, {
    name: pty.term || 'xterm',
    cols: pty.cols > 0 ? pty.cols : 80,
    rows: pty.rows > 0 ? pty.rows : 24,
    cwd: spec.cwd,
    env: spec.env as Record<string, string>,
    // Raw bytes: the client's terminal decodes them, not us.
    encoding: null
  });
  term.onData(d => events.onData('stdout', d as unknown as Buffer));
  term.onExit(({ exitCode, signal }) => {
    const name = signal ? signalName(signal) : undefined;
    events.onExit(name ? { signal: name, core: false } : { code: exitCode });
  });
  const pid = term.pid;
  return {
    pid,
    write: data => {
      term.write(data as unknown as string);
      return true;
    },
    onDrain: cb => setImmediate(cb),
    endInput: () => undefined,
    resize: (cols, rows) => {
      if (cols > 0 && rows > 0) term.resize(cols, rows);
    },
    signal: name => {
      // The foreground job of the terminal, as Ctrl-C would reach it, else the shell.
      const target = foregroundGroup(pid);
      try {
        if (target) process.kill(-target, `SIG${name}` as NodeJS.Signals);
        else term.kill(`SIG${name}`);
      } catch {
        /* gone */
      }
    },
    hangup: force => {
      try {
        process.kill(-pid, force ? 'SIGKILL' : 'SIGHUP');
      } catch {
        try {
          term.kill(force ? 'SIGKILL' : 'SIGHUP');
        } catch {
          /* gone */
        }
      }
    },
    pause: () => term.pause(),
    resume: () => term.resume(),
    foregroundJob: () => {
      const fg = foregroundGroup(pid);
      return fg !== null && fg !== pid;
    }
  };
}

/** The terminal's foreground process group (`tpgid`, field 8 of /proc/<pid>/stat). */
function foregroundGroup(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const tpgid = Number(fields[5]);
    return tpgid > 0 ? tpgid : null;
  } catch {
    return null;
  }
}

function signalName(n: number): string | undefined {
  for (const [name, num] of Object.entries(constants.signals)) if (num === n) return name.replace(/^SIG/, '');
  return undefined;
}
