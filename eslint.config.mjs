// @ts-check
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * The layering of image_classification/ (ARCHITECTURE.md): each folder lists what it may
 * import; any other folder or top-level module of the package is an error. Entry points
 * (serve.ts, worker.ts, settings.ts, cli/, index.ts) may import anything. `config` (the
 * environment's names) reaches the layers only as a type, from the composition root.
 */
const BOTTOM = ['errors', 'logger', 'paths', 'deadline', 'stage-timing'];
const LAYERS = {
  http: ['handler', 'multi-model', 'codecs', 'metrics', ...BOTTOM],
  'multi-model': ['handler', 'model', ...BOTTOM],
  handler: ['classifier', 'runtime', 'preprocess', 'codecs', 'model', ...BOTTOM],
  classifier: ['runtime', 'preprocess', 'codecs', 'model', ...BOTTOM],
  training: ['classifier', 'quantize', 'runtime', 'preprocess', 'codecs', 'model', ...BOTTOM],
  quantize: ['runtime', 'preprocess', 'codecs', 'model', ...BOTTOM],
  preprocess: ['codecs', 'model', ...BOTTOM],
  runtime: ['codecs', ...BOTTOM],
  model: ['errors', 'paths'],
  codecs: ['errors'],
  metrics: BOTTOM,
  errors: [],
};
const FOLDERS = ['cli', ...Object.keys(LAYERS)];
const TOP_LEVEL = [
  'serve',
  'worker',
  'settings',
  'config',
  'nginx-config',
  'nginx-process',
  'public-port',
  'child-output',
  'child-lifetime',
  'worker-log-channel',
  'worker-supervisor',
  'run-dir',
  'memory-fit',
  'pm2-process',
  'worker-watchdog',
  'proc-stat',
  'index',
  'worker-env',
  'memory-trim',
  'allocator',
  ...BOTTOM,
];
const PACKAGE = [...FOLDERS, ...TOP_LEVEL];

/** An import path that names one of `names`, seen from `prefix` (`../` in a folder, `./` at the top). */
const naming = (prefix, names) => `^${prefix.replaceAll('.', '\\.')}(${names.join('|')})(/|$)`;

const layerRules = Object.entries(LAYERS).map(([layer, allowed]) => {
  const forbidden = PACKAGE.filter((name) => name !== layer && name !== 'config' && !allowed.includes(name));
  return {
    files: [`image_classification/${layer}/**/*.ts`],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: naming('../', forbidden),
              message: `${layer}/ may import only ${allowed.join(', ') || 'nothing of the package'} (ARCHITECTURE.md)`,
            },
            {
              regex: naming('../', ['config']),
              allowTypeImports: true,
              message: 'the environment is read in the composition root; take the Config type or options',
            },
          ],
        },
      ],
    },
  };
});

const restrict = (files, regex, message) => ({
  files,
  rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ regex, message }] }] },
});

const ORT_ONLY_THROUGH_RUNTIME = 'import { ort } from runtime/onnxruntime: it loads ONNX Runtime with its telemetry off';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'cdk.out/**', 'lambda/dist/**', 'model/**', 'data/**', 'docs/**'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // A dropped promise is an unhandled rejection, which ends a worker process.
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test reports a failing test itself; its test() promise needs no handler.
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { ...globals.node } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  { files: ['web/**/*.js'], languageOptions: { globals: { ...globals.browser }, sourceType: 'module' } },
  ...layerRules,
  restrict(
    ['image_classification/{logger,paths,deadline,worker-env,stage-timing}.ts'],
    naming(
      './',
      PACKAGE.filter((name) => name !== 'errors'),
    ),
    'the bottom modules import nothing of the package but errors/',
  ),
  {
    // Core ESLint's rule, so that it adds to the layering rules (typescript-eslint's) instead of replacing them.
    files: ['**/*.ts'],
    ignores: ['image_classification/runtime/onnxruntime.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'onnxruntime-node', message: ORT_ONLY_THROUGH_RUNTIME }],
        },
      ],
      // The same for import('onnxruntime-node') and require('onnxruntime-node'), which no-restricted-imports does not see.
      'no-restricted-syntax': [
        'error',
        { selector: "ImportExpression[source.value='onnxruntime-node']", message: ORT_ONLY_THROUGH_RUNTIME },
        { selector: "CallExpression[callee.name='require'][arguments.0.value='onnxruntime-node']", message: ORT_ONLY_THROUGH_RUNTIME },
      ],
    },
  },
  restrict(['harness/**/*.ts'], '^(\\.\\./)+(test|bench)(/|$)', 'harness/ is shared by test/ and bench/ and imports neither'),
  restrict(['bench/**/*.ts'], '^(\\.\\./)+test(/|$)', 'bench/ shares code with test/ through harness/ only'),
  restrict(['test/**/*.ts'], '^(\\.\\./)+bench(/|$)', 'test/ shares code with bench/ through harness/ only'),
  prettier,
);
