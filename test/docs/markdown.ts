// Reading the project's Markdown the way GitHub renders it: headings and their anchors, links,
// fenced code blocks. Shared by the docs tests.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../', import.meta.url));

/** README.md, CHANGELOG.md and every docs/*.md, as paths relative to the repository. */
export const markdownFiles = (): string[] => [
  'README.md',
  'CHANGELOG.md',
  ...readdirSync(`${root}docs`)
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];

export const read = (file: string): string => readFileSync(`${root}${file}`, 'utf8');

/** The text with fenced code blocks blanked out (line count kept), so examples are not read as prose. */
export const withoutCode = (md: string): string => {
  let fenced = false;
  return md
    .split('\n')
    .map((line) => {
      if (/^\s*(```|~~~)/.test(line)) {
        fenced = !fenced;
        return '';
      }
      return fenced ? '' : line;
    })
    .join('\n');
};

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export const slug = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/<[^>]+>/g, '')
    .replace(/[`*_]/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[^\p{L}\p{N}\s-]/gu, '')
    .replace(/\s/g, '-');

/** Every anchor a file defines: its headings (with GitHub's `-1`, `-2` for repeats) and `<a id>`s. */
export const anchors = (md: string): Set<string> => {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutCode(md).split('\n')) {
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (h) {
      const base = slug(h[1] ?? '');
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      out.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const m of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) out.add(m[1] ?? '');
  }
  return out;
};

export interface Link {
  file: string;
  line: number;
  target: string;
}

/** Every inline Markdown link and image outside code: `[text](target)`. */
export const links = (file: string, md: string): Link[] => {
  const out: Link[] = [];
  withoutCode(md)
    .split('\n')
    .forEach((text, i) => {
      // drop inline code spans first: `[x](y)` inside backticks is not a link
      const plain = text.replace(/`[^`]*`/g, '');
      for (const m of plain.matchAll(/!?\[(?:[^\]]|\][^(])*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g))
        out.push({ file, line: i + 1, target: m[1] ?? '' });
    });
  return out;
};

/** The fenced code blocks of a file, with their info string (```` ```js title ````). */
export const codeBlocks = (md: string): { info: string; code: string }[] => {
  const out: { info: string; code: string }[] = [];
  const re = /^```([^\n]*)\n([\s\S]*?)^```$/gm;
  for (const m of md.matchAll(re)) out.push({ info: (m[1] ?? '').trim(), code: m[2] ?? '' });
  return out;
};
