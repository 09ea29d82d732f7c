import { describe, expect, it } from 'vitest';
import { NAME_PATTERN as SERVER_NAME_PATTERN, DESCRIPTION_MAX as SERVER_DESCRIPTION_MAX, STORAGE_MAX_GB as SERVER_MAX, STORAGE_MIN_GB as SERVER_MIN } from '../../server/src/instances/validate';
import { DESCRIPTION_MAX, NAME_PATTERN, STORAGE_MAX_GB, STORAGE_MIN_GB, cidrProblem, descriptionProblem, leaseHoursProblem, nameProblem, parseAllowList, publicKeyProblem, storageProblem } from '../src/console/logic/validate';

describe('console form rules', () => {
  describe('#nameProblem()', () => {
    it('should use the same rule as the gateway', () => {
      expect(NAME_PATTERN.source).toBe(SERVER_NAME_PATTERN.source);
      expect(DESCRIPTION_MAX).toBe(SERVER_DESCRIPTION_MAX);
      expect([STORAGE_MIN_GB, STORAGE_MAX_GB]).toEqual([SERVER_MIN, SERVER_MAX]);
      for (const n of ['a', 'nb-1', 'My_Notebook_2026', 'x'.repeat(20), '', 'x'.repeat(21), 'a b', 'é', 'a/b']) {
        expect(nameProblem(n) === null, n).toBe(SERVER_NAME_PATTERN.test(n));
      }
    });

    it('should say what is wrong and what is allowed', () => {
      expect(nameProblem('')).toBe('A name is required: 1–20 letters, digits, "_" or "-".');
      expect(nameProblem('my notebook!')).toBe('Not allowed: space, "!". Use letters, digits, "_" and "-".');
      expect(nameProblem('a'.repeat(21))).toBe('21 characters; at most 20 are allowed.');
      expect(nameProblem('nb1', ['nb1'])).toBe('You already have an instance named "nb1".');
    });
  });

  it('should check descriptions, storage and lease hours against their ranges', () => {
    expect(descriptionProblem('x'.repeat(256))).toBeNull();
    expect(descriptionProblem('x'.repeat(257))).toBe('257 characters; at most 256 are allowed.');
    expect(descriptionProblem('a\u0007b')).toBe('Control characters are not allowed.');
    expect(storageProblem(5)).toBeNull();
    expect(storageProblem(500)).toBeNull();
    for (const bad of [4, 501, 5.5, Number.NaN]) expect(storageProblem(bad)).toBe('A whole number of GB from 5 to 500.');
    expect(leaseHoursProblem(1)).toBeNull();
    expect(leaseHoursProblem(73)).toBe('A whole number of hours from 1 to 72.');
  });

  it('should parse allow-lists and name each bad entry', () => {
    expect(parseAllowList('203.0.113.0/24, 2001:db8::/32\n10.1.2.3')).toEqual({ entries: ['203.0.113.0/24', '2001:db8::/32', '10.1.2.3'], problems: [] });
    expect(cidrProblem('300.1.1.1')).toBe('"300.1.1.1": each part of an IPv4 address is 0–255.');
    expect(cidrProblem('10.0.0.0/33')).toBe('"10.0.0.0/33": the prefix of an IPv4 CIDR is 0–32.');
    expect(cidrProblem('example.com')).toContain('is not an IPv4/IPv6 address or CIDR');
    expect(parseAllowList('1.2.3.4/8/9').problems).toEqual(['"1.2.3.4/8/9" is not an address or CIDR.']);
  });

  it('should refuse a private key pasted as a public one', () => {
    expect(publicKeyProblem('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOM you@laptop')).toBeNull();
    expect(publicKeyProblem('-----BEGIN OPENSSH PRIVATE KEY-----')).toContain('private key');
    expect(publicKeyProblem('hello')).toContain('Expected "ssh-ed25519');
  });
});
