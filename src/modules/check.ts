import { WebSocketClientError } from 'resilient-ws';

/** Whether `a` becomes `b` in at most `n` one-letter edits (insert, delete, replace). */
const edits = (a: string, b: string, n: number): boolean =>
  a === b ||
  (n > 0 &&
    (edits(a.slice(1), b, n - 1) ||
      edits(a, b.slice(1), n - 1) ||
      edits(a.slice(1), b.slice(1), n - +(a[0] !== b[0]))));

/**
 * The development check of a module's options, as the client's: an option `known` does not
 * name throws `INVALID_OPTIONS` naming it, with the nearest known name (at most 2 edits away)
 * or what replaced it (`gone`). Called only behind the development check, so a production
 * bundle drops it.
 */
export const checkOptions = (
  module: string,
  given: object | undefined,
  known: string[],
  gone: Record<string, string> = {},
): void => {
  for (const k in given) {
    if (known.includes(k)) continue;
    let hint = gone[k] ? `; ${gone[k]}` : '';
    for (let n = 0; !hint && n < 3; n++)
      for (const c of known) if (!hint && edits(k, c, n)) hint = `; did you mean ${c}?`;
    throw new WebSocketClientError('INVALID_OPTIONS', `${module}: options.${k} is not an option${hint}`, k);
  }
};
