// The README quotes the size budgets; `.size-limit.mjs` enforces them (a JS config, so the core
// can be measured as a production bundle sees it). This keeps the two from drifting apart: one
// README table row per budget, same limit.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain JS config, untyped
import sizeLimit from '../../.size-limit.mjs';

interface Budget {
  name: string;
  limit: string;
}

const root = new URL('../../', import.meta.url);
const budgets = sizeLimit as Budget[];

const START = '<!-- size-limit -->';
const END = '<!-- /size-limit -->';

/**
 * The rows of the table between `<!-- size-limit -->` and `<!-- /size-limit -->`, as
 * [what, budget] with backticks removed; header and separator rows are skipped.
 */
const readmeBudgets = (md: string): [string, string][] => {
  const start = md.indexOf(START);
  const end = md.indexOf(END, start);
  if (start < 0 || end < 0) throw new Error(`docs/performance.md has no ${START} … ${END} table`);
  const rows = md
    .slice(start + START.length, end)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('|'))
    .map((l) =>
      l
        .replace(/^\||\|$/g, '')
        .split('|')
        .map((c) => c.replace(/`/g, '').trim()),
    );
  // rows[0] is the header, rows[1] the |---| separator
  return rows.slice(2).map((cells) => [cells[0] ?? '', cells[1] ?? '']);
};

describe('README size table', () => {
  it('.size-limit.mjs has a gzip budget for every entry point, and is the only size-limit config', () => {
    expect(JSON.parse(readFileSync(new URL('package.json', root), 'utf8'))).not.toHaveProperty('size-limit');
    expect(budgets.length).toBeGreaterThanOrEqual(3);
    for (const b of budgets) {
      expect(b).toMatchObject({ gzip: true });
      expect(b.limit).toMatch(/^\d+(\.\d+)? (B|KB)$/);
    }
  });

  it('quotes exactly the budgets of .size-limit.mjs, in the same order', () => {
    const md = readFileSync(new URL('docs/performance.md', root), 'utf8');
    expect(readmeBudgets(md)).toEqual(budgets.map((b) => [b.name, b.limit]));
  });

  it('parses the table format it documents', () => {
    const md = [
      'text',
      START,
      '| What you load | Budget (min + gzip) |',
      '|---|---|',
      "| `import { WebSocketClient } from 'resilient-ws'` | 4 KB |",
      '| `dist/resilient-ws.min.js` (`<script>` tag) | 4.2 KB |',
      END,
      '| not | this |',
    ].join('\n');
    expect(readmeBudgets(md)).toEqual([
      ["import { WebSocketClient } from 'resilient-ws'", '4 KB'],
      ['dist/resilient-ws.min.js (<script> tag)', '4.2 KB'],
    ]);
    expect(() => readmeBudgets('no table')).toThrow(/size-limit/);
  });
});
