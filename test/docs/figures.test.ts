// Every figure the docs quote comes from docs/figures.json, which the size check
// (`npm run size -- --write`) and the bench (`npm run bench -- --write`) write. The docs mark
// what they quote (`<!-- fig:KEY -->text<!-- /fig -->`, and whole generated tables between
// `<!-- table:KEY -->` and `<!-- /table -->`); this test fails when a marked text is not exactly
// what the source says, when a key is unknown, and when a size or throughput figure appears
// without a mark.
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain JS config, untyped
import sizeLimit from '../../.size-limit.mjs';
import { type Figures, kb, marks, readFigures, render, texts } from '../../bench/figures';
import { sizeKey } from '../../bench/size';
import { markdownFiles, read, withoutCode } from './markdown';

const figures = readFigures();
const files = markdownFiles();

/**
 * Figures that must come from the source: sizes in KB, throughputs, and claims about the
 * machine's load. Budgets are quoted in the size-limit table, which its own test keeps equal to
 * .size-limit.mjs.
 */
const UNMARKED = [
  /\b\d[\d,.]*\s?KB\b/,
  /\b\d[\d,.]*\s?(msg|msgs|messages|deliveries)\/s\b/,
  /deliveries per second[^|\n]*\|\s*\d/,
  /\b(otherwise idle|idle machine|quiet machine)\b/i,
];

/** The text with marked figures, marked tables and the size-limit budget table taken out. */
const unmarked = (md: string): string =>
  withoutCode(md)
    .replace(/<!-- fig:[\s\S]*?<!-- \/fig -->/g, '')
    .replace(/<!-- table:[\s\S]*?<!-- \/table -->/g, '')
    .replace(/<!-- size-limit -->[\s\S]*?<!-- \/size-limit -->/g, '');

describe('figures in the docs', () => {
  it.each(files)('%s: every marked figure is what docs/figures.json says', (file) => {
    const wrong = marks(read(file), figures)
      .filter((m) => m.shown !== m.expected)
      .map((m) =>
        m.expected === undefined
          ? `${m.kind}:${m.key} is not in docs/figures.json`
          : `${m.kind}:${m.key} shows ${JSON.stringify(m.shown)}, the source says ${JSON.stringify(m.expected)}`,
      );
    expect(wrong).toEqual([]);
  });

  it.each(files)('%s: no size, throughput or load claim without a mark', (file) => {
    const lines = unmarked(read(file))
      .split('\n')
      .map((l, i) => [i + 1, l] as const)
      .filter(([, l]) => UNMARKED.some((re) => re.test(l)))
      .map(([n, l]) => `${file}:${n}: ${l.trim()}`);
    expect(lines).toEqual([]);
  });

  it('docs/figures.json holds every size-limit entry, measured, with the budget of .size-limit.mjs', () => {
    const budgets = sizeLimit as { name: string; limit: string }[];
    const entries = figures.size?.entries ?? [];
    expect(entries.map((e) => e.name)).toEqual(budgets.map((b) => b.name));
    for (const [i, b] of budgets.entries()) {
      const e = entries[i];
      expect(e?.key).toBe(sizeKey(b.name));
      expect(kb(e?.limitBytes ?? 0)).toBe(b.limit.replace(/^(\d+(?:\.\d+)?) KB$/, (_, n: string) => `${Number(n)} KB`));
      expect(e?.bytes).toBeGreaterThan(0);
    }
  });

  it('every bench run records its machine and the load it measured', () => {
    const runs = Object.entries(figures.bench ?? {});
    expect(runs.length).toBeGreaterThan(0);
    for (const [, run] of runs) {
      expect(run.env.cpus).toBeGreaterThan(0);
      expect(typeof run.env.cpu).toBe('string');
      expect(Number.isFinite(run.env.loadavg1m.before) && Number.isFinite(run.env.loadavg1m.after)).toBe(true);
      expect(run.figures.length).toBeGreaterThan(0);
    }
  });

  it('catches a stale, an unknown and an unmarked figure, and rewrites marks from the source', () => {
    const f: Figures = {
      size: {
        commit: undefined,
        date: '2026-01-01',
        entries: [{ key: 'core', name: 'core', bytes: 4240, limitBytes: 4300 }],
        extra: {},
      },
    };
    expect(texts(f).get('size.core')).toBe('4.24 KB');
    expect(texts(f).get('size.core.limit')).toBe('4.3 KB');
    const md = 'a <!-- fig:size.core -->4.3 KB<!-- /fig --> b <!-- fig:size.nope -->1 KB<!-- /fig -->';
    expect(marks(md, f).map((m) => [m.key, m.shown, m.expected])).toEqual([
      ['size.core', '4.3 KB', '4.24 KB'],
      ['size.nope', '1 KB', undefined],
    ]);
    expect(render(md, f)).toBe(
      'a <!-- fig:size.core -->4.24 KB<!-- /fig --> b <!-- fig:size.nope -->1 KB<!-- /fig -->',
    );
    expect(UNMARKED.some((re) => re.test(unmarked('the core is 4.3 KB')))).toBe(true);
    expect(UNMARKED.some((re) => re.test(unmarked('16,697 msg/s')))).toBe(true);
    expect(UNMARKED.some((re) => re.test(unmarked('with the machine otherwise idle')))).toBe(true);
    expect(UNMARKED.some((re) => re.test(unmarked(md)))).toBe(false);
  });
});
