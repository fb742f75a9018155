// Errors that cross every boundary as data: a code a program can switch on, a message a person can read.

/** Every error code, as data: the wire's `code` is one of these (validated where it arrives). */
export const ERROR_CODES = [
  'bad_argument', // a caller passed a value outside its documented range
  'bad_file', // a file is missing, unreadable, corrupt or of an unsupported format
  'bad_signal', // samples are empty, too short or not finite
  'bad_message', // a message across a process boundary failed validation
  'cancelled', // the user cancelled long work
  'backend', // no usable TensorFlow.js backend
  'busy', // the engine is already doing that kind of work
  'not_found', // no such model or run
  'engine_crashed', // the engine process died while the request was in flight
  'engine_unreachable', // the UI cannot reach the engine (browser mode: the server is gone)
  'exists', // a model of that name exists and the caller did not ask to replace it
  'unauthorized', // a connection without the right token
  'internal', // a bug: anything else
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** A code from outside as an ErrorCode; one this build does not know (a newer engine's) becomes 'internal'. */
export function toErrorCode(code: string): ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(code) ? (code as ErrorCode) : 'internal';
}

export interface ErrorData {
  code: ErrorCode;
  message: string;
}

export class LabError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'LabError';
    this.code = code;
  }
}

/** Turns anything thrown into `{ code, message }`; unknown errors become `internal`. */
export function toErrorData(error: unknown): ErrorData {
  if (error instanceof LabError) return { code: error.code, message: error.message };
  if (error instanceof Error) return { code: 'internal', message: error.message };
  return { code: 'internal', message: String(error) };
}

/** Throws `bad_argument` naming the value unless it is an integer in [min, max]. */
export function checkInteger(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`;
    throw new LabError('bad_argument', `Expected ${name} to be ${range}, but got ${value}`);
  }
  return value;
}

/** Throws `bad_argument` naming the value unless it is a finite number in [min, max]. */
export function checkNumber(name: string, value: number, min = -Infinity, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new LabError('bad_argument', `Expected ${name} to be a finite number in [${min}, ${max}], but got ${value}`);
  }
  return value;
}
