import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cliModel, parseCli, runCli } from './args';
import { withModelDir } from '../classifier/load-predictor';
import { encodeNpy } from '../codecs/npy';
import { readModelSpec } from '../model/model-dir';
import { imagesToTensor } from '../preprocess/batch';

const USAGE = `usage: npm run tensor -- --out DIR [--model DIR|model.tar.gz] IMAGE...
Preprocesses each image exactly as the server does for the model (its preprocessing.json; the defaults for a directory without one)
and writes DIR/<name>.npy, a float32 [1, 3, S, S] tensor that POST /invocations accepts as
application/x-npy. Prints each file written.`;

runCli(async () => {
  const { values, positionals } = parseCli({ out: { type: 'string' }, model: { type: 'string' }, help: { type: 'boolean' } }, USAGE, true);
  if (!values.out || positionals.length === 0) {
    console.error(USAGE);
    process.exit(2);
  }
  const out = values.out;
  await mkdir(out, { recursive: true });
  await withModelDir(cliModel(values.model), async (dir) => {
    const spec = await readModelSpec(dir);
    for (const file of positionals) {
      const tensor = await imagesToTensor([await readFile(file)], spec);
      const target = path.join(out, `${path.parse(file).name}.npy`);
      await writeFile(target, encodeNpy(tensor));
      console.log(target);
    }
  });
});
