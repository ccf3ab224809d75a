/** Why a {@link WebSocketClientError} was raised. The README lists when each one happens. */
export type ErrorCode =
  | 'INVALID_OPTIONS'
  | 'NO_WEBSOCKET'
  | 'CONNECT_ERROR'
  | 'CONNECT_TIMEOUT'
  | 'HEARTBEAT_TIMEOUT'
  | 'PARSE_ERROR'
  | 'INVALID_MESSAGE'
  | 'HANDLER_ERROR'
  | 'SERIALIZE_ERROR'
  | 'QUEUE_OVERFLOW'
  | 'QUEUE_EXPIRED'
  | 'AUTH_REJECTED'
  | 'AUTH_TIMEOUT'
  | 'AUTH_ERROR'
  | 'MAX_ATTEMPTS'
  | 'REQUEST_TIMEOUT'
  | 'REQUEST_CANCELLED'
  | 'RESUME_GAP'
  | 'CHANNEL_GAP'
  | 'CHANNEL_REFUSED'
  | 'DISPOSED'
  | 'STORAGE_ERROR';

/** The one error type the client raises or reports through `onError`. */
export class WebSocketClientError extends Error {
  /** Machine-readable reason; see {@link ErrorCode}. */
  readonly code: ErrorCode;
  /** What the error is about: the dropped message, the raw frame, the close info. */
  readonly data?: unknown;

  /**
   * The error's `message` is `"CODE: detail"` (just the code when there is no detail), so a
   * log line alone says what happened: `HANDLER_ERROR: boom`.
   * @param code - the reason
   * @param detail - what happened, in words; by default the cause's own message
   * @param data - the message, frame or close info concerned
   * @param cause - the underlying error, if any
   */
  constructor(code: ErrorCode, detail?: string, data?: unknown, cause?: unknown) {
    const d = detail ?? (cause as Error | undefined)?.message ?? cause;
    super(d === undefined ? code : `${code}: ${d}`);
    this.name = 'WebSocketClientError';
    this.code = code;
    this.data = data;
    if (cause !== undefined) this.cause = cause;
  }
}
