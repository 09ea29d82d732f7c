/**
 * Structured JSON-lines logger (STYLE.md §15). One object per line on stderr so that the
 * runtime driver can keep it in the instance's agent log. Tokens are never passed in here.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger whose lines all carry `subject` (e.g. `{ kernel: id }`). */
  child(subject: Record<string, unknown>): Logger;
}

/**
 * Creates the root logger.
 * @param level - lines below this level are dropped.
 * @param write - sink for one serialised line (stderr by default; tests capture it).
 */
export function createLogger(
  level: LogLevel = 'info',
  write: (line: string) => void = line => process.stderr.write(line),
  subject: Record<string, unknown> = {}
): Logger {
  const min = ORDER[level];
  const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (ORDER[lvl] < min) return;
    const rec: Record<string, unknown> = { time: new Date().toISOString(), level: lvl, msg, ...subject, ...fields };
    const err = rec.err;
    if (err instanceof Error) {
      rec.err = lvl === 'error' ? { message: err.message, stack: err.stack } : err.message;
    }
    write(JSON.stringify(rec) + '\n');
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: s => createLogger(level, write, { ...subject, ...s })
  };
}
