// The reference server of the chaos suite must be the recipe of docs/delivery.md, to the letter: its
// functions and its connection handler, with the types stripped, print exactly as the README's.
import { readFileSync } from 'node:fs';
import { transformSync } from 'esbuild';
import { describe, expect, it } from 'vitest';

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');

/** `code` as esbuild prints it: comments, types and layout normalised away. */
const print = (code: string, loader: 'js' | 'ts') => transformSync(code, { loader, format: 'esm' }).code;

/** The balanced `{ … }` that starts at the first `{` after `marker`. */
const block = (code: string, marker: string) => {
  const start = code.indexOf('{', code.indexOf(marker) + marker.length);
  expect(code.indexOf(marker)).toBeGreaterThanOrEqual(0);
  let depth = 0;
  for (let i = start; i < code.length; i++) {
    if (code[i] === '{') depth++;
    else if (code[i] === '}' && --depth === 0) return code.slice(start, i + 1);
  }
  throw new Error(`unbalanced after ${marker}`);
};

describe('the chaos suite’s server is the README recipe', () => {
  const readme = read('../../docs/delivery.md');
  const from = readme.indexOf('**Server recipe.**');
  const recipe = print(readme.slice(readme.indexOf('```js\n', from) + 6, readme.indexOf('```\n', from + 1)), 'js');
  const source = read('./recipe-server.ts');
  const ours = print(
    source.slice(source.indexOf('// ---- the recipe ----'), source.indexOf("// ---- the tests' wiring ----")),
    'ts',
  );

  for (const name of ['function publish(', 'function idStore(', 'function resume('])
    it(`${name.slice(9, -1)} is the recipe's`, () => {
      expect(block(ours, name)).toBe(block(recipe, name));
    });

  it('the connection handler is the recipe’s', () => {
    expect(block(ours, 'const connection = (ws) =>')).toBe(block(recipe, 'wss.on("connection", (ws) =>'));
  });

  it('the state starts as the recipe’s', () => {
    for (const line of [
      'const history = [];',
      'let nextId = Date.now() * 1e3;',
      'let floor = nextId;',
      'const live = /* @__PURE__ */ new Set();',
      'const MAX_IDS = 1e3;',
    ]) {
      expect(recipe).toContain(line);
      expect(ours).toContain(line);
    }
  });
});
