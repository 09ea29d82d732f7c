/**
 * Upstream connection failures: the instance is down or restarting, not a gateway bug, so
 * they answer 503 and are logged without a stack.
 */
const UPSTREAM_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET']);

export function isUpstreamError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && UPSTREAM_CODES.has(code);
}
