import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import { packageRoot } from '../image_classification/paths';

/**
 * Bundle lambda/src/index.ts (and the AWS SDK clients it uses, so the deployed code does not
 * depend on the runtime's bundled SDK version) into lambda/dist/lambda.zip for nodejs24.x (the runtime the CDK stack gives it).
 */
async function main(): Promise<void> {
  const root = path.join(packageRoot(), 'lambda');
  const outDir = path.join(root, 'dist');
  await mkdir(outDir, { recursive: true });
  const bundle = path.join(outDir, 'index.js');
  await build({
    entryPoints: [path.join(root, 'src', 'index.ts')],
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    minify: true,
    sourcemap: false,
    outfile: bundle,
    logLevel: 'warning',
  });
  const zipFile = path.join(outDir, 'lambda.zip');
  // archiver is ESM-only.
  const { ZipArchive } = await import('archiver');
  await new Promise<void>((resolve, reject) => {
    const output = createWriteStream(zipFile);
    const zip = new ZipArchive({ zlib: { level: 9 } });
    output.on('close', resolve);
    zip.on('error', reject);
    zip.pipe(output);
    zip.file(bundle, { name: 'index.js', date: new Date('2020-01-01T00:00:00Z') });
    void zip.finalize();
  });
  console.log(zipFile);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
