import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { ESLint } from 'eslint';
import { ROOT } from '../../harness/helpers';

/**
 * The layering rule of eslint.config.mjs (ARCHITECTURE.md), tried on probe sources that are
 * linted as if they lived at a given path. `npm test` lints the real tree; this shows the rule
 * would catch a wrong-way import at all, and lets the right ones through.
 */
const eslint = new ESLint({
  cwd: ROOT,
  // Probe files are not part of the TypeScript project; the layering rule needs no types.
  overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
  ruleFilter: ({ ruleId }) => ruleId === '@typescript-eslint/no-restricted-imports',
});

async function refusedImports(file: string, imports: string[]): Promise<string[]> {
  const code = imports.map((line, i) => `${line.replace('{X}', `{ x${i} }`)}\nexport const y${i} = x${i};\n`).join('');
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return result.messages.map((message) => {
    assert.equal(message.ruleId, '@typescript-eslint/no-restricted-imports', message.message);
    return imports[(message.line - 1) / 2];
  });
}

test('a layer may import the layers below it, not above or beside', async () => {
  const refused = await refusedImports('image_classification/codecs/probe.ts', [
    "import {X} from '../errors';",
    "import {X} from '../handler/pipeline';",
    "import {X} from '../classifier/predictor';",
    "import {X} from '../http/app';",
    "import {X} from '../runtime/session';",
  ]);
  assert.deepEqual(refused, [
    "import {X} from '../handler/pipeline';",
    "import {X} from '../classifier/predictor';",
    "import {X} from '../http/app';",
    "import {X} from '../runtime/session';",
  ]);

  assert.deepEqual(
    await refusedImports('image_classification/handler/probe.ts', [
      "import {X} from '../classifier/predictor';",
      "import {X} from '../codecs/negotiation';",
      "import {X} from '../http/admission';",
      "import {X} from '../settings';",
    ]),
    ["import {X} from '../http/admission';", "import {X} from '../settings';"],
  );
});

test('only the composition root reads the environment: layers take the Config type', async () => {
  assert.deepEqual(
    await refusedImports('image_classification/runtime/probe.ts', ["import type {X} from '../config';", "import {X} from '../config';"]),
    ["import {X} from '../config';"],
  );
  assert.deepEqual(
    await refusedImports('image_classification/worker.ts', ["import {X} from './config';", "import {X} from './http/app';"]),
    [],
  );
});

test('test/ and bench/ share code only through harness/, which imports neither', async () => {
  assert.deepEqual(
    await refusedImports('test/unit/probe.ts', ["import {X} from '../../bench/load';", "import {X} from '../../harness/env';"]),
    ["import {X} from '../../bench/load';"],
  );
  assert.deepEqual(await refusedImports('bench/probe.ts', ["import {X} from '../test/helpers';", "import {X} from '../harness/env';"]), [
    "import {X} from '../test/helpers';",
  ]);
  assert.deepEqual(await refusedImports('harness/probe.ts', ["import {X} from '../test/helpers';", "import {X} from '../bench/load';"]), [
    "import {X} from '../test/helpers';",
    "import {X} from '../bench/load';",
  ]);
});

test('onnxruntime-node is loaded only by runtime/onnxruntime.ts, however it is imported', async () => {
  const ortRules = new Set(['no-restricted-imports', 'no-restricted-syntax']);
  const lint = new ESLint({
    cwd: ROOT,
    overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
    ruleFilter: ({ ruleId }) => ortRules.has(ruleId),
  });
  const probe = [
    "import * as ort from 'onnxruntime-node';",
    "export const loading = import('onnxruntime-node');",
    "export const required: unknown = require('onnxruntime-node');",
    "export const other = import('sharp');",
    'export const used = ort;',
  ].join('\n');
  const refusedLines = async (file: string) =>
    (await lint.lintText(probe, { filePath: path.join(ROOT, file) }))[0]!.messages.map((message) => message.line);
  assert.deepEqual(await refusedLines('image_classification/classifier/probe.ts'), [1, 2, 3]);
  assert.deepEqual(await refusedLines('image_classification/runtime/onnxruntime.ts'), []);
});
