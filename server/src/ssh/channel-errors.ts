/**
 * What an SSH user is told when a channel cannot be opened on the instance.
 */
import { HttpError } from '../errors';
import { isUpstreamError } from '../proxy/upstream-errors';
import { AgentRefusedError } from './agent-link';

/** A one-line, user-facing reason for a failed channel. */
export function describeAgentError(err: unknown): string {
  if (err instanceof HttpError) return err.message;
  if (err instanceof AgentRefusedError) {
    if (err.status === 404) return 'this instance\'s agent does not serve SSH channels; restart the instance to update it';
    if (err.status === 403) return 'the instance refused the channel';
    return err.message;
  }
  if (isUpstreamError(err)) return `the instance is not answering (${(err as NodeJS.ErrnoException).code}); it may be restarting`;
  return err instanceof Error ? err.message : String(err);
}
