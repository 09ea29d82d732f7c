/**
 * Request validation against the OpenAPI document (issue 5: "requests validated against
 * it"). Every route whose path and method are documented gets fastify schemas derived from
 * the document when it is registered, whoever registers it.
 *
 * #### Notes
 * Two Ajv instances: JSON bodies are taken as sent (no type coercion, nothing removed);
 * path and query strings are coerced to the documented types. Domain rules with their own
 * error codes (instance names, quotas) stay in the handlers' validators.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import type { FastifyInstance, FastifySchema } from 'fastify';
import { HttpError, Errors } from '../../errors';
import { operationFor, type ApiDocument } from './document';
import { routeSchemas } from './schemas';

/** Per-route flags read by other hooks. */
declare module 'fastify' {
  interface FastifyContextConfig {
    /** `x-idempotent` in the document: honour `Idempotency-Key`. */
    idempotent?: boolean;
  }
}

const bodies = new Ajv({ allErrors: true, strict: false, coerceTypes: false, useDefaults: false, removeAdditional: false, validateFormats: false });
const strings = new Ajv({ allErrors: true, strict: false, coerceTypes: 'array', useDefaults: false, removeAdditional: false, validateFormats: false });

const seen = new Set<string>();

/** Every `METHOD url` registered since the process started (for the coverage test). */
export function registeredRoutes(): string[] {
  return [...seen].sort();
}

/** Installs the validator compiler and the hook that gives documented routes their schemas. */
export function installValidation(app: FastifyInstance, doc: ApiDocument): void {
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const validate: ValidateFunction = (httpPart === 'body' ? bodies : strings).compile(schema as object);
    return (data: unknown) => (validate(data) ? { value: data } : { error: toHttpError(validate.errors ?? [], httpPart ?? 'body') });
  });
  app.addHook('onRoute', route => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      seen.add(`${method} ${route.url}`);
      const found = operationFor(doc, method, route.url);
      if (!found) continue;
      const derived = routeSchemas(doc, found.op, found.item);
      // A route that declares its own schema keeps it.
      route.schema = { ...derived, ...(route.schema ?? {}) } as FastifySchema;
      if (found.op['x-idempotent']) route.config = { ...(route.config ?? {}), idempotent: true };
    }
  });
}

/** One readable message naming each field and what is allowed. */
export function toHttpError(errors: readonly ErrorObject[], part: string): HttpError {
  const where = (e: ErrorObject, extra?: string): string => {
    const path = [...e.instancePath.split('/').filter(Boolean), ...(extra ? [extra] : [])].join('.');
    const prefix = part === 'body' ? '' : `${part === 'querystring' ? 'query' : part} `;
    return path ? `${prefix}"${path}"` : part === 'body' ? 'the body' : `the ${part}`;
  };
  const messages = errors.map(e => {
    const p = e.params as Record<string, unknown>;
    switch (e.keyword) {
      case 'required': return `${where(e, String(p.missingProperty))} is required`;
      case 'enum': return `${where(e)} must be one of ${(p.allowedValues as unknown[]).map(v => JSON.stringify(v)).join(', ')}`;
      case 'additionalProperties': return `${where(e)}: unknown field "${String(p.additionalProperty)}"`;
      default: return `${where(e)} ${e.message ?? 'is invalid'}`;
    }
  });
  // allErrors reports a failing oneOf's branches too; keep the list short and distinct.
  return Errors.VALIDATION([...new Set(messages)].slice(0, 5).join('; '));
}
