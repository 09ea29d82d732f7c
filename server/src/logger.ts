/**
 * The root logger (pino) and the rules for what may be logged (STYLE.md §15): structured
 * lines with a stable subject, URLs without query strings, never a token or credential.
 */
import { pino, destination as pinoDestination, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** Paths redacted anywhere they appear in a log record. */
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  'token',
  'password',
  '*.token',
  '*.password',
  '*.agentToken',
  '*.secretAccessKey'
];

export function createLogger(level: LevelWithSilent = 'info', destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { svc: 'nbgateway' },
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime
    },
    destination ?? pinoDestination({ dest: 2, sync: false })
  );
}

/** A URL path safe to log: the query string (which may carry `?token=`) is dropped. */
export function loggableUrl(url: string | undefined): string {
  if (!url) return '';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}
