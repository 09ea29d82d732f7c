/**
 * Notebook-to-artifact commands (issue 8): convert a notebook to a `.py`, save an instance as
 * a custom image (with a progress bar), and remove custom images.
 */
import { UsageError } from '../args';
import { ApiError } from '../client';
import { table } from '../output';
import type { CustomImage } from '../../api/images.routes';
import type { Command } from './context';
import { resolveInstance } from './notebooks';

export const convert: Command = async ctx => {
  const name = ctx.flags.string('name');
  const force = ctx.flags.bool('force');
  ctx.flags.done(2);
  const [ref, path] = ctx.flags.positionals;
  if (!ref || !path) throw new UsageError('nbg convert <instance> <notebook path in ~/work> [--name FILE.py] [--force]');
  const api = await ctx.client();
  const inst = await resolveInstance(api, ref);
  const res = await api.request<{ path: string; overwritten: boolean; notes: string[] }>('POST', `/api/v1/notebooks/${inst.id}/convert`, {
    json: { path, ...(name ? { name } : {}), force }
  });
  ctx.out.result(res, () => [
    `${res.overwritten ? 'overwrote' : 'wrote'} ${res.path}`,
    ...res.notes.map(n => `  note: ${n}`)
  ].join('\n'));
};

export const saveImage: Command = async ctx => {
  const description = ctx.flags.string('description');
  const replace = ctx.flags.bool('replace');
  ctx.flags.done(2);
  const [ref, nameTag] = ctx.flags.positionals;
  if (!ref || !nameTag) throw new UsageError('nbg save-image <instance> <name>[:<tag>] [--description D] [--replace]');
  const colon = nameTag.lastIndexOf(':');
  const [name, tag] = colon > nameTag.lastIndexOf('/') ? [nameTag.slice(0, colon), nameTag.slice(colon + 1)] : [nameTag, 'latest'];
  const api = await ctx.client();
  const inst = await resolveInstance(api, ref);
  const bar = ctx.out.progress();
  let image: CustomImage | undefined;
  let failure: ApiError | undefined;
  try {
    await api.events(`/api/v1/notebooks/${inst.id}/images`, e => {
      if (e.event === 'progress') bar.update(Number(e.data.progress ?? 0), 'SAVING', String(e.data.message ?? ''));
      if (e.event === 'result') image = e.data as unknown as CustomImage;
      if (e.event === 'error') {
        const d = e.data as { status?: number; code?: string; message?: string; details?: Record<string, unknown> };
        failure = new ApiError(d.status ?? 500, d.code ?? 'NB_ERR_INTERNAL', d.message ?? 'the save failed', d.details);
      }
      return e.event === 'result' || e.event === 'error';
    }, undefined, { method: 'POST', json: { name, tag, ...(description !== undefined ? { description } : {}), replace } });
  } finally {
    bar.done();
  }
  if (failure) throw failure;
  if (!image) throw new Error('the gateway ended the stream without a result');
  const img = image;
  ctx.out.result(img, () => `saved ${img.name} (${((img.sizeBytes ?? 0) / 1e9).toFixed(2)} GB)${img.push ? `; push to the registry: ${img.push.status}` : ''}\n` +
    `create an instance from it: nbg create <name> --image ${img.name}`);
};

/** `nbg custom-images [--all]` and `nbg custom-images rm <name:tag> --yes`. */
export const customImages: Command = async ctx => {
  const all = ctx.flags.bool('all');
  const yes = ctx.flags.bool('yes');
  ctx.flags.done(2);
  const [sub, target] = ctx.flags.positionals;
  const api = await ctx.client();
  const { items } = await api.get<{ items: CustomImage[] }>(`/api/v1/custom-images${all ? '?all=true' : ''}`);
  if (sub === undefined) {
    ctx.out.result(items, () => table(
      ['NAME', 'SIZE', 'BASE', 'FROM INSTANCE', ...(all ? ['OWNER'] : []), 'PUSH', 'CREATED'],
      items.map(i => [i.name, `${((i.sizeBytes ?? 0) / 1e9).toFixed(2)} GB`, i.baseImage, i.sourceInstanceId ?? '', ...(all ? [i.owner.name] : []), i.push?.status ?? '-', i.createdAt.slice(0, 16).replace('T', ' ')])
    ));
    return;
  }
  if (sub !== 'rm' || !target) throw new UsageError('nbg custom-images [--all] | nbg custom-images rm <name:tag> --yes');
  if (!yes) throw new UsageError(`deleting ${target} cannot be undone; add --yes`);
  const wanted = target.includes(':') ? target : `${target}:latest`;
  const hit = items.find(i => i.name === wanted || i.id === target);
  if (!hit) throw new ApiError(404, 'NB_ERR_CUSTOM_IMAGE_NOT_FOUND', `no custom image ${wanted}; "nbg custom-images" lists yours`);
  await api.request('DELETE', `/api/v1/custom-images/${hit.id}`);
  ctx.out.result({ deleted: hit.name }, () => `deleted ${hit.name}`);
};
