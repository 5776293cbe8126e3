import { createReadStream, existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { parseCli, runCli } from '../image_classification/cli/args';
import { packDirectory } from '../image_classification/model/pack';
import { locateHandler } from '../image_classification/handler/loader';
import { MODEL_FILE, readModelBundle } from '../image_classification/model/model-dir';

const USAGE = `usage: npm run package-model -- --dir MODEL_DIR [--out model.tar.gz] [--upload s3://BUCKET/KEY] [--region R] [--dry-run]
Checks MODEL_DIR is a valid model directory (model.onnx, labels.json, optional
preprocessing.json and code/; a dir with a code/ handler needs no model.onnx), packs its contents
as model.tar.gz and optionally uploads it.`;

function parseS3Uri(uri: string): { Bucket: string; Key: string } {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) throw new Error(`--upload expects s3://bucket/key, got '${uri}'`);
  return { Bucket: match[1]!, Key: match[2]! };
}

runCli(async () => {
  const { values } = parseCli(
    {
      dir: { type: 'string' },
      out: { type: 'string', default: 'model.tar.gz' },
      upload: { type: 'string' },
      region: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      help: { type: 'boolean' },
    },
    USAGE,
  );
  if (!values.dir) throw new Error(`--dir is required\n\n${USAGE}`);
  // With a handler (which may load the model its own way) the built-in files are checked only if present.
  const handlerFile = locateHandler({ submitDirectory: undefined, program: undefined }, values.dir);
  const builtIn =
    !handlerFile || existsSync(path.join(values.dir, MODEL_FILE))
      ? `${(await readModelBundle(values.dir)).labels.length} classes`
      : undefined;
  const contents = [builtIn, handlerFile && `handler ${path.relative(values.dir, handlerFile)}`].filter(Boolean).join(', ');
  await packDirectory(values.dir, values.out);
  console.error(`packed ${values.dir} (${contents}) into ${values.out} (${(await stat(values.out)).size} bytes)`);
  if (!values.upload) return;
  const target = parseS3Uri(values.upload);
  if (values['dry-run']) {
    console.log(JSON.stringify({ command: 'PutObject', input: { ...target, Body: values.out } }));
    return;
  }
  const s3 = new S3Client(values.region ? { region: values.region } : {});
  await s3.send(new PutObjectCommand({ ...target, Body: createReadStream(values.out), ContentLength: (await stat(values.out)).size }));
  console.log(values.upload);
});
