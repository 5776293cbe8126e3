import { readFile } from 'node:fs/promises';
import { cliLogLevel, cliModel, parseCli, runCli } from './args';
import { withPredictor } from '../classifier/load-predictor';
import { InferenceError } from '../errors';

const USAGE = `usage: npm run predict -- [--model DIR|model.tar.gz] FILE...
Classifies each image in-process (no server) and prints one JSON line per file,
{"file": ..., "predictions": {...}} -- the same predictions object as POST /invocations.`;

runCli(async () => {
  const { values, positionals } = parseCli({ model: { type: 'string' }, help: { type: 'boolean' } }, USAGE, true);
  if (positionals.length === 0) {
    console.error(USAGE);
    process.exit(2);
  }
  let failed = 0;
  await withPredictor(
    cliModel(values.model),
    async (predictor) => {
      for (const file of positionals) {
        try {
          const [predictions] = await predictor.predict([await readFile(file)]);
          console.log(JSON.stringify({ file, predictions }));
        } catch (error) {
          failed++;
          const code = error instanceof InferenceError ? { code: error.code } : {};
          console.log(JSON.stringify({ file, error: { ...code, message: (error as Error).message } }));
        }
      }
    },
    { logLevel: cliLogLevel() },
  );
  process.exitCode = failed ? 1 : 0;
});
