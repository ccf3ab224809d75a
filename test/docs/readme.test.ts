// The README stays a five-minute read, and its API at a glance names everything each import
// path exports, so a new export cannot go unmentioned.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { read, root } from './markdown';

const readme = read('README.md');

describe('README', () => {
  it('is short, and its first runnable command comes early', () => {
    const lines = readme.split('\n');
    expect(lines.length).toBeLessThanOrEqual(200);
    expect(Buffer.byteLength(readme)).toBeLessThanOrEqual(12_000);
    const firstCommand = lines.findIndex((l) => l.startsWith('npm install') || l.startsWith('git clone'));
    expect(firstCommand).toBeGreaterThan(0);
    expect(firstCommand).toBeLessThan(40);
  });

  it('names every runtime export of every import path in its API at a glance', async () => {
    const start = readme.indexOf('## API at a glance');
    const glance = readme.slice(start, readme.indexOf('\n## ', start + 1));
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      exports: Record<string, { import?: { default?: string } }>;
    };
    const missing: string[] = [];
    for (const [path, entry] of Object.entries(pkg.exports)) {
      const file = entry.import?.default;
      if (!file) continue;
      const name = path === '.' ? 'resilient-ws' : `resilient-ws${path.slice(1)}`;
      expect(glance).toContain(`\`${name}\``);
      const mod = (await import(pathToFileURL(join(root, file)).href)) as Record<string, unknown>;
      for (const key of Object.keys(mod)) if (!glance.includes(`\`${key}`)) missing.push(`${name}: ${key}`);
    }
    expect(missing).toEqual([]);
  });
});
