export { apiDocument, operationFor, toOpenApiPath, resolveRef, HTTP_METHODS, type ApiDocument, type OperationObject } from './document';
export { routeSchemas, deref } from './schemas';
export { installValidation, registeredRoutes } from './validation';
