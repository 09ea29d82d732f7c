/**
 * Save-as-image operations on Docker (SPEC §5): commit a paused container, look for privileged
 * files in an image, tag, push, remove.
 *
 * #### Notes
 * - The committed image's configuration is the base image's, not the container's: the
 *   container's environment carries the agent token and the gateway's injected command, and
 *   Docker's commit would otherwise merge them in. Keys only the container has are set empty.
 * - Privileged files are found by running `find` as root in a throw-away, network-less
 *   container of the committed image itself, so what is checked is exactly what was saved.
 */
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import type { DriverState } from '../driver';
import type { CommitResult, IImageOperations } from '../image-ops';

/** How to find the container of an instance from its driver state. */
export type ContainerOf = (state: DriverState) => string;

function splitRef(ref: string): { repo: string; tag: string } {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return colon > slash ? { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) } : { repo: ref, tag: 'latest' };
}

function envKey(e: string): string {
  const eq = e.indexOf('=');
  return eq === -1 ? e : e.slice(0, eq);
}

const isMissing = (err: unknown): boolean => (err as { statusCode?: number }).statusCode === 404;

export class DockerImageOps implements IImageOperations {
  constructor(
    private readonly _docker: Docker,
    private readonly _containerOf: ContainerOf
  ) {}

  async commit(state: DriverState, ref: string, opts: { labels: Record<string, string> }): Promise<CommitResult> {
    const container = this._docker.getContainer(this._containerOf(state));
    const info = await container.inspect();
    const base = await this._docker.getImage(info.Image).inspect();
    const baseEnv = base.Config?.Env ?? [];
    const baseKeys = new Set(baseEnv.map(envKey));
    const cleared = (info.Config.Env ?? []).map(envKey).filter(k => !baseKeys.has(k)).map(k => `${k}=`);
    const { repo, tag } = splitRef(ref);
    const config = {
      Env: [...baseEnv, ...cleared],
      Cmd: base.Config?.Cmd ?? null,
      Entrypoint: base.Config?.Entrypoint ?? null,
      User: base.Config?.User ?? '',
      WorkingDir: base.Config?.WorkingDir ?? '',
      Labels: { ...(base.Config?.Labels ?? {}), ...opts.labels }
    };
    // dockerode forwards the object as the request body (the image config) and the rest as query.
    const res = (await container.commit({ repo, tag, pause: true, comment: 'saved by nbgateway', ...config })) as { Id?: string };
    const image = await this._docker.getImage(res.Id ?? ref).inspect();
    return { imageId: image.Id, sizeBytes: image.Size };
  }

  async privilegedFiles(ref: string): Promise<string[]> {
    const container = await this._docker.createContainer({
      Image: ref,
      Entrypoint: ['find'],
      Cmd: ['/', '-xdev', '-type', 'f', '-uid', '0', '(', '-perm', '-4000', '-o', '-perm', '-2000', ')', '-print'],
      User: '0',
      NetworkDisabled: true,
      Labels: { 'nbgateway.purpose': 'image-check' },
      HostConfig: { NetworkMode: 'none', AutoRemove: false, ReadonlyRootfs: true }
    });
    try {
      const stream = await container.attach({ stream: true, stdout: true, stderr: true });
      const chunks: Buffer[] = [];
      const errChunks: Buffer[] = [];
      const sink = (into: Buffer[]): NodeJS.WritableStream => new PassThrough().on('data', (c: Buffer) => into.push(c));
      this._docker.modem.demuxStream(stream, sink(chunks), sink(errChunks));
      const drained = new Promise<void>(resolve => stream.once('end', () => resolve()));
      await container.start();
      const { StatusCode } = (await container.wait()) as { StatusCode: number };
      await Promise.race([drained, new Promise(r => setTimeout(r, 2_000))]);
      // find exits 1 when some directories are unreadable; the list it printed still stands.
      if (StatusCode > 1) throw new Error(`find failed in the image (${StatusCode}): ${Buffer.concat(errChunks).toString().slice(0, 500)}`);
      return Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean).sort();
    } finally {
      await container.remove({ force: true }).catch(() => undefined);
    }
  }

  async tag(from: string, to: string): Promise<void> {
    const { repo, tag } = splitRef(to);
    await this._docker.getImage(from).tag({ repo, tag });
  }

  async removeImage(ref: string): Promise<void> {
    // A check container left by a gateway that died mid-check holds the image.
    const checks = await this._docker.listContainers({ all: true, filters: { label: ['nbgateway.purpose=image-check'], ancestor: [ref] } }).catch(() => []);
    for (const c of checks) await this._docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
    try {
      await this._docker.getImage(ref).remove({});
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
  }

  async push(ref: string, target: string): Promise<{ digest: string }> {
    await this.tag(ref, target);
    try {
      // dockerd wants an X-Registry-Auth header even for registries without authentication.
      const stream = await this._docker.getImage(target).push({ authconfig: { username: '', password: '', serveraddress: target.split('/')[0] } });
      const events = await new Promise<Array<{ error?: string; aux?: { Digest?: string } }>>((resolve, reject) =>
        this._docker.modem.followProgress(stream, (err: Error | null, out: unknown[]) => (err ? reject(err) : resolve(out as never)))
      );
      const failed = events.find(e => e.error);
      if (failed) throw new Error(`push to ${target} failed: ${failed.error}`);
      const digest = events.find(e => e.aux?.Digest)?.aux?.Digest;
      if (!digest) throw new Error(`push to ${target} reported no digest`);
      return { digest };
    } finally {
      // The local registry tag is only a vehicle for the push.
      await this._docker.getImage(target).remove({ noprune: true }).catch(() => undefined);
    }
  }
}
