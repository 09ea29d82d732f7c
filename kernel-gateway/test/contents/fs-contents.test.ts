import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile, chmod, lstat, readlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { FsContentsProvider } from '../../src/services/contents/fs-contents';

const status = (n: number) => expect.objectContaining({ status: n });

describe('FsContentsProvider', () => {
  let root: string;
  let outside: string;
  let fs: FsContentsProvider;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'nbkg-contents-'));
    outside = await mkdtemp(join(tmpdir(), 'nbkg-outside-'));
    await writeFile(join(outside, 'secret.txt'), 'secret');
    fs = new FsContentsProvider({ rootDir: root, allowHidden: false, maxReadBytes: 1 << 20 });
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  describe('#get()', () => {
    it('should list a directory without hidden, ignored or escaping entries', async () => {
      await writeFile(join(root, 'a.txt'), 'hello');
      await writeFile(join(root, '.hidden'), 'x');
      await writeFile(join(root, 'mod.pyc'), 'x');
      await mkdir(join(root, 'sub'));
      await symlink(join(outside, 'secret.txt'), join(root, 'link-out'));
      await symlink(join(root, 'a.txt'), join(root, 'link-in.txt'));
      await symlink(join(root, 'missing'), join(root, 'broken'));
      const model = await fs.get('', { content: true });
      expect(model).toMatchObject({ type: 'directory', name: '', path: '', format: 'json', size: null });
      const names = (model.content as Array<{ name: string }>).map(c => c.name).sort();
      expect(names).toEqual(['a.txt', 'link-in.txt', 'sub']);
      const a = (model.content as Array<Record<string, unknown>>).find(c => c.name === 'a.txt')!;
      expect(a).toMatchObject({ type: 'file', path: 'a.txt', size: 5, writable: true, content: null, format: null, mimetype: 'text/plain' });
      expect(Date.parse(a.last_modified as string)).toBe((await stat(join(root, 'a.txt'))).mtime.getTime());
      expect(Date.parse(a.created as string)).toBeGreaterThan(0);
    });

    it('should read text as text and binary as base64, or as asked', async () => {
      await writeFile(join(root, 'u.txt'), 'héllo');
      await writeFile(join(root, 'b.bin'), Buffer.from([0xff, 0x00, 0xfe]));
      expect(await fs.get('u.txt', { content: true })).toMatchObject({ content: 'héllo', format: 'text', mimetype: 'text/plain' });
      expect(await fs.get('b.bin', { content: true })).toMatchObject({ content: '/wD+', format: 'base64', mimetype: 'application/octet-stream' });
      expect(await fs.get('u.txt', { content: true, format: 'base64' })).toMatchObject({ content: Buffer.from('héllo').toString('base64'), format: 'base64' });
      await expect(fs.get('b.bin', { content: true, format: 'text' })).rejects.toThrow(/not UTF-8/);
    });

    it('should return a sha256 hash when asked', async () => {
      await writeFile(join(root, 'h.txt'), 'abc');
      const m = await fs.get('h.txt', { content: false, hash: true });
      expect(m).toMatchObject({ hash: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', hash_algorithm: 'sha256', content: null });
    });

    it('should answer 400 for a type that does not match', async () => {
      await mkdir(join(root, 'd'));
      await writeFile(join(root, 'f.txt'), '');
      await expect(fs.get('d', { content: false, type: 'file' })).rejects.toEqual(status(400));
      await expect(fs.get('f.txt', { content: false, type: 'directory' })).rejects.toEqual(status(400));
    });

    it('should refuse to read a FIFO instead of blocking on it', async () => {
      execFileSync('mkfifo', [join(root, 'pipe')]);
      await expect(fs.get('pipe', { content: true })).rejects.toEqual(status(400));
      await expect(fs.open('pipe')).rejects.toEqual(status(404));
    });

    it('should answer 413 for content larger than the API returns', async () => {
      await writeFile(join(root, 'big.bin'), Buffer.alloc((1 << 20) + 1));
      await expect(fs.get('big.bin', { content: true })).rejects.toEqual(status(413));
      expect(await fs.get('big.bin', { content: false })).toMatchObject({ size: (1 << 20) + 1 });
    });
  });

  describe('paths', () => {
    it('should refuse .., NUL and symlinks out of the root, touching nothing outside', async () => {
      await expect(fs.get('../etc/passwd', { content: true })).rejects.toEqual(status(400));
      await expect(fs.get('a/../../x', { content: true })).rejects.toEqual(status(400));
      await expect(fs.get('a\0b', { content: true })).rejects.toEqual(status(400));
      await symlink(outside, join(root, 'out'));
      await symlink(join(outside, 'secret.txt'), join(root, 'secret-link'));
      await expect(fs.get('out/secret.txt', { content: true })).rejects.toEqual(status(404));
      await expect(fs.get('secret-link', { content: true })).rejects.toEqual(status(404));
      await expect(fs.save('out/new.txt', { type: 'file', format: 'text', content: 'x' })).rejects.toEqual(status(404));
      await expect(fs.save('secret-link', { type: 'file', format: 'text', content: 'pwned' })).rejects.toEqual(status(404));
      await expect(fs.delete('out/secret.txt')).rejects.toEqual(status(404));
      await expect(fs.rename('out/secret.txt', 'stolen.txt')).rejects.toEqual(status(404));
      await expect(fs.copy('out/secret.txt', '')).rejects.toEqual(status(404));
      await expect(fs.copy('secret-link', '')).rejects.toEqual(status(404));
      await expect(fs.newUntitled('out', { type: 'file' })).rejects.toEqual(status(404));
      expect(await readdir(outside)).toEqual(['secret.txt']);
      expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('secret');
    });

    it('should treat a leading slash as relative to the root', async () => {
      await writeFile(join(root, 'etc'), 'not the real one');
      expect(await fs.get('/etc', { content: true })).toMatchObject({ path: 'etc', content: 'not the real one' });
    });

    it('should hide dot-files: 404 to read, 400 to change', async () => {
      await writeFile(join(root, '.env'), 'K=V');
      await expect(fs.get('.env', { content: true })).rejects.toEqual(status(404));
      await expect(fs.save('.env', { type: 'file', format: 'text', content: '' })).rejects.toEqual(status(400));
      await expect(fs.delete('.env')).rejects.toEqual(status(400));
      const open = new FsContentsProvider({ rootDir: root, allowHidden: true, maxReadBytes: 1 << 20 });
      expect(await open.get('.env', { content: true })).toMatchObject({ content: 'K=V' });
    });
  });

  describe('#save()', () => {
    it('should write text and base64 files atomically, keeping the mode, and answer 201-style models', async () => {
      await writeFile(join(root, 'run.sh'), 'old');
      await chmod(join(root, 'run.sh'), 0o750);
      const m = await fs.save('run.sh', { type: 'file', format: 'text', content: '#!/bin/sh\necho hi\n' });
      expect(m).toMatchObject({ name: 'run.sh', path: 'run.sh', type: 'file', content: null, size: 18 });
      expect((await stat(join(root, 'run.sh'))).mode & 0o777).toBe(0o750);
      await fs.save('img.png', { type: 'file', format: 'base64', content: Buffer.from([1, 2, 3]).toString('base64') });
      expect([...(await readFile(join(root, 'img.png')))]).toEqual([1, 2, 3]);
      expect((await readdir(root)).filter(n => n.startsWith('.~'))).toEqual([]);
    });

    it('should write through a symlink inside the root and keep the link', async () => {
      await mkdir(join(root, 'real'));
      await writeFile(join(root, 'real', 'f.txt'), 'a');
      await symlink('real/f.txt', join(root, 'alias.txt'));
      await fs.save('alias.txt', { type: 'file', format: 'text', content: 'b' });
      expect((await lstat(join(root, 'alias.txt'))).isSymbolicLink()).toBe(true);
      expect(await readlink(join(root, 'alias.txt'))).toBe('real/f.txt');
      expect(await readFile(join(root, 'real', 'f.txt'), 'utf8')).toBe('b');
    });

    it('should refuse bad models with 400 and a missing parent with 404', async () => {
      await expect(fs.save('a.txt', { content: 'x' })).rejects.toThrow(/No file type/);
      await expect(fs.save('a.txt', { type: 'file', content: 'x' })).rejects.toThrow(/format/);
      await expect(fs.save('a.txt', { type: 'file', format: 'base64', content: '***' })).rejects.toThrow(/base64/);
      await expect(fs.save('a.txt', { type: 'file', format: 'text' })).rejects.toThrow(/No file content/);
      await expect(fs.save('a.txt', { type: 'other' as 'file', format: 'text', content: '' })).rejects.toEqual(status(400));
      await expect(fs.save('no/such/dir.txt', { type: 'file', format: 'text', content: '' })).rejects.toEqual(status(404));
    });

    it('should create directories, idempotently, and refuse one over a file', async () => {
      expect(await fs.save('d', { type: 'directory' })).toMatchObject({ type: 'directory', path: 'd' });
      expect(await fs.save('d', { type: 'directory' })).toMatchObject({ type: 'directory' });
      await writeFile(join(root, 'f'), '');
      await expect(fs.save('f', { type: 'directory' })).rejects.toEqual(status(400));
    });
  });

  describe('notebooks', () => {
    const nb = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
      cells: [
        { cell_type: 'markdown', metadata: {}, source: '# Title\nline 2' },
        {
          cell_type: 'code', metadata: { trusted: true }, execution_count: 1, source: 'print(1)\n6*7',
          outputs: [
            { output_type: 'stream', name: 'stdout', text: '1\n' },
            { output_type: 'execute_result', execution_count: 1, metadata: {}, data: { 'text/plain': '42', 'application/json': { a: [1, 2] } } }
          ]
        }
      ]
    };

    it('should round-trip a notebook and write it as nbformat does', async () => {
      const saved = await fs.save('n.ipynb', { type: 'notebook', format: 'json', content: nb });
      expect(saved).toMatchObject({ type: 'notebook', name: 'n.ipynb', content: null, mimetype: null });
      expect(saved).not.toHaveProperty('message');
      const text = await readFile(join(root, 'n.ipynb'), 'utf8');
      expect(text.endsWith('}\n')).toBe(true);
      expect(text).toContain('\n "cells": [\n');
      const onDisk = JSON.parse(text);
      expect(Object.keys(onDisk)).toEqual(['cells', 'metadata', 'nbformat', 'nbformat_minor']);
      expect(onDisk.cells[0].source).toEqual(['# Title\n', 'line 2']);
      expect(onDisk.cells[1].metadata).toEqual({});
      expect(onDisk.cells[1].outputs[1].data['application/json']).toEqual({ a: [1, 2] });
      expect(onDisk.cells.every((c: { id?: string }) => typeof c.id === 'string')).toBe(true);
      const read = await fs.get('n.ipynb', { content: true });
      expect(read.format).toBe('json');
      expect(read.content.cells[0].source).toBe('# Title\nline 2');
      expect(read.content.cells[1].outputs[0].text).toBe('1\n');
      // One checkpoint always exists for a notebook once saved.
      expect(await fs.listCheckpoints('n.ipynb')).toHaveLength(1);
    });

    it('should save a notebook with schema problems and say what they are', async () => {
      const bad = structuredClone(nb);
      (bad.cells[1]!.outputs as unknown[]).push({ output_type: 'weird' });
      const saved = await fs.save('bad.ipynb', { type: 'notebook', content: bad });
      expect((saved as { message?: string }).message).toMatch(/cells\[1\]\.outputs\[2\]\.output_type/);
    });

    it('should refuse content that is not a v4 notebook, leaving the file as it was', async () => {
      await writeFile(join(root, 'keep.ipynb'), 'previous');
      await expect(fs.save('keep.ipynb', { type: 'notebook', content: { nbformat: 3, cells: [] } })).rejects.toThrow(/nbformat 4/);
      await expect(fs.save('keep.ipynb', { type: 'notebook', content: 'text' })).rejects.toEqual(status(400));
      expect(await readFile(join(root, 'keep.ipynb'), 'utf8')).toBe('previous');
      await expect(fs.get('keep.ipynb', { content: true })).rejects.toThrow(/Unreadable Notebook/);
    });
  });

  describe('#newUntitled(), #copy(), #rename(), #delete()', () => {
    it('should name untitled entries as Jupyter does', async () => {
      expect((await fs.newUntitled('', { type: 'file', ext: '.txt' })).name).toBe('untitled.txt');
      expect((await fs.newUntitled('', { type: 'file', ext: 'txt' })).name).toBe('untitled1.txt');
      expect((await fs.newUntitled('', { type: 'notebook' })).name).toBe('Untitled.ipynb');
      expect((await fs.newUntitled('', { type: 'notebook' })).name).toBe('Untitled1.ipynb');
      expect((await fs.newUntitled('', { type: 'directory' })).name).toBe('Untitled Folder');
      expect((await fs.newUntitled('', { type: 'directory' })).name).toBe('Untitled Folder 1');
      const nb = await fs.get('Untitled.ipynb', { content: true });
      expect(nb.content).toMatchObject({ nbformat: 4, nbformat_minor: 5, cells: [] });
      await expect(fs.newUntitled('missing', { type: 'file' })).rejects.toEqual(status(404));
    });

    it('should copy as <name>-Copy<n>, copies of copies included, and refuse directories', async () => {
      await mkdir(join(root, 'd'));
      await writeFile(join(root, 'data.tar.gz'), 'z');
      expect((await fs.copy('data.tar.gz', '')).name).toBe('data-Copy1.tar.gz');
      expect((await fs.copy('data-Copy1.tar.gz', '')).name).toBe('data-Copy2.tar.gz');
      expect((await fs.copy('data.tar.gz', 'd')).path).toBe('d/data.tar.gz');
      await expect(fs.copy('d', '')).rejects.toEqual(status(400));
      expect((await readdir(root)).filter(n => n.startsWith('.~'))).toEqual([]);
    });

    it('should rename with checkpoints, refusing an existing target and moves into itself', async () => {
      await fs.save('a.ipynb', { type: 'notebook', content: { nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [] } });
      await writeFile(join(root, 'b.txt'), '');
      await expect(fs.rename('a.ipynb', 'b.txt')).rejects.toEqual(status(409));
      await mkdir(join(root, 'dir'));
      const m = await fs.rename('a.ipynb', 'dir/c.ipynb');
      expect(m).toMatchObject({ path: 'dir/c.ipynb', type: 'notebook' });
      expect(await fs.listCheckpoints('dir/c.ipynb')).toHaveLength(1);
      await expect(fs.rename('dir', 'dir/inner')).rejects.toEqual(status(400));
      await expect(fs.rename('nope', 'x')).rejects.toEqual(status(404));
    });

    it('should delete files with their checkpoint and directories with their contents', async () => {
      await fs.save('n.ipynb', { type: 'notebook', content: { nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [] } });
      await fs.delete('n.ipynb');
      expect(await readdir(join(root, '.ipynb_checkpoints'))).toEqual([]);
      await mkdir(join(root, 'd', 'e'), { recursive: true });
      await writeFile(join(root, 'd', 'e', 'f'), 'x');
      await fs.delete('d');
      await expect(stat(join(root, 'd'))).rejects.toThrow();
      await expect(fs.delete('')).rejects.toEqual(status(400));
      await expect(fs.delete('d')).rejects.toEqual(status(404));
    });

    it('should delete a symlink, not what it points to', async () => {
      await mkdir(join(root, 'target'));
      await writeFile(join(root, 'target', 'keep'), 'x');
      await symlink('target', join(root, 'link'));
      await fs.delete('link');
      expect(await readFile(join(root, 'target', 'keep'), 'utf8')).toBe('x');
    });
  });

  describe('checkpoints', () => {
    it('should create, list, restore and delete the checkpoint', async () => {
      await writeFile(join(root, 'f.txt'), 'v1');
      expect(await fs.listCheckpoints('f.txt')).toEqual([]);
      const cp = await fs.createCheckpoint('f.txt');
      expect(cp.id).toBe('checkpoint');
      expect(await readFile(join(root, '.ipynb_checkpoints', 'f-checkpoint.txt'), 'utf8')).toBe('v1');
      await fs.save('f.txt', { type: 'file', format: 'text', content: 'v2' });
      await fs.restoreCheckpoint('f.txt', 'checkpoint');
      expect(await readFile(join(root, 'f.txt'), 'utf8')).toBe('v1');
      await expect(fs.restoreCheckpoint('f.txt', 'other')).rejects.toEqual(status(404));
      await fs.deleteCheckpoint('f.txt', 'checkpoint');
      expect(await fs.listCheckpoints('f.txt')).toEqual([]);
      await expect(fs.deleteCheckpoint('f.txt', 'checkpoint')).rejects.toEqual(status(404));
      await expect(fs.createCheckpoint('nope.txt')).rejects.toEqual(status(404));
    });

    it('should not write a checkpoint through a checkpoint dir linked out of the root', async () => {
      await writeFile(join(root, 'f.txt'), 'v1');
      await symlink(outside, join(root, '.ipynb_checkpoints'));
      await expect(fs.createCheckpoint('f.txt')).rejects.toEqual(status(400));
      expect(await readdir(outside)).toEqual(['secret.txt']);
    });
  });

  describe('chunked upload', () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64');

    it('should stage chunks and publish the file on the last one', async () => {
      await writeFile(join(root, 'up.bin'), 'old contents');
      await fs.save('up.bin', { type: 'file', format: 'base64', content: b64('aaa') }, { chunk: 1 });
      const mid = await fs.save('up.bin', { type: 'file', format: 'base64', content: b64('bbb') }, { chunk: 2 });
      expect(mid).toMatchObject({ name: 'up.bin', path: 'up.bin', size: 6 });
      // Readers still see the old file while the upload runs.
      expect(await readFile(join(root, 'up.bin'), 'utf8')).toBe('old contents');
      const last = await fs.save('up.bin', { type: 'file', format: 'base64', content: b64('c') }, { chunk: -1 });
      expect(last).toMatchObject({ size: 7 });
      expect(await readFile(join(root, 'up.bin'), 'utf8')).toBe('aaabbbc');
      expect((await readdir(root)).sort()).toEqual(['up.bin']);
    });

    it('should treat a lone last chunk as a whole save and refuse a chunk without the first', async () => {
      await fs.save('one.txt', { type: 'file', format: 'text', content: 'only' }, { chunk: -1 });
      expect(await readFile(join(root, 'one.txt'), 'utf8')).toBe('only');
      await expect(fs.save('two.txt', { type: 'file', format: 'text', content: 'x' }, { chunk: 2 })).rejects.toThrow(/without chunk 1/);
      await expect(fs.save('nb.ipynb', { type: 'notebook', content: {} }, { chunk: 1 })).rejects.toEqual(status(400));
    });
  });
});
