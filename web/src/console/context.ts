/**
 * What every console page receives, and the page contract.
 */
import type { InstanceAPIClient } from './api/restapi';
import type { Me } from './api/wire';

export interface AppContext {
  readonly api: InstanceAPIClient;
  readonly me: Me;
  navigate(hash: string): void;
}

/** A rendered page; `dispose()` stops its timers and streams when the user leaves it. */
export interface PageView {
  readonly el: HTMLElement;
  readonly title: string;
  dispose?(): void;
}

export type PageFactory = (ctx: AppContext, params: Record<string, string>, query: URLSearchParams) => Promise<PageView> | PageView;

/** Runs `fn` every `ms` until disposed; errors are kept from breaking the loop. */
export function every(ms: number, fn: () => Promise<void> | void): { dispose(): void } {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let stopped = false;
  const tick = async (): Promise<void> => {
    try {
      await fn();
    } catch {
      /* the next tick retries; pages show their own errors */
    }
    if (!stopped) timer = setTimeout(() => void tick(), ms);
  };
  timer = setTimeout(() => void tick(), ms);
  return {
    dispose() {
      stopped = true;
      if (timer) clearTimeout(timer);
    }
  };
}
