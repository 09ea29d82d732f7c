import { describe, expect, it } from 'vitest';
import { parseJsonc, stripJsonComments } from '../../src/web/jsonc';

describe('parseJsonc()', () => {
  it('should read JupyterLab settings with comments and trailing commas', () => {
    const raw = '{\n  // the theme\n  "theme": "JupyterLab Dark", /* block */\n  "list": [1, 2,],\n}';
    expect(parseJsonc(raw)).toEqual({ theme: 'JupyterLab Dark', list: [1, 2] });
    expect(parseJsonc('   ')).toEqual({});
  });

  it('should leave strings alone, escaped quotes included', () => {
    const raw = '{"url": "http://x//y", "c": "/* not a comment */", "q": "a \\"b,}\\" c", "t": ", ]"}';
    expect(parseJsonc(raw)).toEqual({ url: 'http://x//y', c: '/* not a comment */', q: 'a "b,}" c', t: ', ]' });
    expect(stripJsonComments('"//"')).toBe('"//"');
  });

  it('should report invalid JSON', () => {
    expect(() => parseJsonc('{"a": }')).toThrow(SyntaxError);
  });
});
