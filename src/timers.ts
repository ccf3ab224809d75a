/**
 * Named timeouts. Every timer the client starts goes through here, so the one close path
 * can clear them all with `clear()` and nothing is left behind.
 */
export class Timers {
  private m = new Map<string, ReturnType<typeof setTimeout>>();

  /** Start `fn` after `ms`, replacing a timer of the same name. */
  set(name: string, ms: number, fn: () => void): void {
    this.clear(name);
    this.m.set(
      name,
      setTimeout(() => {
        this.m.delete(name);
        fn();
      }, ms),
    );
  }

  /** Cancel one timer, or all of them. */
  clear(name?: string): void {
    for (const [k, t] of this.m) {
      if (name === undefined || k === name) {
        clearTimeout(t);
        this.m.delete(k);
      }
    }
  }
}
