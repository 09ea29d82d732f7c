/**
 * A small argv parser for `nbg`: positionals, `--flag value`, `--flag=value`, booleans.
 */

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string | true>;
}

/**
 * @param booleans - flags that take no value (`--json`, `--yes`).
 */
export function parseArgs(argv: readonly string[], booleans: ReadonlySet<string>): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      if (booleans.has(name)) {
        if (eq > 0) throw new UsageError(`--${name} takes no value`);
        flags.set(name, true);
      } else if (eq > 0) {
        flags.set(name, a.slice(eq + 1));
      } else {
        const v = argv[++i];
        if (v === undefined) throw new UsageError(`--${name} needs a value`);
        flags.set(name, v);
      }
    } else if (a.startsWith('-') && a.length > 1 && !/^-\d/.test(a)) {
      throw new UsageError(`unknown option ${a}; options are --long-form`);
    } else {
      positionals.push(a);
    }
  }
  return { positionals, flags };
}

/** Typed access to parsed flags, refusing unknown ones. */
export class Flags {
  private readonly _used = new Set<string>();

  constructor(private readonly _p: ParsedArgs) {}

  get positionals(): string[] {
    return this._p.positionals;
  }

  string(name: string): string | undefined {
    this._used.add(name);
    const v = this._p.flags.get(name);
    if (v === true) throw new UsageError(`--${name} needs a value`);
    return v;
  }

  bool(name: string): boolean {
    this._used.add(name);
    return this._p.flags.get(name) === true;
  }

  number(name: string): number | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${v}"`);
    return n;
  }

  /** Call after reading every flag the command knows. */
  done(maxPositionals: number): void {
    const unknown = [...this._p.flags.keys()].filter(k => !this._used.has(k));
    if (unknown.length) throw new UsageError(`unknown option(s) ${unknown.map(k => `--${k}`).join(', ')}`);
    if (this._p.positionals.length > maxPositionals) throw new UsageError(`unexpected argument(s): ${this._p.positionals.slice(maxPositionals).join(' ')}`);
  }
}
