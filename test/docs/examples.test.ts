// The README's quick start and the examples run as the docs show them, against the demo server
// started the way the docs start it (`npm run demo`, here on a free port), and `npm run demo`
// is the server process itself, so its PID stops it.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeBlocks, read, root } from './markdown';
import {
  childrenOf,
  commandLine,
  descendants,
  exited,
  killAll,
  listening,
  runNode,
  type Started,
  startDemo,
} from './run';

const readme = read('README.md');

/** The part of `md` under the heading `## name`, up to the next `## `. */
const section = (md: string, name: string): string => {
  const start = md.indexOf(`\n## ${name}\n`);
  if (start < 0) throw new Error(`no "## ${name}" section`);
  const end = md.indexOf('\n## ', start + 1);
  return md.slice(start, end < 0 ? undefined : end);
};

/** The code block right after `<!-- kind: file -->`, for every such marker. */
const marked = (md: string, kind: string): { file: string; code: string }[] =>
  [...md.matchAll(new RegExp(`<!-- ${kind}: (\\S+) -->\\n\`\`\`[^\\n]*\\n([\\s\\S]*?)^\`\`\`$`, 'gm'))].map((m) => ({
    file: m[1] ?? '',
    code: m[2] ?? '',
  }));

/** The shell commands of the section's `sh` blocks, comments and blank lines left out. */
const commands = (md: string): string[] =>
  codeBlocks(md)
    .filter((b) => b.info === 'sh')
    .flatMap((b) => b.code.split('\n'))
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter(Boolean);

let demo: Started;
beforeAll(async () => {
  demo = await startDemo();
}, 60_000);
afterAll(async () => {
  if (!demo) return;
  const tree = descendants(demo.child.pid as number);
  demo.child.kill('SIGTERM');
  await exited(demo.child, 15_000).finally(() => killAll(tree));
});

describe('README quick start', () => {
  const quick = section(readme, 'Quick start');

  it('shows each example file exactly as it is in examples/', () => {
    const files = marked(quick, 'file');
    expect(files.map((f) => f.file)).toEqual(['examples/quickstart.mjs']);
    for (const f of files) expect(f.code).toBe(readFileSync(`${root}${f.file}`, 'utf8'));
  });

  it('runs command by command as written, and prints what the README says', async () => {
    // The commands a reader types. `npm install` is what made this checkout (`.ci/run` runs
    // it); `npm run demo` is the server started above (the same script, on a free port);
    // every `node …` line runs here against it. A command of any other kind fails the test, so
    // the README cannot grow a step this test does not run.
    const cmds = commands(quick);
    expect(cmds).toEqual(['npm install --no-audit --no-fund', 'npm run demo', 'node examples/quickstart.mjs']);
    const ci = readFileSync(`${root}.ci/run`, 'utf8');
    expect(ci).toContain(cmds[0]);
    const expected = marked(quick, 'output');
    expect(expected.map((o) => o.file)).toEqual(['examples/quickstart.mjs']);
    const run = await runNode(['examples/quickstart.mjs'], { PORT: String(demo.port) }, 20_000);
    expect(run.out).toBe(expected[0]?.code);
    expect(run.code).toBe(0);
    // "It prints, within a second": with a wide margin for a loaded machine
    expect(run.ms).toBeLessThan(10_000);
  });
});

describe('examples/node.mjs', () => {
  it('makes a request, prints three price ticks, closes, and Node exits by itself with 0', async () => {
    const run = await runNode(['examples/node.mjs'], { PORT: String(demo.port) }, 30_000);
    expect(run.code, run.out).toBe(0);
    const lines = run.out.trim().split('\n');
    expect(lines[0]).toBe(
      typeof (globalThis as { WebSocket?: unknown }).WebSocket === 'function'
        ? "WebSocket: Node's own"
        : 'WebSocket: the ws package',
    );
    expect(lines).toContain('state: open');
    expect(run.out).toMatch(/^server time: \d{4}-\d\d-\d\dT/m);
    expect(lines.filter((l) => /^[A-Z-]+ \d+(\.\d+)?$/.test(l))).toHaveLength(3);
    expect(lines.slice(-2)).toEqual(['state: closing', 'state: closed']);
  });

  it('takes the url as its argument, and without a server gives up with exit code 1', async () => {
    const free = await new Promise<number>((resolve) => {
      import('node:net').then(({ createServer }) => {
        const s = createServer().listen(0, '127.0.0.1', () => {
          const port = (s.address() as { port: number }).port;
          s.close(() => resolve(port));
        });
      });
    });
    const run = await runNode(['examples/node.mjs', `ws://127.0.0.1:${free}/ws`], {}, 40_000);
    expect(run.code).toBe(1);
    expect(run.out).toContain(`no answer from ws://127.0.0.1:${free}/ws: REQUEST_TIMEOUT`);
  });
});

describe('npm run demo', () => {
  it('is the server process itself: npm starts it directly, and it starts none of its own', async () => {
    // polled: npm may run a short-lived helper beside its script; what stays is the server alone
    const npm = demo.child.pid as number;
    expect(demo.child.exitCode, demo.output()).toBeNull();
    await expect
      .poll(() => childrenOf(npm).map(commandLine), { timeout: 10_000, message: demo.output() })
      .toEqual([expect.stringMatching(/^node --import tsx demo\/main\.ts /)]);
    // the server starts no process of its own; tsx's compiler (an `esbuild --service` child that
    // lives as long as its parent, started when a file is not in tsx's cache) is not the server's
    const own = childrenOf(childrenOf(npm)[0] as number)
      .map(commandLine)
      .filter((c) => !/\/esbuild --service=/.test(c));
    expect(own).toEqual([]);
  });

  it('stops with its PID: SIGTERM to the npm process stops the server and frees the port', async () => {
    const own = await startDemo();
    const server = childrenOf(own.child.pid as number)[0] as number;
    const tree = descendants(own.child.pid as number);
    try {
      expect(await listening(own.port)).toBe(true);
      own.child.kill('SIGTERM');
      await exited(own.child, 15_000);
      // npm forwards the signal to the server, which closes and exits
      await expect.poll(() => commandLine(server), { timeout: 10_000 }).toBe('');
      expect(await listening(own.port)).toBe(false);
    } finally {
      killAll(tree);
    }
  });

  it('stops with its PID: SIGKILL to the server frees the port at once', async () => {
    const own = await startDemo();
    const server = childrenOf(own.child.pid as number)[0] as number;
    const tree = descendants(own.child.pid as number);
    try {
      process.kill(server, 'SIGKILL');
      await exited(own.child, 15_000); // npm ends with its script
      expect(await listening(own.port)).toBe(false);
    } finally {
      killAll(tree);
    }
  });
});
