/**
 * The gateway's error catalogue (STYLE.md §11): every error a client can see has a stable
 * code, a message template and an HTTP status. `docs/errors.md` documents each code and a
 * test checks that codes are unique and documented.
 */
import { format } from 'node:util';

/** An error with an HTTP status and a catalogue code; its message is safe to show. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** A catalogue entry: call it with the template's arguments to get an HttpError. */
export interface ErrorCode {
  (...args: unknown[]): HttpError;
  readonly code: string;
  readonly statusCode: number;
  readonly template: string;
}

function code(name: string, template: string, statusCode: number): ErrorCode {
  const make = ((...args: unknown[]) => {
    const last = args.at(-1);
    const details = last !== null && typeof last === 'object' && !Array.isArray(last) ? (args.pop() as Record<string, unknown>) : undefined;
    return new HttpError(statusCode, name, format(template, ...args), details);
  }) as ErrorCode;
  Object.defineProperties(make, {
    code: { value: name },
    statusCode: { value: statusCode },
    template: { value: template }
  });
  return make;
}

export const Errors = {
  // Requests
  BAD_REQUEST: code('NB_ERR_BAD_REQUEST', '%s', 400),
  VALIDATION: code('NB_ERR_VALIDATION', '%s', 400),
  NOT_FOUND: code('NB_ERR_NOT_FOUND', 'No route for %s %s', 404),
  PAYLOAD_TOO_LARGE: code('NB_ERR_PAYLOAD_TOO_LARGE', 'Request body is larger than the %s bytes allowed', 413),
  REQUEST_TIMEOUT: code('NB_ERR_REQUEST_TIMEOUT', 'The request was not received in time (headers or body too slow); the connection is closed', 408),
  HEADERS_TOO_LARGE: code('NB_ERR_HEADERS_TOO_LARGE', 'The request headers are larger than the 16 KiB allowed (too many or too large cookies?)', 431),
  // Authentication
  UNAUTHENTICATED: code('NB_ERR_UNAUTHENTICATED', 'Sign in first: send "Authorization: Bearer <token>" or a session cookie', 401),
  BAD_CREDENTIALS: code('NB_ERR_BAD_CREDENTIALS', 'Wrong user name or password', 401),
  TOKEN_EXPIRED: code('NB_ERR_TOKEN_EXPIRED', 'The token has expired; sign in again or create a new token', 401),
  FORBIDDEN: code('NB_ERR_FORBIDDEN', '%s', 403),
  // Instances
  INSTANCE_NOT_FOUND: code('NB_ERR_INSTANCE_NOT_FOUND', 'Notebook instance %s not found', 404),
  INSTANCE_NAME_INVALID: code('NB_ERR_INSTANCE_NAME_INVALID', 'Invalid name "%s": %s', 400),
  INSTANCE_NAME_TAKEN: code('NB_ERR_INSTANCE_NAME_TAKEN', 'You already have an instance named "%s"; names are unique per user among instances that are not deleted', 409),
  INSTANCE_QUOTA: code('NB_ERR_INSTANCE_QUOTA', 'Instance quota reached: you have %s of %s instances allowed (every state except deleted counts); delete one first', 403),
  INSTANCE_STATE: code('NB_ERR_INSTANCE_STATE', 'Cannot %s instance "%s" while it is %s; %s', 409),
  INSTANCE_BUSY: code('NB_ERR_INSTANCE_BUSY', 'Instance "%s" is busy with another operation (%s); try again when it finishes', 409),
  IMAGE_NOT_FOUND: code('NB_ERR_IMAGE_NOT_FOUND', 'Image "%s" is not in the catalogue; available: %s', 400),
  FLAVOR_NOT_FOUND: code('NB_ERR_FLAVOR_NOT_FOUND', 'Flavor "%s" does not exist; available: %s', 400),
  FLAVOR_CHIP_MISMATCH: code('NB_ERR_FLAVOR_CHIP_MISMATCH', 'Flavor "%s" uses %s chips but image "%s" supports only %s', 400),
  FLAVOR_NOT_GRANTED: code('NB_ERR_FLAVOR_NOT_GRANTED', 'Flavor "%s" is invite-only; ask an administrator to grant it to you', 403),
  DRIVER_UNSUPPORTED: code('NB_ERR_DRIVER_UNSUPPORTED', 'The %s runtime cannot run this instance: %s', 400),
  // SSH (issue 6)
  SSH_KEY_INVALID: code('NB_ERR_SSH_KEY_INVALID', 'Invalid SSH public key: %s', 400),
  SSH_KEY_NOT_FOUND: code('NB_ERR_SSH_KEY_NOT_FOUND', 'SSH key %s not found', 404),
  SSH_KEY_EXISTS: code('NB_ERR_SSH_KEY_EXISTS', '%s', 409),
  SSH_KEY_QUOTA: code('NB_ERR_SSH_KEY_QUOTA', 'You already have %s SSH keys, the most allowed; delete one first', 403),
  SSH_NOT_SUPPORTED: code('NB_ERR_SSH_NOT_SUPPORTED', 'Image "%s" does not support SSH (its catalogue entry says ssh: false); create the instance without "ssh" or pick another image', 400),
  SSH_DISABLED: code('NB_ERR_SSH_DISABLED', 'SSH is turned off for instance "%s"; turn it on in its settings (PUT /api/v1/notebooks/%s/ssh {"enabled": true})', 409),
  SSH_ADDRESS_REFUSED: code('NB_ERR_SSH_ADDRESS_REFUSED', 'Connections from %s to instance "%s" are not allowed by its IP allow-list', 403),
  // Control plane (issue 5): sign-in, tokens, users, access control, leases, idempotency
  RATE_LIMITED: code('NB_ERR_RATE_LIMITED', 'Too many failed sign-ins; try again in %s seconds', 429),
  CSRF: code('NB_ERR_CSRF', 'Missing or wrong X-XSRFToken header: browser requests with the session cookie must echo the _xsrf cookie in it', 403),
  ACCESS_DENIED: code('NB_ERR_ACCESS_DENIED', '%s', 403),
  TOKEN_SCOPE: code('NB_ERR_TOKEN_SCOPE', 'This token is limited to %s; %s needs a token with that scope', 403),
  TOKEN_NOT_FOUND: code('NB_ERR_TOKEN_NOT_FOUND', 'Token %s not found', 404),
  PASSWORD_WRONG: code('NB_ERR_PASSWORD_WRONG', 'The current password is wrong', 403),
  USER_NOT_FOUND: code('NB_ERR_USER_NOT_FOUND', 'User %s not found', 404),
  USER_EXISTS: code('NB_ERR_USER_EXISTS', 'A user named "%s" already exists', 409),
  LAST_ADMIN: code('NB_ERR_LAST_ADMIN', '%s is the last enabled administrator; make someone else an administrator first', 409),
  IDEMPOTENCY_MISMATCH: code('NB_ERR_IDEMPOTENCY_MISMATCH', 'Idempotency-Key "%s" was used with a different request; use a new key for a new request', 422),
  IDEMPOTENCY_IN_PROGRESS: code('NB_ERR_IDEMPOTENCY_IN_PROGRESS', 'A request with Idempotency-Key "%s" is still being processed; retry later', 409),
  // Web console and JupyterLab (issue 10)
  WEB_NOT_BUILT: code('NB_ERR_WEB_NOT_BUILT', 'The web assets are not built on this gateway; run ./dev build (or node scripts/build.mjs web)', 503),
  LAB_PLUGIN_NOT_FOUND: code('NB_ERR_LAB_PLUGIN_NOT_FOUND', 'No JupyterLab plug-in with settings named "%s" in this build', 404),
  LAB_WORKSPACE_NOT_FOUND: code('NB_ERR_LAB_WORKSPACE_NOT_FOUND', 'No JupyterLab workspace named "%s" for this instance', 404),
  // Custom images (save as image)
  IMAGE_TAG_EXISTS: code('NB_ERR_IMAGE_TAG_EXISTS', 'You already have an image %s; choose another tag, or ask to replace it ("replace": true)', 409),
  IMAGE_SAVE_IN_PROGRESS: code('NB_ERR_IMAGE_SAVE_IN_PROGRESS', 'Image %s is being saved right now; wait for that save to finish', 409),
  IMAGE_TOO_LARGE: code('NB_ERR_IMAGE_TOO_LARGE', 'The image would be %s; at most %s is allowed. Remove large files outside ~/work (pip caches, datasets) and save again', 400),
  IMAGE_PRIVILEGED_FILES: code('NB_ERR_IMAGE_PRIVILEGED_FILES', 'The instance added root-owned setuid/setgid files, which custom images may not contain: %s', 400),
  CUSTOM_IMAGE_NOT_FOUND: code('NB_ERR_CUSTOM_IMAGE_NOT_FOUND', 'Custom image %s not found', 404),
  IMAGE_SAVE_FAILED: code('NB_ERR_IMAGE_SAVE_FAILED', 'Saving the image failed: %s; nothing was registered and the instance keeps running', 502),
  IMAGE_IN_USE: code('NB_ERR_IMAGE_IN_USE', 'Image %s is in use by %s; delete those first', 409),
  // Training jobs (issue 9)
  JOB_NOT_FOUND: code('NB_ERR_JOB_NOT_FOUND', 'Training job %s not found', 404),
  JOB_VERSION_NOT_FOUND: code('NB_ERR_JOB_VERSION_NOT_FOUND', 'Training job "%s" has no version %s', 404),
  JOB_NAME_INVALID: code('NB_ERR_JOB_NAME_INVALID', 'Invalid job name "%s": %s', 400),
  JOB_NAME_TAKEN: code('NB_ERR_JOB_NAME_TAKEN', 'You already have a training job named "%s"; names are unique per user among jobs that are not deleted', 409),
  JOB_STATE: code('NB_ERR_JOB_STATE', 'Cannot %s version %s of job "%s" while it is %s; %s', 409),
  JOB_BUSY: code('NB_ERR_JOB_BUSY', 'Training job "%s" changed meanwhile (%s); try again', 409),
  JOB_INPUT_NOT_FOUND: code('NB_ERR_JOB_INPUT_NOT_FOUND', '%s', 400),
  JOB_QUEUE_FULL: code('NB_ERR_JOB_QUEUE_FULL', 'The %s scheduler cannot take more jobs now: %s; try again when some have finished', 503),
  JOB_TOKEN_INVALID: code('NB_ERR_JOB_TOKEN_INVALID', 'Job token refused: %s', 401),
  JOB_LOCATION_FORBIDDEN: code('NB_ERR_JOB_LOCATION_FORBIDDEN', '"%s" %s is outside your storage root %s; jobs read and write only there', 403),
  // Object storage (issue 7)
  STORAGE_PATH_INVALID: code('NB_ERR_STORAGE_PATH_INVALID', 'Invalid storage path: %s', 400),
  STORAGE_UNAVAILABLE: code('NB_ERR_STORAGE_UNAVAILABLE', 'Object storage is not reachable: %s', 503),
  SYNC_LIMIT: code('NB_ERR_SYNC_LIMIT', 'Sync refused: %s', 403),
  SYNC_DELETE_GUARD: code('NB_ERR_SYNC_DELETE_GUARD', 'Sync refused: %s', 409),
  SYNC_BUSY: code('NB_ERR_SYNC_BUSY', 'A sync is already running on this instance (%s); wait for it or cancel it', 409),
  SYNC_NOT_FOUND: code('NB_ERR_SYNC_NOT_FOUND', 'Sync %s not found on this instance (the instance keeps its last 20 syncs until it stops)', 404),
  // Upstreams
  INSTANCE_UNREACHABLE: code('NB_ERR_INSTANCE_UNREACHABLE', 'The instance is not answering (%s); it may be restarting', 503),
  INTERNAL: code('NB_ERR_INTERNAL', 'Internal error; the gateway log has the details (request id %s)', 500)
} as const;

export type ErrorName = keyof typeof Errors;
