/**
 * Handing a spare kernel out to a request: what turns a kernel started ahead of time (in the
 * root directory, with no request environment) into the kernel a fresh start for this request
 * would have given.
 *
 * #### Notes
 * - The change is made inside the kernel by a silent `execute_request` (no execution count,
 *   no history, no `execute_input`, run in a throw-away namespace), before any client can see
 *   the kernel: cwd, `os.environ`, `sys.path[0]` (which `python -m ipykernel_launcher` set to
 *   the start directory), IPython's directory history `_dh`, and `__session__` where the
 *   installed ipykernel sets it from `JPY_SESSION_NAME` at start.
 * - Some variables only act when a process starts (loader, interpreter, locale, IPython's
 *   profile, and `PATH`, which picks the kernel program itself): a request that changes one
 *   of them gets a fresh kernel (`startOnlyVariable`).
 * - A spare is stale, and a fresh kernel is started instead, when the interpreter would now
 *   start differently: a `.pth` file in a site directory changed since the spare started
 *   (`pip install -e`, most installers of path hooks), or the user site-packages directory
 *   appeared (first `pip install --user`).
 */
import type { Spare } from './spare-kernels';

/** What a kernel is started for: its working directory and the request's extra variables. */
export interface HandOutRequest {
  cwd: string;
  env: Record<string, string>;
}

/** Variables read once, when the process starts: setting them in a running kernel would not act. */
const START_ONLY =
  /^(PATH|HOME|PWD|TMPDIR|TMP|TEMP|TZ|LANG|LANGUAGE|LC_.*|LD_.*|GLIBC_.*|MALLOC_.*|XDG_.*|PYTHON.*|PYDEVD.*|IPYTHON.*|JUPYTER.*|JPY_(?!SESSION_NAME$).*)$/;

/**
 * The first request variable that only a new process would take on, or undefined when all of
 * them can be set in a running kernel. A variable whose value is the one the spare was started
 * with changes nothing and does not count.
 * @param launched - the environment the spare was started with.
 */
export function startOnlyVariable(env: Record<string, string>, launched: Record<string, string>): string | undefined {
  return Object.keys(env).find(k => START_ONLY.test(k) && launched[k] !== env[k]);
}

/**
 * Runs the hand-out in the spare.
 * @returns null when the spare is now what a fresh kernel for `req` would be; otherwise why
 *   it is not (the caller discards it and starts a fresh kernel).
 */
export async function handOut(spare: Spare, req: HandOutRequest, timeoutMs: number): Promise<string | null> {
  const reply = await spare.kernel.executeSilently(handOutCode(req, spare.launchedAt), timeoutMs);
  if (!reply) return `no reply within ${timeoutMs} ms`;
  if (reply.status !== 'ok') return `${String(reply.ename)}: ${String(reply.evalue)}`;
  return null;
}

/** The Python run in the spare; the request travels as base64 JSON, so nothing in it is code. */
export function handOutCode(req: HandOutRequest, launchedAtMs: number): string {
  const payload = Buffer.from(JSON.stringify({ cwd: req.cwd, env: req.env, since: launchedAtMs / 1000 })).toString('base64');
  const program = PROGRAM.replace('@PAYLOAD@', payload);
  // exec in a new namespace: nothing of ours is left in the user's.
  return `exec(compile(__import__('base64').b64decode('${Buffer.from(program).toString('base64')}').decode(), '<nbg-spare>', 'exec'), {})`;
}

const PROGRAM = `
import base64, json, os, pathlib, site, sys

p = json.loads(base64.b64decode('@PAYLOAD@').decode())


def stale():
    user = site.getusersitepackages() if site.ENABLE_USER_SITE else None
    if user and user not in sys.path and os.path.isdir(user):
        return 'the user site-packages directory appeared: ' + user
    for d in sys.path:
        if os.path.basename(d.rstrip('/')) not in ('site-packages', 'dist-packages'):
            continue
        try:
            with os.scandir(d) as entries:
                for e in entries:
                    if e.name.endswith('.pth') and e.stat().st_mtime >= p['since']:
                        return 'changed since the spare started: ' + e.path
        except OSError:
            pass
    return None


why = stale()
if why:
    raise RuntimeError('spare kernel is stale: ' + why)
before = os.getcwd()
os.chdir(p['cwd'])
os.environ.update(p['env'])
if sys.path and sys.path[0] == before:
    sys.path[0] = os.getcwd()
ip = get_ipython()
ip.history_manager.dir_hist[:] = [pathlib.Path.cwd()]
name = p['env'].get('JPY_SESSION_NAME')
if name:
    import ipykernel.ipkernel
    try:
        with open(ipykernel.ipkernel.__file__, encoding='utf-8') as f:
            sets_session = 'JPY_SESSION_NAME' in f.read()
    except OSError:
        sets_session = False
    if sets_session:
        ip.user_ns['__session__'] = name
`;
