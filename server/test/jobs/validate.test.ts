import { describe, expect, it } from 'vitest';
import { HttpError } from '../../src/errors';
import { parseDirUrl, resolveBootFile, formatDirUrl, lastDirName } from '../../src/jobs/object-url';
import { validateCreateJob, validateParameters, validateRerun, validateWebhook } from '../../src/jobs/validate';
import { allowedJobOperations, canTransition } from '../../src/jobs/state-machine';
import { parseVersionLabel, versionLabel } from '../../src/jobs/job';

const fails = (fn: () => unknown, code: string, text?: string): void => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).code).toBe(code);
    if (text) expect((err as HttpError).message).toContain(text);
    return;
  }
  throw new Error(`expected ${code}`);
};

describe('object URLs', () => {
  it('should accept s3://, obs:// and OBS paths and keep one canonical form', () => {
    expect(formatDirUrl(parseDirUrl('obs://my-bucket/a/b', 'x'))).toBe('s3://my-bucket/a/b/');
    expect(formatDirUrl(parseDirUrl('/my-bucket/a/b/', 'x'))).toBe('s3://my-bucket/a/b/');
    expect(formatDirUrl(parseDirUrl('s3://my-bucket', 'x'))).toBe('s3://my-bucket/');
    expect(lastDirName(parseDirUrl('s3://my-bucket/code/app/', 'x'))).toBe('app');
    expect(lastDirName(parseDirUrl('s3://my-bucket/', 'x'))).toBe('my-bucket');
  });

  it('should refuse other schemes, bad buckets and unclean paths, naming the field', () => {
    fails(() => parseDirUrl('http://x/y', 'codeUrl'), 'NB_ERR_VALIDATION', '"codeUrl"');
    fails(() => parseDirUrl('s3://My_Bucket/x', 'dataUrl'), 'NB_ERR_VALIDATION', 'not a valid bucket name');
    fails(() => parseDirUrl('s3://bucket/a/../b', 'outputUrl'), 'NB_ERR_VALIDATION', '".."');
    fails(() => parseDirUrl('s3://bucket/a//b', 'outputUrl'), 'NB_ERR_VALIDATION', 'empty');
  });

  it('should resolve a boot file relative to the code directory or inside it, and nowhere else', () => {
    const code = parseDirUrl('s3://code/app/', 'codeUrl');
    expect(resolveBootFile('train.py', code)).toBe('train.py');
    expect(resolveBootFile('./sub/train.py', code)).toBe('sub/train.py');
    expect(resolveBootFile('/code/app/sub/train.py', code)).toBe('sub/train.py');
    expect(resolveBootFile('obs://code/app/train.py', code)).toBe('train.py');
    fails(() => resolveBootFile('/code/other/train.py', code), 'NB_ERR_VALIDATION', 'not inside the code directory');
    fails(() => resolveBootFile('../train.py', code), 'NB_ERR_VALIDATION');
  });
});

describe('job requests', () => {
  const base = { name: 'iris-1', image: 'img', codeUrl: 's3://code/app/', bootFile: 'train.py', outputUrl: 's3://out/' };

  it('should take a complete create request', () => {
    const r = validateCreateJob({ ...base, nodeCount: 2, parameters: { lr: 0.1, deep: true }, dataUrl: '/data/iris', webhook: { url: 'https://hooks.example.com/x', secret: 'abcdefgh' } }, 4);
    expect(r.fields).toMatchObject({ nodeCount: 2, dataUrl: 's3://data/iris/', parameters: [{ name: 'lr', value: '0.1' }, { name: 'deep', value: 'true' }] });
    expect(r.webhook).toEqual({ url: 'https://hooks.example.com/x', events: ['OnJobRunning', 'OnJobSucceeded', 'OnJobFailed'], secret: 'abcdefgh' });
  });

  it('should refuse bad names, node counts, boot files, unknown fields and missing outputs', () => {
    fails(() => validateCreateJob({ ...base, name: '1abc' }, 4), 'NB_ERR_JOB_NAME_INVALID');
    fails(() => validateCreateJob({ ...base, name: 'a'.repeat(65) }, 4), 'NB_ERR_JOB_NAME_INVALID');
    fails(() => validateCreateJob({ ...base, nodeCount: 5 }, 4), 'NB_ERR_VALIDATION', 'from 1 (standalone) to 4');
    fails(() => validateCreateJob({ ...base, bootFile: 'train.ipynb' }, 4), 'NB_ERR_VALIDATION', '.py');
    fails(() => validateCreateJob({ ...base, gpus: 1 }, 4), 'NB_ERR_VALIDATION', '"gpus"');
    fails(() => validateCreateJob({ ...base, outputUrl: undefined }, 4), 'NB_ERR_VALIDATION', '"outputUrl" is required');
    fails(() => validateCreateJob({ ...base, description: 'x'.repeat(257) }, 4), 'NB_ERR_VALIDATION', '256');
  });

  it('should refuse parameters that could break the command line', () => {
    fails(() => validateParameters([{ name: '--lr', value: '1' }]), 'NB_ERR_VALIDATION');
    fails(() => validateParameters({ lr: 'a\nb' }), 'NB_ERR_VALIDATION', 'control characters');
    fails(() => validateParameters([{ name: 'a', value: '1' }, { name: 'a', value: '2' }]), 'NB_ERR_VALIDATION', 'twice');
    fails(() => validateParameters({ a: { b: 1 } }), 'NB_ERR_VALIDATION');
  });

  it('should check webhooks and reruns', () => {
    fails(() => validateWebhook({ url: 'ftp://x/' }), 'NB_ERR_VALIDATION');
    fails(() => validateWebhook({ url: 'https://u:p@x/' }), 'NB_ERR_VALIDATION', 'credentials');
    fails(() => validateWebhook({ url: 'https://x/', events: ['OnJobStarted'] }), 'NB_ERR_VALIDATION');
    expect(validateRerun({ fromVersion: 'V0002', parameters: { a: 1 } }, 4)).toEqual({ fromVersion: 2, fields: { parameters: [{ name: 'a', value: '1' }] } });
    expect(validateRerun(undefined, 4)).toEqual({ fromVersion: null, fields: {} });
  });
});

describe('versions and states', () => {
  it('should label versions V0001… and read them back', () => {
    expect(versionLabel(1)).toBe('V0001');
    expect(versionLabel(12)).toBe('V0012');
    expect(parseVersionLabel('V0012')).toBe(12);
    expect(parseVersionLabel('3')).toBe(3);
    expect(parseVersionLabel('V0')).toBeNull();
    expect(parseVersionLabel('x')).toBeNull();
  });

  it('should allow SPEC §8 operations only in their states', () => {
    expect(allowedJobOperations('INITIALIZING')).toEqual([]);
    expect(allowedJobOperations('DEPLOYING')).toEqual(['stop', 'delete', 'rerun']);
    expect(allowedJobOperations('RUNNING')).toEqual(['stop', 'delete', 'rerun']);
    expect(allowedJobOperations('SUCCEEDED')).toEqual(['delete', 'rerun']);
    expect(canTransition('SUCCEEDED', 'RUNNING')).toBe(false);
    expect(canTransition('DEPLOYING', 'SUCCEEDED')).toBe(false);
    expect(canTransition('RUNNING', 'CANCELED')).toBe(true);
  });
});
