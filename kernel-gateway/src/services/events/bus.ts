/**
 * Server events (jupyter_server 2.x `jupyter_events`): areas emit structured events under a
 * registered schema; WebSocket subscribers of `api/events/subscribe` receive each one as
 * `{schema_id, version, timestamp, …data}`, and clients may emit under a registered schema.
 *
 * #### Notes
 * Emitting costs nothing when nobody is subscribed, so hot paths may emit freely.
 */
import type { IDisposable } from '../../../../server/src/lifecycle';

/** The schemas jupyter_server emits itself, with the same ids and versions. */
export const CONTENTS_EVENT = 'https://events.jupyter.org/jupyter_server/contents_service/v1';
export const KERNEL_ACTION_EVENT = 'https://events.jupyter.org/jupyter_server/kernel_actions/v1';

/** Checks an event's data; returns what is wrong, or null. */
export type EventValidator = (data: Record<string, unknown>) => string | null;

export type EventListener = (event: Record<string, unknown>) => void;

const CONTENTS_ACTIONS = ['get', 'create', 'save', 'upload', 'rename', 'copy', 'delete'];
const KERNEL_ACTIONS = ['start', 'interrupt', 'shutdown', 'restart'];

export class EventBus {
  private readonly _schemas = new Map<string, { version: number; validate: EventValidator }>();
  private readonly _listeners = new Set<EventListener>();

  constructor() {
    this.register(CONTENTS_EVENT, 1, d =>
      !CONTENTS_ACTIONS.includes(d.action as string) ? `"action" must be one of ${CONTENTS_ACTIONS.join(', ')}`
        : typeof d.path !== 'string' ? '"path" must be a string'
        : d.source_path !== undefined && typeof d.source_path !== 'string' ? '"source_path" must be a string' : null
    );
    this.register(KERNEL_ACTION_EVENT, 1, d =>
      !KERNEL_ACTIONS.includes(d.action as string) ? `"action" must be one of ${KERNEL_ACTIONS.join(', ')}`
        : d.status !== 'success' && d.status !== 'error' ? '"status" must be "success" or "error"' : null
    );
  }

  /** Registers a schema so that it can be emitted (by the server or by clients). */
  register(schemaId: string, version: number, validate: EventValidator): void {
    this._schemas.set(schemaId, { version, validate });
  }

  get hasListeners(): boolean {
    return this._listeners.size > 0;
  }

  /**
   * Emits an event.
   * @throws Error naming the problem when the schema is unknown or the data does not fit it.
   */
  emit(schemaId: string, version: number, data: Record<string, unknown>, timestamp?: string): void {
    const schema = this._schemas.get(schemaId);
    if (!schema) throw new Error(`Unregistered event schema "${schemaId}"; registered: ${[...this._schemas.keys()].join(', ')}`);
    if (version !== schema.version) throw new Error(`Event schema "${schemaId}" is at version ${schema.version}, not ${version}`);
    const problem = schema.validate(data);
    if (problem) throw new Error(`Event does not match "${schemaId}": ${problem}`);
    if (this._listeners.size === 0) return;
    const event = { ...data, schema_id: schemaId, version, timestamp: timestamp ?? new Date().toISOString() };
    for (const l of this._listeners) {
      try {
        l(event);
      } catch {
        /* a failing subscriber does not stop the others */
      }
    }
  }

  subscribe(listener: EventListener): IDisposable {
    this._listeners.add(listener);
    return { dispose: () => void this._listeners.delete(listener) };
  }
}
