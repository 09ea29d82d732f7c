/**
 * Checks, before anything is created, that a version's object-storage locations can work:
 * the boot file is in the code directory, the data exists, and the output and log buckets
 * exist. A mistake is a clear 400 at submit time instead of a FAILED run minutes later.
 */
import { Errors } from '../errors';
import { ObjectNotFoundError, type IObjectStore } from '../storage/object-store';
import type { VersionConfig } from './job';
import { locationOf } from './object-url';

/** Files named in a "not found" message, at most. */
const SHOWN = 10;

export async function checkInputs(objects: IObjectStore, c: Pick<VersionConfig, 'codeUrl' | 'bootFile' | 'dataUrl' | 'outputUrl' | 'logUrl'>): Promise<void> {
  const code = locationOf(c.codeUrl);
  const listing = await listSome(objects, c.codeUrl, 'codeUrl', SHOWN + 1);
  if (listing.length === 0) throw Errors.JOB_INPUT_NOT_FOUND(`the code directory ${c.codeUrl} is empty or does not exist; upload the code there first`);
  try {
    await objects.head(code.bucket, `${code.prefix}${c.bootFile}`);
  } catch (err) {
    if (!(err instanceof ObjectNotFoundError)) throw err;
    const names = listing.slice(0, SHOWN).map(k => k.slice(code.prefix.length)).join(', ');
    throw Errors.JOB_INPUT_NOT_FOUND(`the boot file "${c.bootFile}" is not in the code directory ${c.codeUrl}; it holds: ${names}${listing.length > SHOWN ? ', …' : ''}`);
  }
  if (c.dataUrl && (await listSome(objects, c.dataUrl, 'dataUrl', 1)).length === 0) {
    throw Errors.JOB_INPUT_NOT_FOUND(`the data location ${c.dataUrl} is empty or does not exist`);
  }
  await listSome(objects, c.outputUrl, 'outputUrl', 1);
  if (c.logUrl) await listSome(objects, c.logUrl, 'logUrl', 1);
}

/** Up to `n` keys under a location; a missing bucket or a refused listing is a 400 naming the field. */
async function listSome(objects: IObjectStore, url: string, field: string, n: number): Promise<string[]> {
  const loc = locationOf(url);
  try {
    const page = await objects.list(loc.bucket, { prefix: loc.prefix, maxKeys: n });
    return page.objects.map(o => o.key).filter(k => !k.endsWith('/'));
  } catch (err) {
    throw Errors.JOB_INPUT_NOT_FOUND(`"${field}" ${url} cannot be used: ${(err as Error).message}`);
  }
}
