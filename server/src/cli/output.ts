/**
 * How `nbg` writes: tables and messages for people, `--json` for scripts, progress bars on
 * a terminal (stderr, so stdout stays clean for pipes).
 */

export interface Output {
  json: boolean;
  /** Data for stdout: JSON with `--json`, else the text form. */
  result(data: unknown, text: () => string): void;
  /** A line for people on stderr (never mixed into `--json` stdout). */
  note(message: string): void;
  progress(): ProgressBar;
}

export interface ProgressBar {
  update(percent: number | null, label: string, message: string): void;
  done(): void;
}

export function createOutput(json: boolean, stdout: NodeJS.WriteStream = process.stdout, stderr: NodeJS.WriteStream = process.stderr): Output {
  return {
    json,
    result(data, text) {
      stdout.write(json ? JSON.stringify(data, null, 2) + '\n' : text() + '\n');
    },
    note(message) {
      stderr.write(message + '\n');
    },
    progress() {
      return stderr.isTTY ? new TtyBar(stderr) : new LineProgress(stderr);
    }
  };
}

const WIDTH = 24;

/** One redrawn line: `STARTING [#########---------]  45%  starting the kernel gateway`. */
class TtyBar implements ProgressBar {
  private _shown = false;
  constructor(private readonly _s: NodeJS.WriteStream) {}

  update(percent: number | null, label: string, message: string): void {
    const p = percent === null ? 0 : Math.max(0, Math.min(100, percent));
    const filled = Math.round((p / 100) * WIDTH);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(WIDTH - filled)}`;
    const line = `${label.padEnd(10)} ${bar} ${String(Math.round(p)).padStart(3)}%  ${message}`;
    const cols = this._s.columns || 100;
    this._s.write(`\r\x1b[2K${line.slice(0, cols - 1)}`);
    this._shown = true;
  }

  done(): void {
    if (this._shown) this._s.write('\n');
    this._shown = false;
  }
}

/** Not a terminal (CI logs): one line per change. */
class LineProgress implements ProgressBar {
  private _last = '';
  constructor(private readonly _s: NodeJS.WriteStream) {}

  update(percent: number | null, label: string, message: string): void {
    const line = `${label}${percent === null ? '' : ` ${Math.round(percent)}%`}: ${message}`;
    if (line !== this._last) this._s.write(line + '\n');
    this._last = line;
  }

  done(): void {}
}

/** A plain text table with a header row. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  if (!rows.length) return '(none)';
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)));
  const fmt = (r: readonly string[]): string => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [fmt(headers), ...rows.map(fmt)].join('\n');
}

/** `2026-11-22T10:00:00.000Z` → `2026-11-22 10:00` (UTC), or `-`. */
export function shortTime(iso: string | null | undefined): string {
  return iso ? iso.slice(0, 16).replace('T', ' ') : '-';
}
