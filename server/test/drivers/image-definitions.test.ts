/**
 * The image definitions of images/catalogue.json, including those that cannot be built here
 * (CUDA, CANN): they parse, pass the lint that encodes what the Docker runtime relies on, and
 * their cache hash follows their files and their parents.
 */
import { describe, expect, it } from 'vitest';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadCatalogue } from '../../src/catalogue/images';
import { ancestry, definitionHash, lintDockerfile, loadDefinitions, type Definition } from '../../../images/lib/definitions.mjs';

const IMAGES = resolve(__dirname, '..', '..', '..', 'images');

describe('image definitions', () => {
  const defs = loadDefinitions(IMAGES);

  it('should define every preset of the gateway catalogue, plus the base and the benchmark reference', () => {
    const presets = loadCatalogue(join(IMAGES, 'catalogue.json')).map(i => i.name);
    expect(defs.filter(d => d.role === 'preset').map(d => d.name)).toEqual(presets);
    expect(presets).toEqual(expect.arrayContaining(['python3.11-cpu-debian12', 'pytorch1.13-cpu-debian12', 'sklearn1.2-xgboost1.7-cpu-debian12']));
    expect(defs.find(d => d.role === 'base')).toMatchObject({ kind: 'debootstrap', ref: 'nbgateway/base:debian12' });
    expect(ancestry(defs, 'pytorch1.13-cpu-debian12').map(d => d.name)).toEqual(['base-debian12', 'python3.11-cpu-debian12', 'pytorch1.13-cpu-debian12']);
  });

  it('should mark GPU and Ascend images as built on their vendor bases', () => {
    const vendor = defs.filter(d => d.requiresBase);
    expect(vendor.map(d => [d.name, d.chips])).toEqual([
      ['pytorch2.1-cuda12.1-ubuntu22.04', ['gpu']],
      ['mindspore2.2-cann7.0-euleros2.10', ['ascend']]
    ]);
  });

  it.each(defs.filter(d => d.kind === 'dockerfile').map(d => [d.name, d] as const))('should lint %s clean', async (_name, def) => {
    const text = await readFile(join(IMAGES, def.context!, 'Dockerfile'), 'utf8');
    expect(lintDockerfile(text, def)).toEqual([]);
  });

  it('should report what breaks the runtime contract', () => {
    const def = defs.find(d => d.name === 'pytorch2.1-cuda12.1-ubuntu22.04')! as Definition;
    const bad = [
      'FROM nvidia/cuda:12.1.1-cudnn8-runtime-ubuntu22.04',
      'RUN apt-get install -y python3 && \\',
      '    kernelspec.sh python3 /usr/bin/python3 "x"',
      'COPY ../secrets /etc/',
      'USER root',
      'FROB x'
    ].join('\n');
    expect(lintDockerfile(bad, def)).toEqual([
      'line 6: not a Dockerfile instruction: FROB x',
      'FROM must use the build argument: "FROM ${BASE}", found "FROM nvidia/cuda:12.1.1-cudnn8-runtime-ubuntu22.04"',
      'declare "ARG BASE=<default parent>" before FROM',
      'the last USER must be ma-user (uid 1000), found root',
      'WORKDIR must be /home/ma-user/work (the volume mount point), found none',
      'ENTRYPOINT must run tini (the init that reaps kernels)',
      'engine images also install the plain Python kernelspec: kernelspec.sh python3-plain /usr/bin/python3 …',
      'vendor images must create ma-user with uid 1000 (useradd --uid 1000 … ma-user)',
      'vendor images must install tini',
      'vendor images must install an SFTP server',
      'vendor images must install git',
      'vendor images must install rsync',
      'COPY ../secrets: sources are pytorch2.1-cuda12.1-ubuntu22.04/… or common/… (the build context is images/)'
    ]);
  });

  it('should change the hash of an image and of those built on it when a file changes', async () => {
    const copy = await mkdtemp(join(tmpdir(), 'nbg-images-'));
    try {
      await cp(IMAGES, copy, { recursive: true });
      const before = (name: string): string => definitionHash(IMAGES, defs, name);
      const copyDefs = loadDefinitions(copy);
      const after = (name: string): string => definitionHash(copy, copyDefs, name);
      expect(after('pytorch1.13-cpu-debian12')).toBe(before('pytorch1.13-cpu-debian12'));
      await writeFile(join(copy, 'python3.11-cpu-debian12', 'Dockerfile'), (await readFile(join(copy, 'python3.11-cpu-debian12', 'Dockerfile'), 'utf8')) + '\n# changed\n');
      expect(after('base-debian12')).toBe(before('base-debian12'));
      expect(after('python3.11-cpu-debian12')).not.toBe(before('python3.11-cpu-debian12'));
      expect(after('pytorch1.13-cpu-debian12')).not.toBe(before('pytorch1.13-cpu-debian12'));
      expect(after('sklearn1.2-xgboost1.7-cpu-debian12')).not.toBe(before('sklearn1.2-xgboost1.7-cpu-debian12'));
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });

  it('should refuse a catalogue whose image builds on an unknown definition', async () => {
    const copy = await mkdtemp(join(tmpdir(), 'nbg-images-'));
    try {
      await cp(IMAGES, copy, { recursive: true });
      const cat = JSON.parse(await readFile(join(copy, 'catalogue.json'), 'utf8'));
      cat.images[1].build.from = 'nope';
      await writeFile(join(copy, 'catalogue.json'), JSON.stringify(cat));
      expect(() => loadDefinitions(copy)).toThrow('pytorch1.13-cpu-debian12: build.from "nope" is not a definition in the catalogue');
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });
});
