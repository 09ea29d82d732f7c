/**
 * Finds where logical lines start in a code cell, as Python's tokenizer would: not inside a
 * (triple-)quoted string, not inside brackets, not after a backslash continuation. IPython
 * applies its escapes (`!cmd`, `%magic`, `obj?`) only there, and so do we.
 */

/** For each physical line, whether it starts a logical line. */
export function logicalLineStarts(lines: readonly string[]): boolean[] {
  const starts: boolean[] = [];
  let triple: '"""' | "'''" | null = null;
  let depth = 0;
  let continued = false;
  for (const line of lines) {
    starts.push(triple === null && depth === 0 && !continued);
    continued = false;
    let single: '"' | "'" | null = null;
    for (let i = 0; i < line.length; i++) {
      const c = line[i]!;
      if (triple) {
        if (c === '\\') i++;
        else if (line.startsWith(triple, i)) {
          i += 2;
          triple = null;
        }
        continue;
      }
      if (single) {
        if (c === '\\') i++;
        else if (c === single) single = null;
        continue;
      }
      if (c === '#') break;
      if (c === '"' || c === "'") {
        const three = c.repeat(3) as '"""' | "'''";
        if (line.startsWith(three, i)) {
          triple = three;
          i += 2;
        } else {
          single = c;
        }
      } else if (c === '(' || c === '[' || c === '{') {
        depth++;
      } else if (c === ')' || c === ']' || c === '}') {
        depth = Math.max(0, depth - 1);
      } else if (c === '\\' && i === line.length - 1) {
        continued = true;
      }
    }
    // A single-quoted string cannot span lines (without a backslash); the tokenizer would
    // fail, and so would IPython: nothing to track.
  }
  return starts;
}

/** What an IPython-only logical line is. */
export type IPythonLine =
  | { kind: 'python' }
  | { kind: 'shell'; command: string }
  | { kind: 'shell-capture'; target: string | null; command: string }
  | { kind: 'line-magic'; name: string; args: string }
  | { kind: 'help' }
  | { kind: 'autocall' };

// IPython's own patterns (IPython/core/inputtransformer2.py).
const ASSIGN_SYSTEM = /^([\w.]+(?:\s*,\s*[\w.]+)*)\s*=\s*!+(.*)$/;
const ASSIGN_MAGIC = /^([\w.]+(?:\s*,\s*[\w.]+)*)\s*=\s*%+(.*)$/;
const HELP = /^(\?{1,2}\s*\S.*|%{0,2}[A-Za-z_*][\w*]*(?:\.[A-Za-z_*][\w*]*)*\?{1,2})$/;

/**
 * Classifies one logical line (without its indentation).
 */
export function classify(stripped: string): IPythonLine {
  if (stripped.startsWith('!!')) return { kind: 'shell-capture', target: null, command: stripped.slice(2) };
  if (stripped.startsWith('!')) return { kind: 'shell', command: stripped.slice(1) };
  if (stripped.startsWith('%')) {
    const body = stripped.replace(/^%+/, '');
    const m = /^(\S*)\s*(.*)$/.exec(body)!;
    return { kind: 'line-magic', name: m[1]!, args: m[2]! };
  }
  const sys = ASSIGN_SYSTEM.exec(stripped);
  if (sys) return { kind: 'shell-capture', target: sys[1]!, command: sys[2]! };
  const mag = ASSIGN_MAGIC.exec(stripped);
  if (mag) {
    const m = /^(\S*)\s*(.*)$/.exec(mag[2]!)!;
    return { kind: 'line-magic', name: m[1]!, args: m[2]! };
  }
  if (HELP.test(stripped)) return { kind: 'help' };
  if (/^[/,;]\S/.test(stripped)) return { kind: 'autocall' };
  return { kind: 'python' };
}
