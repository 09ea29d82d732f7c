/**
 * A real single-node Slurm cluster for tests: `munged`, `slurmctld` and `slurmd` from Debian
 * (`slurmctld slurmd slurm-client munge`, see scripts/deps/test.apt), started in a temporary
 * directory with a private munge key and socket and free ports, so it never meets another
 * cluster on the machine. No systemd or cgroups needed (../shared/notes/infra.md).
 *
 * #### Notes
 * - The node declares more CPUs and memory than the machine has (`config_overrides`), so
 *   flavor-sized tasks (2 vCPU, 8 GiB each) fit; nothing enforces them without cgroups.
 * - `batch_sched_delay=0` and the builtin scheduler: a batch job starts in well under a second.
 * - Jobs run as root, like the gateway that submits them here.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SlurmCluster {
  dir: string;
  /** The slurm.conf clients must use (`SLURM_CONF`). */
  conf: string;
  /** The jobcomp/filetxt file. */
  jobCompFile: string;
  /** The node's name. */
  node: string;
  /** Runs a Slurm command against this cluster. */
  run(cmd: string, args: readonly string[]): Promise<string>;
  /** Cancels what is left, stops the daemons, removes the directory. Idempotent. */
  stop(): Promise<void>;
}

const BINARIES = ['/usr/sbin/munged', '/usr/sbin/slurmctld', '/usr/sbin/slurmd', '/usr/bin/sbatch', '/usr/bin/squeue', '/usr/bin/scontrol', '/usr/bin/scancel', '/usr/bin/sinfo'];

/** Why Slurm cannot run here (a binary is missing), or null. */
export async function slurmMissing(): Promise<string | null> {
  for (const b of BINARIES) {
    try {
      await access(b);
    } catch {
      return `${b} is missing: install slurmctld slurmd slurm-client munge (scripts/deps/test.apt; ./dev test does it)`;
    }
  }
  return null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>, logs: () => Promise<string>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise(r => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${await logs()}`);
}

/**
 * @param opts.minJobAge - seconds Slurm keeps ended jobs for `scontrol` (2 makes tests read the jobcomp file).
 */
export async function startSlurm(opts: { cpus?: number; memoryMiB?: number; minJobAge?: number } = {}): Promise<SlurmCluster> {
  const missing = await slurmMissing();
  if (missing) throw new Error(missing);
  const dir = await mkdtemp(join(tmpdir(), 'nbg-slurm-'));
  await chmod(dir, 0o755);
  const mungeDir = join(dir, 'munge');
  for (const d of [mungeDir, join(dir, 'state'), join(dir, 'spool'), join(dir, 'log')]) await mkdir(d, { recursive: true, mode: 0o755 });
  const key = join(dir, 'munge.key');
  await writeFile(key, randomBytes(1024), { mode: 0o600 });
  const socket = join(mungeDir, 'munge.sock');
  const node = hostname().split('.')[0]!;
  const conf = join(dir, 'slurm.conf');
  const jobCompFile = join(dir, 'jobcomp.txt');
  const env = { ...process.env, SLURM_CONF: conf };
  const children: ChildProcess[] = [];
  const daemon = (cmd: string, args: string[]): void => {
    const child = spawn(cmd, args, { env, stdio: 'ignore' });
    child.once('error', () => undefined);
    children.push(child);
  };
  const logs = async (): Promise<string> => {
    const parts: string[] = [];
    for (const f of ['log/slurmctld.log', `log/slurmd-${node}.log`, 'munge/munged.log']) {
      parts.push(`--- ${f}\n${(await readFile(join(dir, f), 'utf8').catch(() => '(none)')).split('\n').slice(-15).join('\n')}`);
    }
    return parts.join('\n');
  };
  const run = (cmd: string, args: readonly string[]): Promise<string> =>
    new Promise((resolve, reject) => {
      execFile(cmd, [...args], { env, timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout)));
    });

  let stopped = false;
  const cluster: SlurmCluster = {
    dir, conf, jobCompFile, node, run,
    async stop() {
      if (stopped) return;
      stopped = true;
      const ids = (await run('squeue', ['-h', '-o', '%i']).catch(() => '')).split('\n').filter(Boolean);
      if (ids.length) await run('scancel', ids).catch(() => undefined);
      for (const c of children.reverse()) {
        if (c.exitCode !== null || c.signalCode !== null) continue;
        const exited = new Promise(r => c.once('exit', r));
        c.kill('SIGTERM');
        const timer = setTimeout(() => c.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    }
  };

  try {
    daemon('/usr/sbin/munged', ['-F', '-f', `--socket=${socket}`, `--key-file=${key}`, `--log-file=${join(mungeDir, 'munged.log')}`,
      `--pid-file=${join(mungeDir, 'munged.pid')}`, `--seed-file=${join(mungeDir, 'munged.seed')}`]);
    await waitUntil('munged', 10_000, async () => (await access(socket).then(() => true)), logs);
    const [ctldPort, slurmdPort] = [await freePort(), await freePort()];
    await writeFile(conf, [
      'ClusterName=nbgtest',
      `SlurmctldHost=${node}(127.0.0.1)`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${slurmdPort}`,
      'SlurmUser=root',
      'SlurmdUser=root',
      'AuthType=auth/munge',
      'CredType=cred/munge',
      `AuthInfo=socket=${socket}`,
      `StateSaveLocation=${join(dir, 'state')}`,
      `SlurmdSpoolDir=${join(dir, 'spool')}/slurmd-%n`,
      `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
      `SlurmdPidFile=${join(dir, 'slurmd-%n.pid')}`,
      `SlurmctldLogFile=${join(dir, 'log', 'slurmctld.log')}`,
      `SlurmdLogFile=${join(dir, 'log', 'slurmd-%n.log')}`,
      // Without systemd and cgroups (infra notes).
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core_Memory',
      'DefMemPerCPU=512',
      'ReturnToService=2',
      'MailProg=/bin/true',
      'JobCompType=jobcomp/filetxt',
      `JobCompLoc=${jobCompFile}`,
      'AccountingStorageType=accounting_storage/none',
      'JobAcctGatherType=jobacct_gather/none',
      // The scheduling delay decides submit → running latency (infra notes).
      'SchedulerType=sched/builtin',
      'SchedulerParameters=batch_sched_delay=0',
      'SlurmdParameters=config_overrides',
      'KillWait=3',
      `MinJobAge=${opts.minJobAge ?? 300}`,
      `NodeName=${node} NodeAddr=127.0.0.1 CPUs=${opts.cpus ?? 16} Boards=1 SocketsPerBoard=1 CoresPerSocket=${opts.cpus ?? 16} ThreadsPerCore=1 RealMemory=${opts.memoryMiB ?? 65536} State=UNKNOWN`,
      `PartitionName=debug Nodes=${node} Default=YES MaxTime=INFINITE State=UP`,
      ''
    ].join('\n'));
    daemon('/usr/sbin/slurmctld', ['-D', '-i', '-f', conf]);
    daemon('/usr/sbin/slurmd', ['-D', '-f', conf, '-N', node]);
    await waitUntil('the Slurm node to be idle', 30_000, async () => /idle/.test(await run('sinfo', ['-h', '-N', '-o', '%T'])), logs);
    return cluster;
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}
