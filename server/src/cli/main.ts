/**
 * `nbg`: the command-line client of the gateway's REST API (issue 5); `nbg.ts` is the
 * executable entry, built to `server/dist/nbg.cjs`.
 *
 * Exit codes: 0 done; 1 the gateway refused or failed (its message is printed); 2 usage;
 * 3 not signed in.
 */
import { Flags, UsageError, parseArgs } from './args';
import { ApiError } from './client';
import { createOutput } from './output';
import { NotSignedIn, makeContext, type Command } from './commands/context';
import { login, logout, whoami } from './commands/account';
import { create, lease, list, logs, open, remove, renew, start, stop } from './commands/notebooks';
import { flavors, images, jobs } from './commands/catalogue';
import { convert, customImages, saveImage } from './commands/images';
import { sshConfig } from './commands/ssh';
import { storage, sync } from './commands/storage';

const COMMANDS: Record<string, Command> = {
  login, logout, whoami, list, ls: list, create, start, stop, delete: remove, rm: remove, open, logs, lease, renew, images, flavors, jobs, 'ssh-config': sshConfig,
  convert, 'save-image': saveImage, 'custom-images': customImages, sync, storage
};

const BOOLEANS = new Set(['json', 'yes', 'all', 'no-wait', 'password-stdin', 'help', 'print', 'force', 'replace', 'delete', 'dry-run', 'recursive', 'events']);

export const HELP = `nbg: notebook instances from the command line

  nbg login [URL] [--username U] [--password-stdin | --token T]   sign in; the token is kept in ~/.config/nbg/
  nbg logout | whoami
  nbg list [--all]                                  your instances (admins: --all for everyone's)
  nbg create NAME --image IMG [--flavor F] [--storage local|obs] [--size GB]
             [--description D] [--idle MIN] [--timing HOURS] [--no-wait]
                                                    create and start; a progress bar follows the start
  nbg start|stop NAME [--no-wait] [--timeout S]     start or stop and wait for it
  nbg delete NAME --yes                             delete a stopped instance
  nbg open NAME                                     print the JupyterLab URL
  nbg logs NAME [--tail N]                          what its kernel gateway and kernels wrote (last N lines, 100)
  nbg logs NAME --events [--limit N]                what happened to the instance (audit trail, last start)
  nbg lease NAME [--idle MIN|off] [--timing H|off]  show or set auto-stop;  nbg renew NAME [--timing H]
  nbg images | flavors                              the catalogue
  nbg convert NAME NOTEBOOK [--name F.py] [--force] write NOTEBOOK's .py next to it (never overwrites without --force)
  nbg save-image NAME IMAGE[:TAG] [--description D] [--replace]
                                                    save a running instance as a custom image
  nbg custom-images [--all] | custom-images rm IMAGE:TAG --yes
  nbg jobs [--all] | nbg jobs logs JOB [VERSION] [--task N]   training jobs
  nbg ssh-config [--identity-file PATH] [--prefix nbg-] [--print]
                                                    ~/.ssh/config entries (Host nbg-NAME) for ssh, VS Code, PyCharm
  nbg storage [ls [PREFIX] [--recursive]]           your object-storage root, and what is in it
  nbg sync NAME push [PATH] [--to PREFIX] [--delete [--max-delete N]] [--dry-run] [--no-wait]
  nbg sync NAME pull [PATH] [--from PREFIX] [--delete [--max-delete N]] [--dry-run] [--no-wait]
                                                    ~/work (or PATH in it) ↔ PREFIX of your root (default
                                                    notebooks/NAME/); unchanged files are skipped
  nbg sync NAME obs SOURCE… [--into PATH]           Sync OBS: objects/folders of an obs instance → ~/work
  nbg sync NAME status [ID] | cancel ID             recent syncs; cancel one (running it again resumes)

Every command takes --json for machine-readable output. NBG_URL and NBG_TOKEN override the
saved sign-in. NAME is an instance name or id.`;

export async function run(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [name, ...rest] = argv;
  const json = rest.includes('--json');
  const out = createOutput(json);
  try {
    if (!name || name === 'help' || name === '--help' || name === '-h') {
      process.stdout.write(HELP + '\n');
      return name ? 0 : 2;
    }
    const cmd = COMMANDS[name];
    if (!cmd) throw new UsageError(`unknown command "${name}"; run "nbg help"`);
    const flags = new Flags(parseArgs(rest, BOOLEANS));
    flags.bool('json');
    if (flags.bool('help')) {
      process.stdout.write(HELP + '\n');
      return 0;
    }
    await cmd(makeContext(flags, out, env));
    return 0;
  } catch (err) {
    const fail = (code: number, message: string, extra: Record<string, unknown> = {}): number => {
      if (json) process.stdout.write(JSON.stringify({ error: { message, ...extra } }, null, 2) + '\n');
      process.stderr.write(`nbg: ${message}\n`);
      return code;
    };
    if (err instanceof UsageError) return fail(2, err.message);
    if (err instanceof NotSignedIn) return fail(3, err.message);
    if (err instanceof ApiError) return fail(1, `${err.message}${err.code.startsWith('NB_CLI') ? '' : ` (${err.code})`}`, { code: err.code, status: err.status, ...(err.details ? { details: err.details } : {}) });
    return fail(1, (err as Error).message ?? String(err));
  }
}
