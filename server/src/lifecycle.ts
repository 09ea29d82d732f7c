/**
 * Disposal helpers (STYLE.md §17): `dispose()` is idempotent, cascades, and is the only
 * teardown path. The kernel gateway uses this module too (esbuild bundles it into the agent).
 */

/** Something that can be torn down, possibly asynchronously. */
export interface IDisposable {
  dispose(): void | Promise<void>;
}

/**
 * Holds children and disposes them in reverse registration order.
 *
 * #### Notes
 * A child that throws does not stop the others; the first error is rethrown at the end.
 */
export class DisposableStore implements IDisposable {
  private readonly _children: IDisposable[] = [];
  private _disposed = false;

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Registers a child; disposes it at once when the store is already disposed. */
  add<T extends IDisposable>(child: T): T {
    if (this._disposed) {
      void Promise.resolve(child.dispose()).catch(() => undefined);
    } else {
      this._children.push(child);
    }
    return child;
  }

  /** Registers a teardown function. */
  defer(fn: () => void | Promise<void>): void {
    this.add({ dispose: fn });
  }

  async dispose(): Promise<void> {
    if (this._disposed) return;
    this._disposed = true;
    let first: unknown;
    for (const child of this._children.splice(0).reverse()) {
      try {
        await child.dispose();
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== undefined) throw first;
  }
}
