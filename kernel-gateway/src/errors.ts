/**
 * Errors in Jupyter's dialect (STYLE.md §13): bodies are `{ message, reason }` plus
 * `traceback` when known, because `ResponseError.create()` in `@jupyterlab/services`
 * reads `message` and `traceback`.
 */

export class JupyterError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason: string = defaultReason(status),
    readonly traceback?: string
  ) {
    super(message);
    this.name = 'JupyterError';
  }

  toBody(): { message: string; reason: string; traceback?: string } {
    return this.traceback === undefined
      ? { message: this.message, reason: this.reason }
      : { message: this.message, reason: this.reason, traceback: this.traceback };
  }
}

function defaultReason(status: number): string {
  switch (status) {
    case 400: return 'Bad Request';
    case 401: return 'Unauthorized';
    case 403: return 'Forbidden';
    case 404: return 'Not Found';
    case 405: return 'Method Not Allowed';
    case 409: return 'Conflict';
    case 413: return 'Payload Too Large';
    case 415: return 'Unsupported Media Type';
    case 500: return 'Internal Server Error';
    case 503: return 'Service Unavailable';
    default: return 'Error';
  }
}

export const badRequest = (msg: string): JupyterError => new JupyterError(400, msg);
export const notFound = (msg: string): JupyterError => new JupyterError(404, msg);
export const conflict = (msg: string): JupyterError => new JupyterError(409, msg);
