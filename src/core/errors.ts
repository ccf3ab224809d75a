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
  | 'STORAGE_ERROR';

/** The one error type the client raises or reports through `onError`. */
export class WebSocketClientError extends Error {
  /** Machine-readable reason; see {@link ErrorCode}. */
  readonly code: ErrorCode;
  /** What the error is about: the dropped message, the raw frame, the close info. */
  readonly data?: unknown;

  /**
   * @param code - the reason
   * @param message - a sentence for people; by default the code itself, which says it already
   * @param data - the message, frame or close info concerned
   * @param cause - the underlying error, if any
   */
  constructor(code: ErrorCode, message?: string, data?: unknown, cause?: unknown) {
    super(message ?? code);
    this.name = 'WebSocketClientError';
    this.code = code;
    this.data = data;
    if (cause !== undefined) this.cause = cause;
  }
}
