import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { evaluate } from '../../src/policy/evaluate';
import { globMatch, type PolicyStatement } from '../../src/policy/policy';
import { actionPatternProblem, validatePolicy } from '../../src/policy/validate';
import { ROLE_STATEMENTS } from '../../src/policy/access-control';

const nb = (id: string) => ({ service: 'notebook' as const, id });

describe('evaluate()', () => {
  it('should deny without an Allow, allow with one, and let any Deny win', () => {
    expect(evaluate([], 'notebook:get', nb('a')).allowed).toBe(false);
    expect(evaluate(ROLE_STATEMENTS.user, 'notebook:delete', nb('a')).allowed).toBe(true);
    const deny: PolicyStatement = { effect: 'Deny', actions: ['notebook:delete'] };
    expect(evaluate([...ROLE_STATEMENTS.admin, deny], 'notebook:delete', nb('a'))).toEqual({ allowed: false, by: deny });
    expect(evaluate([deny, ...ROLE_STATEMENTS.admin], 'notebook:get', nb('a')).allowed).toBe(true);
  });

  it('should match resources by pattern, and apply only service-wide patterns to collection actions', () => {
    const s: PolicyStatement[] = [...ROLE_STATEMENTS.user, { effect: 'Deny', actions: ['notebook:*'], resources: ['notebook:team-*'] }];
    expect(evaluate(s, 'notebook:access', nb('team-1')).allowed).toBe(false);
    expect(evaluate(s, 'notebook:access', nb('solo-1')).allowed).toBe(true);
    expect(evaluate(s, 'notebook:create').allowed).toBe(true);
    expect(evaluate([...s, { effect: 'Deny', actions: ['*'], resources: ['notebook:*'] }], 'notebook:list').allowed).toBe(false);
    expect(evaluate(ROLE_STATEMENTS.user, 'trainJob:create').allowed).toBe(true);
    expect(evaluate([{ effect: 'Allow', actions: ['image:*'] }], 'trainJob:create').allowed).toBe(false);
  });

  it('should never allow what an explicit Deny of * covers, whatever else is allowed', () => {
    const action = fc.constantFrom('notebook:get', 'notebook:delete', 'trainJob:create', 'image:list');
    const statement = fc.record({ effect: fc.constantFrom('Allow' as const, 'Deny' as const), actions: fc.array(fc.constantFrom('*', 'notebook:*', 'notebook:get', 'image:*'), { minLength: 1 }) });
    fc.assert(fc.property(fc.array(statement), action, fc.integer({ min: 0, max: 10 }), (stmts, a, at) => {
      const all = [...stmts];
      all.splice(Math.min(at, all.length), 0, { effect: 'Deny', actions: ['*'] });
      return evaluate(all, a, nb('x')).allowed === false;
    }));
  });
});

describe('globMatch()', () => {
  it('should treat * as any run of characters and everything else literally', () => {
    expect(globMatch('image:team.*', 'image:team.a:v1')).toBe(true);
    expect(globMatch('image:team.*', 'image:teamXa')).toBe(false);
    expect(globMatch('notebook:abc', 'notebook:abcd')).toBe(false);
  });
});

describe('validatePolicy()', () => {
  it('should accept good documents and name what is wrong in bad ones', () => {
    expect(validatePolicy({ statements: [{ effect: 'Deny', actions: ['notebook:delete'], resources: ['notebook:abc'], description: 'x' }] }).statements).toHaveLength(1);
    expect(actionPatternProblem('notebook:*')).toBeNull();
    expect(actionPatternProblem('trainJob:logs')).toBeNull();
    expect(actionPatternProblem('notebok:*')).toMatch(/unknown service/);
    expect(actionPatternProblem('notebook:fly')).toMatch(/known: notebook:list/);
    expect(() => validatePolicy({ statements: [{ effect: 'Allow', actions: [] }] })).toThrow(/non-empty array/);
  });
});
