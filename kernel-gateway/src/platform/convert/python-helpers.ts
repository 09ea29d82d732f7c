/**
 * The Python helpers a converted file carries when it uses IPython's shell syntax. They
 * reproduce IPython's behaviour under plain `python3`: `{expr}` and `$name` expand from the
 * caller's variables exactly as IPython's `var_expand` does (any failure leaves the command
 * unchanged, so `$HOME` still reaches the shell), output is flushed first so it interleaves
 * in order, a failing `!cmd` does not stop the script, and a failing `%%bash` cell raises
 * like IPython 8.
 */

export const SHELL_HELPERS = `# --- nbgateway: IPython shell syntax under plain python3 -----------------------------
import os as _nbg_os
import re as _nbg_re
import shutil as _nbg_shutil
import string as _nbg_string
import subprocess
import sys


class _NbgDollarFormatter(_nbg_string.Formatter):
    """IPython's DollarFormatter: {expr} is evaluated, $name is looked up, $$ is a literal $."""

    _dollar = _nbg_re.compile(r"(.*?)\\$(\\$?[\\w\\.]+)(?=([^']*'[^']*')*[^']*$)")

    def parse(self, fmt):
        for literal, field, spec, conversion in super().parse(fmt):
            text, start = "", 0
            for m in self._dollar.finditer(literal):
                before, name = m.group(1, 2)
                if name.startswith("$"):
                    text += before + name
                else:
                    yield text + before, name, "", None
                    text = ""
                start = m.end()
            yield text + literal[start:], field, spec, conversion

    def get_field(self, name, args, kwargs):
        return eval(name, kwargs), name


def _nbg_expand(cmd, frame):
    ns = dict(frame.f_globals)
    ns.update(frame.f_locals)
    try:
        return _NbgDollarFormatter().vformat(cmd, [], ns)
    except Exception:
        return cmd


def _shell(cmd, capture=False):
    """A notebook \`!cmd\` line: runs in the user's $SHELL, as IPython does; with capture=True
    (\`x = !cmd\`) returns its output lines."""
    cmd = _nbg_expand(cmd, sys._getframe(1))
    shell = _nbg_shutil.which(_nbg_os.environ.get("SHELL", "sh")) or "/bin/sh"
    sys.stdout.flush()
    sys.stderr.flush()
    if capture:
        return subprocess.run(cmd, shell=True, executable=shell, stdout=subprocess.PIPE, text=True).stdout.splitlines()
    subprocess.run(cmd, shell=True, executable=shell)


def _run_cell(program, body):
    """A notebook \`%%bash\` / \`%%sh\` cell: the body is the program's standard input."""
    sys.stdout.flush()
    sys.stderr.flush()
    subprocess.run([program], input=body, text=True, check=True)
# -------------------------------------------------------------------------------------
`;
