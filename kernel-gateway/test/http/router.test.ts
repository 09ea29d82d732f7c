import { describe, expect, it } from 'vitest';
import { compilePattern, matchPattern, Router, splitPath } from '../../src/http/router';

const match = (pattern: string, path: string) => matchPattern(compilePattern(pattern), splitPath(path));

describe('matchPattern()', () => {
  it('should match fixed and :param segments exactly', () => {
    expect(match('api/kernels/:id', 'api/kernels/abc')).toEqual({ id: 'abc' });
    expect(match('api/kernels/:id', 'api/kernels/abc/x')).toBeNull();
    expect(match('api/kernels/:id', 'api/kernels')).toBeNull();
  });

  it('should let *rest take any number of segments, including none', () => {
    expect(match('api/contents/*path', 'api/contents/a/b%20c.txt')).toEqual({ path: 'a/b c.txt' });
    expect(match('api/contents/*path', 'api/contents')).toEqual({ path: '' });
  });

  it('should match segments after *rest from the end', () => {
    expect(match('api/contents/*path/checkpoints/:id', 'api/contents/d/n.ipynb/checkpoints/checkpoint')).toEqual({
      path: 'd/n.ipynb',
      id: 'checkpoint'
    });
    expect(match('api/contents/*path/checkpoints', 'api/contents/n.ipynb/checkpoints')).toEqual({ path: 'n.ipynb' });
    expect(match('api/contents/*path/checkpoints', 'api/contents/n.ipynb')).toBeNull();
  });

  it('should refuse bad percent-encoding with a 400', () => {
    expect(() => match('x/:id', 'x/%E0%A4%A')).toThrow(expect.objectContaining({ status: 400 }));
  });
});

describe('Router', () => {
  it('should answer method-not-allowed with each allowed method once', () => {
    const r = new Router().get('a/:x', () => undefined).post('a/:x', () => undefined).get('a/*y', () => undefined);
    expect(r.match('DELETE', 'a/1')).toEqual({ kind: 'method-not-allowed', allowed: ['GET', 'POST'] });
    expect(r.match('HEAD', 'a/1')).toMatchObject({ kind: 'found', params: { x: '1' }, activity: 'passive' });
    expect(r.match('POST', 'a/1')).toMatchObject({ kind: 'found', activity: 'active' });
  });
});
