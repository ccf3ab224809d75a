// Global setup of the `browser` project: make sure what the pages load is built and current.
// - `dist/` (the library, `npm run build`): `npm test` builds it first; when the suite runs on
//   its own (`npx vitest run --project browser`) and dist/ is missing or older than src/, build it.
// - `demo/dist/` (the page bundles): always rebuilt with esbuild (under a second), so a page is
//   never stale against the library or demo/pages/.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDemo } from '../../demo/build';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

function libIsCurrent(): boolean {
  const outputs = ['index.mjs', 'react.mjs', 'vue.mjs', 'resilient-ws.min.js'].map((f) => path.join(repo, 'dist', f));
  if (!outputs.every((f) => existsSync(f))) return false;
  const oldestOutput = Math.min(...outputs.map((f) => statSync(f).mtimeMs));
  return oldestOutput >= newestMtime(path.join(repo, 'src'));
}

export async function setup(): Promise<void> {
  if (!libIsCurrent()) {
    execFileSync(process.execPath, [path.join(repo, 'node_modules/rollup/dist/bin/rollup'), '-c', '--silent'], {
      cwd: repo,
      stdio: 'inherit',
    });
  }
  await buildDemo();
}
