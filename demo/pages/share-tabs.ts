// The "share across tabs" switch of both demo pages. With `?shared` in the address the page
// uses `sharedClient` (resilient-ws/shared): every tab of the demo shares one connection, and
// `/stats` shows one connection for them all. The switch reloads the page with or without it.

/** Whether this page shares its connection with the demo's other tabs. */
export const SHARED = typeof location !== 'undefined' && new URLSearchParams(location.search).has('shared');

/** The name the demo's tabs share a connection under. */
export const SHARE_NAME = 'demo';

/** Reload the page with sharing on or off, keeping the other query parameters. */
export function setShared(on: boolean): void {
  const url = new URL(location.href);
  if (on) url.searchParams.set('shared', '');
  else url.searchParams.delete('shared');
  location.assign(url);
}

/** What the page shows about its tab: the leader holds the socket, followers talk to it. */
export function tabRole(client: object): string {
  if (!SHARED) return 'own connection';
  return (client as { leader?: boolean }).leader ? 'leader tab (holds the socket)' : 'follower tab';
}
