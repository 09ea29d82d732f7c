import { describe, expect, it } from 'vitest';
import { validateCreate, validateName, validateUpdate } from '../../src/instances/validate';
import { HttpError } from '../../src/errors';

function err(fn: () => unknown): HttpError {
  try {
    fn();
  } catch (e) {
    return e as HttpError;
  }
  throw new Error('expected an error');
}

describe('validate', () => {
  describe('#validateName()', () => {
    it('should accept letters, digits, _ and - up to 20 characters', () => {
      expect(validateName('a')).toBe('a');
      expect(validateName('My_note-book_2024_ab')).toBe('My_note-book_2024_ab');
    });

    it('should refuse a 21-character name saying what is allowed', () => {
      const e = err(() => validateName('a'.repeat(21)));
      expect(e.statusCode).toBe(400);
      expect(e.code).toBe('NB_ERR_INSTANCE_NAME_INVALID');
      expect(e.message).toContain('21 characters');
      expect(e.message).toContain('1–20 characters');
    });

    it('should refuse empty names, spaces, dots and non-ASCII letters', () => {
      for (const bad of ['', 'has space', 'dot.name', 'naïve', '../x', 'a/b']) {
        expect(err(() => validateName(bad)).code).toBe('NB_ERR_INSTANCE_NAME_INVALID');
      }
    });
  });

  describe('#validateCreate()', () => {
    it('should fill storage defaults', () => {
      expect(validateCreate({ name: 'n', image: 'img' })).toEqual({
        name: 'n', description: '', image: 'img', flavor: undefined, storage: { type: 'local', sizeGB: 5 }
      });
    });

    it('should refuse storage outside 5–500 GB and unknown fields', () => {
      expect(err(() => validateCreate({ name: 'n', image: 'i', storage: { sizeGB: 4 } })).message).toContain('from 5 to 500');
      expect(err(() => validateCreate({ name: 'n', image: 'i', storage: { sizeGB: 501 } })).message).toContain('from 5 to 500');
      expect(err(() => validateCreate({ name: 'n', image: 'i', color: 'red' })).message).toContain('"color"');
    });

    it('should refuse descriptions over 256 characters or with control characters', () => {
      expect(err(() => validateCreate({ name: 'n', image: 'i', description: 'x'.repeat(257) })).message).toContain('at most 256');
      expect(err(() => validateCreate({ name: 'n', image: 'i', description: 'a\u0007b' })).message).toContain('control');
    });

    it('should refuse a body that is not an object', () => {
      expect(err(() => validateCreate([1])).code).toBe('NB_ERR_VALIDATION');
      expect(err(() => validateCreate(null)).code).toBe('NB_ERR_VALIDATION');
    });
  });

  describe('#validateUpdate()', () => {
    it('should require at least one field', () => {
      expect(err(() => validateUpdate({})).message).toContain('nothing to update');
    });
  });
});
