/**
 * Calls every handler with `args`. A handler that throws does not stop the ones after it:
 * its error goes to `onThrow`. Iterates over a copy, so a handler that unsubscribes (or
 * subscribes) during dispatch cannot make a neighbour be skipped or called twice.
 */
export const dispatch = (
  handlers: readonly unknown[] | undefined,
  args: unknown[],
  onThrow: (error: unknown) => void,
): void => {
  if (handlers)
    for (const h of handlers.slice()) {
      try {
        (h as (...a: unknown[]) => void)(...args);
      } catch (e) {
        onThrow(e);
      }
    }
};

/** The default `deserialize`: JSON text frames only. */
export const parseJson = (data: unknown): unknown => {
  if (typeof data !== 'string') throw new TypeError('binary frame: set options.deserialize');
  return JSON.parse(data);
};
