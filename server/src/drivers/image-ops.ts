/**
 * Image operations a runtime can offer for save-as-image (SPEC §5). Only container runtimes
 * have them (Docker); `IRuntimeDriver.images` is absent on the local-process runtime, and the
 * gateway then refuses to save with a clear message.
 */
import type { DriverState, ProgressEvent } from './driver';

export interface CommitResult {
  /** The image id (`sha256:…`). */
  imageId: string;
  /** Size of the whole image in bytes, as the runtime reports it. */
  sizeBytes: number;
}

export interface IImageOperations {
  /**
   * Pauses the instance, commits its container filesystem (volumes and injected mounts are not
   * part of it) as `ref`, and resumes it. Resolves when the image exists.
   */
  commit(state: DriverState, ref: string, opts: { labels: Record<string, string>; signal?: AbortSignal; onProgress?: (e: ProgressEvent) => void }): Promise<CommitResult>;

  /** Absolute paths of root-owned setuid/setgid files in an image's filesystem. */
  privilegedFiles(ref: string, signal?: AbortSignal): Promise<string[]>;

  /** Points `to` at the image `from` names (replacing what `to` named before). */
  tag(from: string, to: string): Promise<void>;

  /** Removes an image by reference; a missing image is not an error. */
  removeImage(ref: string): Promise<void>;

  /**
   * Tags `ref` as `target` (a registry reference) and pushes it.
   * @returns the manifest digest (`sha256:…`) the registry reported.
   */
  push(ref: string, target: string, signal?: AbortSignal): Promise<{ digest: string }>;
}
