// docs/figures.json: the one source of every figure the docs quote. The bench (`npm run bench --
// --write`) writes its part, the size check (`npm run size -- --write`) its part; the docs mark
// each figure they quote (`<!-- fig:KEY -->text<!-- /fig -->`) and each generated table
// (`<!-- table:KEY -->` … `<!-- /table -->`), and test/docs/figures.test.ts fails when a marked
// text differs from what this file renders for its key.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Figure } from './lib';
import { root } from './lib';

export const FIGURES = join(root, 'docs/figures.json');

/** Where and when a bench ran: the machine's load is recorded as measured, never assumed. */
export interface RunEnv {
  node: string;
  cpus: number;
  cpu: string | undefined;
  platform: string;
  /** 1-minute load average just before and just after the bench ran */
  loadavg1m: { before: number; after: number };
  commit: string | undefined;
  date: string;
}

export interface BenchResult {
  env: RunEnv;
  figures: Figure[];
  named: Record<string, { value: number; unit: string }>;
}

export interface SizeEntry {
  /** short key: `size.<key>` in the docs */
  key: string;
  /** the entry's name in .size-limit.mjs */
  name: string;
  bytes: number;
  limitBytes: number;
}

export interface Figures {
  size?: { commit: string | undefined; date: string; entries: SizeEntry[]; extra: Record<string, number> };
  bench?: Record<string, BenchResult>;
}

export const readFigures = (file = FIGURES): Figures =>
  existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Figures) : {};

export const writeFigures = (figures: Figures, file = FIGURES): void =>
  writeFileSync(file, `${JSON.stringify(figures, null, 2)}\n`);

/** Bytes as size-limit and the docs print them: 1 KB = 1000 bytes, two decimals at most. */
export const kb = (bytes: number, digits = 2): string => `${Number((bytes / 1000).toFixed(digits))} KB`;

const number = (x: number): string => x.toLocaleString('en-US');
const withUnit = (value: number, unit: string): string => `${number(value)}${unit ? ` ${unit}` : ''}`;

/** The machine line of a set of bench runs: CPU, Node, and the load averages measured. */
export const machine = (runs: BenchResult[]): string => {
  const first = runs[0]?.env;
  if (!first) return '';
  const loads = runs.flatMap((r) => [r.env.loadavg1m.before, r.env.loadavg1m.after]);
  const lo = Math.min(...loads).toFixed(1);
  const hi = Math.max(...loads).toFixed(1);
  return `${first.cpus} × ${first.cpu ?? 'unknown CPU'}, Node ${first.node}, load average (1 min) ${lo === hi ? lo : `${lo}–${hi}`}`;
};

/** Every key a doc may quote, with the text it must show. */
export const texts = (f: Figures): Map<string, string> => {
  const out = new Map<string, string>();
  for (const e of f.size?.entries ?? []) {
    out.set(`size.${e.key}`, kb(e.bytes));
    out.set(`size.${e.key}.limit`, kb(e.limitBytes));
  }
  for (const [key, bytes] of Object.entries(f.size?.extra ?? {})) out.set(`size.${key}`, kb(bytes, 1));
  const runs = Object.values(f.bench ?? {});
  if (runs.length) out.set('bench.machine', machine(runs));
  for (const [name, run] of Object.entries(f.bench ?? {})) {
    out.set(`bench.${name}.machine`, machine([run]));
    out.set(`bench.${name}.date`, run.env.date.slice(0, 10));
    for (const [key, v] of Object.entries(run.named)) out.set(`bench.${key}`, withUnit(v.value, v.unit));
  }
  return out;
};

/** A markdown table; columns listed in `right` are right-aligned. */
export const markdown = (rows: string[][], right: number[]): string => {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  const line = (r: string[]) =>
    `| ${widths.map((w, i) => (right.includes(i) ? (r[i] ?? '').padStart(w) : (r[i] ?? '').padEnd(w))).join(' | ')} |`;
  return [
    line(rows[0] as string[]),
    `| ${widths.map((w, i) => (right.includes(i) ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`,
    ...rows.slice(1).map(line),
  ].join('\n');
};

const verdict = (f: Figure): string => (f.ok === undefined ? '' : f.ok ? 'ok' : 'MISS');

/** The main table: one row per figure that names no client. */
export const table = (figures: Figure[]): string =>
  markdown(
    [
      ['benchmark', 'metric', 'value', 'target', ''],
      ...figures.map((f) => [f.bench, f.metric, withUnit(f.value, f.unit), f.target ?? '', verdict(f)]),
    ],
    [2],
  );

/**
 * The side-by-side table: one row per workload (a figure's `bench`, with its unit), one column
 * per client, each cell its value, its ratio to the first client's (the raw socket) and its note;
 * the targets in the last column.
 */
export const sideBySide = (figures: Figure[]): string => {
  const clients = [...new Set(figures.map((f) => f.client as string))];
  const rows = [...new Set(figures.map((f) => f.bench))].map((bench) => {
    const mine = figures.filter((f) => f.bench === bench);
    const cell = (c: string) => {
      const f = mine.find((x) => x.client === c);
      if (!f) return '';
      const ratio = f.ratio === undefined || c === clients[0] ? '' : ` (${f.ratio.toFixed(2)}×)`;
      return `${number(f.value)}${ratio}${f.note ? ` · ${f.note}` : ''}`;
    };
    const targets = mine.filter((f) => f.target).map((f) => `${f.client} ${f.target}: ${verdict(f)}`);
    return [`${bench}, ${mine[0]?.unit}`, ...clients.map(cell), targets.join('; ')];
  });
  return markdown([['workload', ...clients, 'target'], ...rows], []);
};

/** Every generated table a doc may hold, by key. */
export const tables = (f: Figures): Map<string, string> => {
  const out = new Map<string, string>();
  const all = Object.values(f.bench ?? {}).flatMap((r) => r.figures);
  const paired = all.filter((x) => x.client !== undefined);
  const rest = all.filter((x) => x.client === undefined);
  if (paired.length) out.set('bench.side-by-side', sideBySide(paired));
  if (rest.length) out.set('bench.main', table(rest));
  return out;
};

const FIG = /<!-- fig:([a-z0-9.-]+) -->([\s\S]*?)<!-- \/fig -->/g;
const TABLE = /<!-- table:([a-z0-9.-]+) -->\n([\s\S]*?)\n?<!-- \/table -->/g;

/** Every marked figure and table of a Markdown text: key, the text shown, and what it should be. */
export const marks = (
  md: string,
  f: Figures,
): { kind: 'fig' | 'table'; key: string; shown: string; expected: string | undefined }[] => {
  const t = texts(f);
  const tb = tables(f);
  return [
    ...[...md.matchAll(FIG)].map((m) => ({
      kind: 'fig' as const,
      key: m[1] ?? '',
      shown: m[2] ?? '',
      expected: t.get(m[1] ?? ''),
    })),
    ...[...md.matchAll(TABLE)].map((m) => ({
      kind: 'table' as const,
      key: m[1] ?? '',
      shown: m[2] ?? '',
      expected: tb.get(m[1] ?? ''),
    })),
  ];
};

/** The text with every marked figure and table rewritten from `f` (unknown keys left alone). */
export const render = (md: string, f: Figures): string => {
  const t = texts(f);
  const tb = tables(f);
  return md
    .replace(FIG, (all, key: string) => {
      const v = t.get(key);
      return v === undefined ? all : `<!-- fig:${key} -->${v}<!-- /fig -->`;
    })
    .replace(TABLE, (all, key: string) => {
      const v = tb.get(key);
      return v === undefined ? all : `<!-- table:${key} -->\n${v}\n<!-- /table -->`;
    });
};

/** The Markdown files that may quote figures. */
export const docFiles = (): string[] => {
  return [
    'README.md',
    'CHANGELOG.md',
    ...readdirSync(join(root, 'docs'))
      .filter((n) => n.endsWith('.md'))
      .sort()
      .map((n) => `docs/${n}`),
  ].filter((p) => existsSync(join(root, p)));
};

/** Rewrites the marked figures of every doc from docs/figures.json; returns the files changed. */
export const updateDocs = (f: Figures = readFigures()): string[] => {
  const changed: string[] = [];
  for (const file of docFiles()) {
    const path = join(root, file);
    const before = readFileSync(path, 'utf8');
    const after = render(before, f);
    if (after !== before) {
      writeFileSync(path, after);
      changed.push(file);
    }
  }
  return changed;
};
