/**
 * Convert to Python File (SPEC §4): a notebook becomes a `.py` that runs under plain `python3`
 * as a training job's boot file.
 *
 * - Code cells in order, each after a `# %%` marker (the percent format VS Code, PyCharm and
 *   Jupytext read); markdown and raw cells become `# %% [markdown]` / `# %% [raw]` comments.
 * - `!cmd` → `_shell("cmd")`, `x = !cmd` → `x = _shell("cmd", capture=True)`.
 * - `%%bash` / `%%sh` cells → `_run_cell("bash", body)`.
 * - Other magics and IPython-only syntax (`obj?`, autocall) become comments with a note; in an
 *   indented block the line becomes `pass  # …` so the block stays valid. Cell magics whose body
 *   is Python (`%%time`, `%%capture`…) keep the body; others comment it out.
 */
import { classify, logicalLineStarts } from './ipython-lines';
import { SHELL_HELPERS } from './python-helpers';

export interface NotebookCell {
  cell_type: 'code' | 'markdown' | 'raw';
  source: string | string[];
}

export interface NotebookLike {
  cells: NotebookCell[];
  metadata?: { kernelspec?: { language?: string }; language_info?: { name?: string } };
  nbformat: number;
}

export interface Conversion {
  source: string;
  /** Human-readable notes, one per line that was commented out. */
  notes: string[];
}

const NOTE = '[nbgateway]';
const PYTHON_BODY_CELL_MAGICS = new Set(['time', 'timeit', 'capture', 'prun', 'python', 'python3']);
const SHELL_CELL_MAGICS = new Set(['bash', 'sh']);

function sourceOf(cell: NotebookCell): string {
  return Array.isArray(cell.source) ? cell.source.join('') : cell.source;
}

/** A Python string literal for any text (JSON's escapes are all valid in Python). */
function pyString(s: string): string {
  return JSON.stringify(s);
}

/** A readable literal for a multi-line cell body when it can be one. */
function pyBlock(s: string): string {
  if (!s.includes("'''") && !s.endsWith('\\') && !/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(s)) return `r'''${s}'''`;
  return pyString(s);
}

function magicNote(name: string): string {
  if (name === 'pip' || name === 'conda') {
    return `${NOTE} %${name} does not run under python3: install packages in the image (save the instance as an image) instead`;
  }
  return `${NOTE} IPython magic %${name} does not run under python3`;
}

/**
 * Converts a notebook.
 * @param name - the notebook's file name, for the header comment.
 * @throws Error when the notebook is not nbformat 4 or not Python.
 */
export function notebookToPython(nb: NotebookLike, name: string): Conversion {
  if (nb.nbformat !== 4 || !Array.isArray(nb.cells)) throw new Error('only nbformat 4 notebooks can be converted');
  const language = nb.metadata?.kernelspec?.language ?? nb.metadata?.language_info?.name ?? 'python';
  if (language.toLowerCase() !== 'python') throw new Error(`only Python notebooks can be converted to .py; this one is ${language}`);
  const notes: string[] = [];
  const body: string[] = [];
  let usesShell = false;

  nb.cells.forEach((cell, index) => {
    const src = sourceOf(cell).replace(/\r\n?/g, '\n').replace(/\n$/, '');
    if (cell.cell_type !== 'code') {
      body.push(`# %% [${cell.cell_type === 'markdown' ? 'markdown' : 'raw'}]`);
      if (src) for (const line of src.split('\n')) body.push(line ? `# ${line}` : '#');
      body.push('');
      return;
    }
    body.push('# %%');
    const lines = src === '' ? [] : src.split('\n');
    const cellMagic = lines[0] ? /^%%(\S+)\s*(.*)$/.exec(lines[0]) : null;
    let codeLines = lines;
    if (cellMagic) {
      const [, magic, args] = cellMagic as unknown as [string, string, string];
      const rest = lines.slice(1);
      if (SHELL_CELL_MAGICS.has(magic) && args.trim() === '') {
        usesShell = true;
        body.push(`_run_cell(${pyString(magic)}, ${pyBlock(rest.join('\n') + '\n')})`, '');
        return;
      }
      if (PYTHON_BODY_CELL_MAGICS.has(magic)) {
        body.push(`# ${lines[0]}  # ${NOTE} cell magic %%${magic} ignored; the cell runs as plain Python`);
        notes.push(`cell ${index + 1}: %%${magic} ignored`);
        codeLines = rest;
      } else {
        body.push(`# ${lines[0]}  # ${NOTE} cell magic %%${magic} does not run under python3; the cell is kept as comments`);
        for (const l of rest) body.push(l ? `# ${l}` : '#');
        notes.push(`cell ${index + 1}: %%${magic} commented out`);
        body.push('');
        return;
      }
    }
    const starts = logicalLineStarts(codeLines);
    codeLines.forEach((line, i) => {
      if (!starts[i]) {
        body.push(line);
        return;
      }
      const indent = /^\s*/.exec(line)![0];
      const stripped = line.slice(indent.length);
      const what = classify(stripped);
      switch (what.kind) {
        case 'python':
          body.push(line);
          break;
        case 'shell':
          usesShell = true;
          body.push(`${indent}_shell(${pyString(what.command.trim())})`);
          break;
        case 'shell-capture':
          usesShell = true;
          body.push(`${indent}${what.target ? `${what.target} = ` : ''}_shell(${pyString(what.command.trim())}, capture=True)`);
          break;
        case 'line-magic':
        case 'help':
        case 'autocall': {
          const note = what.kind === 'line-magic' ? magicNote(what.name) : `${NOTE} IPython-only syntax does not run under python3`;
          notes.push(`cell ${index + 1}: ${stripped}`);
          // Inside a block a comment alone would leave the block empty.
          body.push(indent ? `${indent}pass  # ${stripped}  # ${note}` : `# ${stripped}  # ${note}`);
          break;
        }
      }
    });
    body.push('');
  });

  const header = [
    `# Converted from ${name} by nbgateway. Run it with: python3 ${name.replace(/\.ipynb$/, '.py')}`,
    '# Cells are marked with "# %%" (VS Code, PyCharm and Jupytext read them). IPython-only lines',
    `# are comments with a ${NOTE} note; shell lines (!cmd, %%bash) run through the helpers below.`,
    ''
  ];
  const helpers = usesShell ? [SHELL_HELPERS] : [];
  return { source: [...header, ...helpers, ...body].join('\n').replace(/\n+$/, '\n'), notes };
}
