/** What the client does when the page or the network changes. */
export interface PageEvents {
  /** `online`, or `pageshow` out of the back/forward cache: the way is clear again */
  back(): void;
  offline(): void;
  visible(): void;
  /** `pagehide` into the back/forward cache */
  freeze(): void;
}

/**
 * Listens to the browser events that matter to a long-lived connection and returns the
 * function that removes every listener. Does nothing outside a browser.
 */
export const watchPage = (on: PageEvents): (() => void) => {
  const w = globalThis as unknown as Window;
  const d = w.document as Document | undefined;
  const list: [EventTarget | undefined, string, (e: Event) => unknown][] = [
    [w, 'online', on.back],
    [w, 'offline', on.offline],
    [d, 'visibilitychange', () => !d!.hidden && on.visible()],
    [w, 'pagehide', (e) => (e as PageTransitionEvent).persisted && on.freeze()],
    [w, 'pageshow', (e) => (e as PageTransitionEvent).persisted && on.back()],
  ];
  const each = (m: 'addEventListener' | 'removeEventListener') => {
    for (const [t, name, f] of list) t?.[m]?.(name, f);
  };
  each('addEventListener');
  return () => each('removeEventListener');
};
