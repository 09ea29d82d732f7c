/**
 * IP allow-list ranges: parsing, canonical form, matching (IPv4, IPv6, IPv4-mapped IPv6).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { anyContains, cidrContains, formatIp, parseCidr, parseIp } from '../../src/ssh/cidr';

describe('cidr', () => {
  describe('#parseCidr()', () => {
    it('should canonicalise ranges and bare addresses', () => {
      expect(parseCidr('203.0.113.0/24').text).toBe('203.0.113.0/24');
      expect(parseCidr(' 10.1.2.3 ').text).toBe('10.1.2.3/32');
      expect(parseCidr('2001:DB8::/32').text).toBe('2001:db8::/32');
      expect(parseCidr('::1').text).toBe('::1/128');
      expect(parseCidr('0.0.0.0/0').text).toBe('0.0.0.0/0');
      expect(parseCidr('::ffff:192.0.2.0/120').text).toBe('::ffff:c000:200/120');
    });

    it('should refuse host bits, bad prefixes and non-addresses with what was meant', () => {
      expect(() => parseCidr('10.0.0.1/8')).toThrow('has host bits set; did you mean 10.0.0.0/8?');
      expect(() => parseCidr('10.0.0.0/33')).toThrow('prefix length must be 0–32');
      expect(() => parseCidr('2001:db8::/129')).toThrow('prefix length must be 0–128');
      expect(() => parseCidr('10.0.0.0/x')).toThrow('prefix length');
      expect(() => parseCidr('example.com')).toThrow('is not an IPv4 or IPv6 address');
      expect(() => parseCidr('300.1.1.1')).toThrow('is not an IPv4 or IPv6 address');
    });
  });

  describe('#cidrContains()', () => {
    it('should match addresses inside the range only', () => {
      const r = parseCidr('203.0.113.0/25');
      expect(cidrContains(r, '203.0.113.1')).toBe(true);
      expect(cidrContains(r, '203.0.113.127')).toBe(true);
      expect(cidrContains(r, '203.0.113.128')).toBe(false);
      expect(cidrContains(r, '2001:db8::1')).toBe(false);
    });

    it('should match IPv4-mapped IPv6 client addresses as IPv4', () => {
      expect(cidrContains(parseCidr('127.0.0.1'), '::ffff:127.0.0.1')).toBe(true);
      expect(cidrContains(parseCidr('127.0.0.1'), '::ffff:127.0.0.2')).toBe(false);
    });

    it('should match IPv6 ranges and zone-scoped addresses', () => {
      expect(cidrContains(parseCidr('fe80::/10'), 'fe80::1%eth0')).toBe(true);
      expect(anyContains([parseCidr('10.0.0.0/8'), parseCidr('2001:db8::/32')], '2001:db8:ffff::5')).toBe(true);
      expect(anyContains([], '10.0.0.1')).toBe(false);
    });

    it('should agree with a bitwise reference for any IPv4 address and prefix', () => {
      const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map(b => b.join('.'));
      fc.assert(
        fc.property(v4, v4, fc.integer({ min: 0, max: 32 }), (net, ip, prefix) => {
          const toInt = (s: string): number => s.split('.').reduce((a, b) => a * 256 + Number(b), 0);
          const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
          const network = (toInt(net) & mask) >>> 0;
          const text = [24, 16, 8, 0].map(s => (network >>> s) & 255).join('.');
          const inside = ((toInt(ip) & mask) >>> 0) === network;
          expect(cidrContains(parseCidr(`${text}/${prefix}`), ip)).toBe(inside);
        })
      );
    });
  });

  describe('#parseIp() / #formatIp()', () => {
    it('should round-trip IPv6 addresses to their RFC 5952 form', () => {
      for (const [input, want] of [
        ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
        ['::', '::'],
        ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
        ['::ffff:1.2.3.4', '::ffff:102:304'],
        ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8']
      ] as const) {
        expect(formatIp(parseIp(input)!)).toBe(want);
      }
      expect(parseIp('nope')).toBeNull();
    });
  });
});
