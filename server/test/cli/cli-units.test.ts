import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Flags, UsageError, parseArgs } from '../../src/cli/args';
import { createOutput, table } from '../../src/cli/output';

function stream(tty: boolean): NodeJS.WriteStream & { text: () => string } {
  const s = new PassThrough() as unknown as NodeJS.WriteStream & { text: () => string };
  let buf = '';
  s.on('data', d => (buf += d));
  Object.assign(s, { isTTY: tty, columns: 80, text: () => buf });
  return s;
}

describe('nbg CLI', () => {
  describe('parseArgs()', () => {
    it('should read positionals, valued and boolean flags, and refuse unknown ones', () => {
      const f = new Flags(parseArgs(['create', 'nb', '--image', 'img', '--size=10', '--json', '--', '--not-a-flag'], new Set(['json'])));
      expect(f.string('image')).toBe('img');
      expect(f.number('size')).toBe(10);
      expect(f.bool('json')).toBe(true);
      expect(f.positionals).toEqual(['create', 'nb', '--not-a-flag']);
      expect(() => f.done(3)).not.toThrow();
      const g = new Flags(parseArgs(['--bogus', '1'], new Set()));
      expect(() => g.done(0)).toThrow(UsageError);
      expect(() => parseArgs(['--image'], new Set())).toThrow(/needs a value/);
      expect(() => parseArgs(['-x'], new Set())).toThrow(/unknown option/);
    });
  });

  describe('progress', () => {
    it('should redraw one line on a terminal and print one line per change elsewhere', async () => {
      const tty = stream(true);
      const bar = createOutput(false, stream(false), tty).progress();
      bar.update(50, 'starting', 'starting the kernel gateway');
      bar.update(100, 'RUNNING', 'ready');
      bar.done();
      expect(tty.text()).toContain('\r\x1b[2K');
      expect(tty.text()).toMatch(/RUNNING\s+█{24} 100%  ready\n$/);

      const plain = stream(false);
      const lines = createOutput(false, stream(false), plain).progress();
      lines.update(50, 'starting', 'agent');
      lines.update(50, 'starting', 'agent');
      lines.update(100, 'RUNNING', 'ready');
      expect(plain.text()).toBe('starting 50%: agent\nRUNNING 100%: ready\n');
    });

    it('should write --json results as JSON and tables for people', () => {
      const out = stream(false);
      createOutput(true, out, stream(false)).result([{ a: 1 }], () => 'text');
      expect(JSON.parse(out.text())).toEqual([{ a: 1 }]);
      expect(table(['NAME', 'ID'], [['nb', 'abc'], ['longer-name', 'd']])).toBe('NAME         ID\nnb           abc\nlonger-name  d');
    });
  });
});
