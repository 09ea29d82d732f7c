export * from './policy';
export { evaluate, type Decision } from './evaluate';
export { validatePolicy, actionPatternProblem } from './validate';
export { PolicyStore, type StoredPolicy } from './policy-store';
export { FlavorGrantStore, type FlavorGrant } from './flavor-grants';
export { AccessControl, ROLE_STATEMENTS, type AccessControlOptions } from './access-control';
