/**
 * Calls from the gateway to an instance's agent (kernel gateway) on its platform endpoints
 * (`<base>api/nbg/*`), with the agent token. The agent answers in Jupyter's error dialect
 * (`{ message, reason }`); failures become `HttpError`s with the agent's status and message.
 */
import { HttpError, Errors } from '../errors';
import type { OpenTarget } from './instance';
import { instanceBaseUrl } from './manager';

export interface AgentResponse<T> {
  status: number;
  body: T;
}

/**
 * Sends a JSON request to the agent.
 * @param path - relative to the instance's base URL, e.g. `api/nbg/convert`.
 * @throws HttpError carrying the agent's status and message for 4xx; INSTANCE_UNREACHABLE when it
 *   cannot be reached or answers 5xx.
 */
export async function callAgent<T>(
  target: OpenTarget,
  method: string,
  path: string,
  body?: unknown,
  opts: { timeoutMs?: number } = {}
): Promise<AgentResponse<T>> {
  const url = `http://${target.endpoint.host}:${target.endpoint.port}${instanceBaseUrl(target.instanceId)}${path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { Authorization: `token ${target.agentToken}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 60_000)
    });
  } catch (err) {
    throw Errors.INSTANCE_UNREACHABLE((err as Error).message);
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = { message: text };
  }
  if (res.status >= 500) throw Errors.INSTANCE_UNREACHABLE(`the agent answered ${res.status}: ${(json as { message?: string })?.message ?? ''}`);
  if (res.status >= 400) {
    throw new HttpError(res.status, 'NB_ERR_AGENT_REFUSED', (json as { message?: string })?.message ?? `the instance refused the request (${res.status})`);
  }
  return { status: res.status, body: json as T };
}
