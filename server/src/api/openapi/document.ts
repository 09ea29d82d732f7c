/**
 * The REST contract, `server/api/openapi.yaml` (OpenAPI 3.1), loaded once. The build copies
 * it next to the bundle (`server/dist/openapi.yaml`); from sources it is read in place.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

export type JsonSchema = Record<string, unknown>;

export interface ParameterObject {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: JsonSchema;
  description?: string;
}

export interface OperationObject {
  summary?: string;
  parameters?: (ParameterObject | { $ref: string })[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: JsonSchema }> } | { $ref: string };
  'x-idempotent'?: boolean;
  [key: string]: unknown;
}

export type PathItem = Partial<Record<HttpMethod, OperationObject>> & { parameters?: (ParameterObject | { $ref: string })[] };

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export interface ApiDocument {
  openapi: string;
  info: Record<string, unknown>;
  paths: Record<string, PathItem>;
  components?: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
}

/** Where the document may be: next to the bundle, or in the source tree. */
function candidates(): string[] {
  return [join(__dirname, 'openapi.yaml'), resolve(__dirname, '..', 'api', 'openapi.yaml'), resolve(__dirname, '..', '..', '..', 'api', 'openapi.yaml')];
}

let cached: { text: string; doc: ApiDocument } | null = null;

/** The document, parsed (cached). @throws Error when no copy is found or it does not parse. */
export function apiDocument(): { text: string; doc: ApiDocument } {
  if (cached) return cached;
  const file = candidates().find(f => existsSync(f));
  if (!file) throw new Error(`openapi.yaml not found (looked in ${candidates().join(', ')}); run node scripts/build.mjs server`);
  const text = readFileSync(file, 'utf8');
  const doc = parse(text) as ApiDocument;
  if (!doc || typeof doc.openapi !== 'string' || !doc.paths) throw new Error(`${file} is not an OpenAPI document`);
  cached = { text, doc };
  return cached;
}

/** fastify's `/a/:id/b` as OpenAPI's `/a/{id}/b`. */
export function toOpenApiPath(fastifyUrl: string): string {
  return fastifyUrl.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** Resolves a local `$ref` (`#/components/...`). */
export function resolveRef<T>(doc: ApiDocument, value: T | { $ref: string }): T {
  let v: unknown = value;
  for (let depth = 0; v && typeof v === 'object' && '$ref' in (v as object); depth++) {
    if (depth > 20) throw new Error('openapi.yaml: $ref chain too deep');
    const ref = (v as { $ref: string }).$ref;
    if (!ref.startsWith('#/')) throw new Error(`openapi.yaml: only local $refs are supported, got ${ref}`);
    v = ref.slice(2).split('/').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
    if (v === undefined) throw new Error(`openapi.yaml: unresolved $ref ${ref}`);
  }
  return v as T;
}

/** The operation for a method and fastify URL, if documented. */
export function operationFor(doc: ApiDocument, method: string, fastifyUrl: string): { op: OperationObject; item: PathItem } | undefined {
  const item = doc.paths[toOpenApiPath(fastifyUrl)];
  const op = item?.[method.toLowerCase() as HttpMethod];
  return item && op ? { op, item } : undefined;
}
