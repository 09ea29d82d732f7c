export * from './audit';
export { SqlAuditLog, type SqlAuditLogOptions } from './sql-audit-log';
export { MemoryAuditLog } from './memory-audit-log';
export { OpenAudit, type OpenAuditOptions } from './open-audit';
