// Before an incremental build: delete what tsc emitted for sources that no longer exist (a
// renamed or deleted test would otherwise still run from dist/). Everything else in dist/
// stays, so a running server keeps its code and tsc re-emits only what changed.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const dist = path.join(root, 'dist');
// Emitted file → the source it came from (json files are copied as they are).
const EMITTED = [
  [/\.d\.ts$/, '.ts'],
  [/\.js\.map$/, '.ts'],
  [/\.js$/, '.ts'],
  [/\.json$/, '.json'],
];

function prune(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      prune(file);
      if (readdirSync(file).length === 0) rmSync(file, { recursive: true });
      continue;
    }
    const rule = EMITTED.find(([pattern]) => pattern.test(entry.name));
    if (!rule) continue;
    const source = path.join(root, path.relative(dist, file)).replace(rule[0], rule[1]);
    if (!existsSync(source)) rmSync(file);
  }
}

if (existsSync(dist)) prune(dist);
