/**
 * Request schemas for fastify, derived from the OpenAPI document: path and query parameters
 * and required JSON bodies, with `$ref`s inlined.
 */
import { resolveRef, type ApiDocument, type JsonSchema, type OperationObject, type ParameterObject, type PathItem } from './document';

export interface RouteSchemas {
  params?: JsonSchema;
  querystring?: JsonSchema;
  body?: JsonSchema;
}

/** Inlines local `$ref`s (the document has no recursive schemas). */
export function deref(doc: ApiDocument, schema: unknown, depth = 0): unknown {
  if (depth > 50) throw new Error('openapi.yaml: schema nesting too deep (recursive $ref?)');
  if (Array.isArray(schema)) return schema.map(s => deref(doc, s, depth + 1));
  if (!schema || typeof schema !== 'object') return schema;
  const resolved = resolveRef<Record<string, unknown>>(doc, schema as Record<string, unknown>);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(resolved)) {
    // Annotations that mean nothing to a validator.
    if (k === 'examples' || k === 'example' || k === 'description' || k === 'summary' || k === 'externalDocs') continue;
    out[k] = k === 'properties' || k === 'patternProperties' || k === '$defs'
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([pk, pv]) => [pk, deref(doc, pv, depth + 1)]))
      : deref(doc, v, depth + 1);
  }
  return out;
}

function parameterSchema(doc: ApiDocument, params: ParameterObject[], where: 'path' | 'query'): JsonSchema | undefined {
  const mine = params.filter(p => p.in === where);
  if (!mine.length) return undefined;
  return {
    type: 'object',
    properties: Object.fromEntries(mine.map(p => [p.name, deref(doc, p.schema ?? {})])),
    required: mine.filter(p => p.required || where === 'path').map(p => p.name)
  };
}

/**
 * The fastify schemas of one operation.
 *
 * #### Notes
 * A body is validated only when `requestBody.required` is true: fastify validates even an
 * absent body, and optional bodies (renew, stop) are checked by their handlers.
 */
export function routeSchemas(doc: ApiDocument, op: OperationObject, item: PathItem): RouteSchemas {
  const params = [...(item.parameters ?? []), ...(op.parameters ?? [])].map(p => resolveRef<ParameterObject>(doc, p));
  const out: RouteSchemas = {};
  const path = parameterSchema(doc, params, 'path');
  if (path) out.params = path;
  const query = parameterSchema(doc, params, 'query');
  if (query) out.querystring = query;
  const body = op.requestBody ? resolveRef<{ required?: boolean; content?: Record<string, { schema?: JsonSchema }> }>(doc, op.requestBody) : undefined;
  const json = body?.content?.['application/json']?.schema;
  if (body?.required && json) out.body = deref(doc, json) as JsonSchema;
  return out;
}
