/**
 * fast-check arbitraries of hostile input: names, path segments, JSON bodies and header
 * values that real clients, scanners and attackers send.
 */
import fc from 'fast-check';

/** Strings that have broken web servers before: traversal, NUL, encodings, sizes, scripts. */
export const NASTY_STRINGS = [
  '', ' ', '.', '..', '...', '../..', '../../etc/passwd', '..\\..\\windows', '%2e%2e', '%2e%2e%2f', '..%2f', '%252e%252e',
  '%00', '\u0000', 'a\u0000b', '\n', '\r\nX-Injected: 1', '\t', '%', '%zz', '%ff%fe', '~', '$', '{}', '[]', 'null',
  'undefined', 'NaN', '-1', '0', '1e309', '9'.repeat(40), "' OR 1=1 --", '"; DROP TABLE users; --', '<script>alert(1)</script>',
  '${jndi:ldap://x}', '{{7*7}}', '😀', 'é', 'ﬀ', 'İ', '\u202e', '\ufeff', '\ud800', '\udfff', 'A'.repeat(20), 'A'.repeat(21),
  'x'.repeat(5_000), 'nb-ok_1', 'admin', 'root', '__proto__', 'constructor', 'prototype'
];

/** A hostile string: a known-bad one, or random text (full Unicode, lone surrogates included). */
export const nastyString = (maxLength = 60): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength }) }
  );

/** A JSON value of any shape, with hostile strings and numbers among the leaves. */
export const nastyJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>(tie => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    nastyString(40),
    fc.constantFrom(null, true, false, 0, -1, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 2 ** 31, -(2 ** 31) - 1),
    fc.integer(),
    fc.double({ noNaN: true }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(nastyString(20), tie('value'), { maxKeys: 5 })
  )
})).value;

/**
 * An object body with the field names the API uses, each with a hostile value, so
 * validation paths past "not an object" are reached.
 */
export const plausibleBody: fc.Arbitrary<Record<string, unknown>> = fc.dictionary(
  fc.constantFrom(
    'name', 'description', 'image', 'flavor', 'storage', 'autoStop', 'ssh', 'tag', 'replace', 'username', 'password',
    'currentPassword', 'newPassword', 'role', 'disabled', 'statements', 'scope', 'expiresInDays', 'expiresAt', 'publicKey',
    'timingHours', 'idleMinutes', 'codeUrl', 'bootFile', 'outputUrl', 'dataUrl', 'logUrl', 'nodeCount', 'parameters',
    'webhook', 'notebook', 'path', 'force', 'enabled', 'allowList', 'keys', 'source', 'prefix', 'direction', 'delete', 'dryRun'
  ),
  nastyJson,
  { maxKeys: 6 }
);

/** Percent-encodes the UTF-8 bytes of a segment (lone surrogates become U+FFFD, as browsers do). */
export function encodeSegment(s: string): string {
  return [...Buffer.from(s, 'utf8')].map(b => (/[A-Za-z0-9_.~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
}

/** A path segment as a client might send it: percent-encoded, or raw traversal. */
export const pathSegment = (known: string[] = []): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 4, arbitrary: nastyString(80).map(encodeSegment) },
    { weight: 1, arbitrary: fc.constantFrom('..', '.', '%2e%2e', '..%2f..%2f', '%2F', '%00', '%', '%zz', '%C0%AE%C0%AE', 'a'.repeat(3_000)) },
    ...(known.length ? [{ weight: 3, arbitrary: fc.constantFrom(...known) }] : [])
  );
