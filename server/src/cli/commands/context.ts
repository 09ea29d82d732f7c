/**
 * What every command gets: parsed flags, output, and a client for the signed-in gateway.
 */
import type { Flags } from '../args';
import { ApiClient } from '../client';
import { loadCliConfig } from '../config-store';
import type { Output } from '../output';

export class NotSignedIn extends Error {
  constructor() {
    super('not signed in: run "nbg login <gateway URL>" (or set NBG_URL and NBG_TOKEN)');
    this.name = 'NotSignedIn';
  }
}

export interface CommandContext {
  flags: Flags;
  out: Output;
  env: NodeJS.ProcessEnv;
  /** The signed-in client. @throws NotSignedIn */
  client(): Promise<ApiClient>;
}

export function makeContext(flags: Flags, out: Output, env: NodeJS.ProcessEnv): CommandContext {
  return {
    flags, out, env,
    async client() {
      const c = await loadCliConfig(env);
      if (!c.url || !c.token) throw new NotSignedIn();
      return new ApiClient(c.url.replace(/\/+$/, ''), c.token);
    }
  };
}

export type Command = (ctx: CommandContext) => Promise<void>;
