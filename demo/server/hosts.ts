/**
 * Which `Host` and `Origin` a request may carry. The `Host` is checked against the names this
 * server is configured to be reached by — never against itself — so a page on a DNS name that
 * an attacker rebinds to 127.0.0.1 (its `Host` and `Origin` agree, and are foreign) is refused,
 * on upgrades and on every HTTP endpoint.
 */
import type { IncomingMessage } from 'node:http';
import { networkInterfaces } from 'node:os';

const LOOPBACK = ['localhost', '127.0.0.1', '[::1]'];
const WILDCARDS = new Set(['', '0.0.0.0', '::', '[::]']);

/** Whether `host` (a `listen` address) is reachable only from this machine: localhost, 127.0.0.0/8, ::1. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** What must never face the internet, said wherever the server could. */
export const DEMO_ONLY = `This is a demo server. These parts must never face the internet:
  - the fixed tokens demo-token, alice and bob: public, anyone can be alice or bob
  - GET /token, which mints a token for anyone who asks
  - the chaos controls (--chaos): drop, stall or restart every connection
See docs/security.md.`;

/** A host as `URL.hostname` spells it (lower case, IPv6 in brackets), or undefined. */
function hostname(host: string): string | undefined {
  try {
    return new URL(`http://${host}`).hostname;
  } catch {
    return undefined;
  }
}

/** The names a server on `host` answers to: the loopback names, `host` (or, for a wildcard, every local address), and `extra`. */
export function allowedHostnames(host: string, extra: readonly string[] = []): Set<string> {
  const names = new Set(LOOPBACK);
  const add = (h: string): void => {
    const n = hostname(h.includes(':') && !h.startsWith('[') ? `[${h}]` : h);
    if (n !== undefined) names.add(n);
  };
  if (WILDCARDS.has(host)) {
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) add(a.address);
  } else add(host);
  for (const h of extra) add(h);
  return names;
}

/** The `Host` and `Origin` checks of one server. */
export interface HostChecks {
  /** Whether the request's `Host` names this server. */
  hostAllowed(req: IncomingMessage): boolean;
  /** Whether the request's `Origin` may connect (and use chaos): none (not a browser) is allowed. */
  originAllowed(req: IncomingMessage): boolean;
}

/**
 * `allowedHosts`: more names (or `'any'`: no `Host` check). `allowedOrigins`: a list replaces the
 * default (an `http(s)` origin whose host name is allowed, any port); `'any'`: no check.
 */
export function hostChecks(
  host: string,
  allowedHosts: readonly string[] | 'any' | undefined,
  allowedOrigins: readonly string[] | 'any' | undefined,
): HostChecks {
  const names = allowedHostnames(host, allowedHosts === 'any' ? [] : allowedHosts);
  return {
    hostAllowed(req) {
      if (allowedHosts === 'any') return true;
      const h = req.headers.host;
      const n = h === undefined ? undefined : hostname(h);
      return n !== undefined && names.has(n);
    },
    originAllowed(req) {
      const origin = req.headers.origin;
      if (origin === undefined || allowedOrigins === 'any') return true;
      if (Array.isArray(allowedOrigins)) return allowedOrigins.includes(origin);
      let u: URL;
      try {
        u = new URL(origin);
      } catch {
        return false; // includes the opaque origin "null"
      }
      return (u.protocol === 'http:' || u.protocol === 'https:') && names.has(u.hostname);
    },
  };
}
