import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Header } from 'tar';
import { packDirectory } from '../../image_classification/model/pack';
import { unpackArchive } from '../../image_classification/model/model-dir';
import { SHIPPED_ARCHIVE } from '../env';

/**
 * A models root full of what a careless operator or an attacker could put behind a load or a
 * TargetModel, for the multi-model hostile cases (multi-model-cases.ts). Every model in it is
 * the shipped model or a copy of it with one thing changed.
 */

/** One tar entry: a header, then the content padded to 512-byte blocks. */
export function tarEntry(name: string, content: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(512);
  new Header({ path: name, mode: 0o644, size: content.length, type: 'File', mtime: new Date(0) }).encode(header, 0);
  return Buffer.concat([header, content, Buffer.alloc((512 - (content.length % 512)) % 512)]);
}

const END_OF_ARCHIVE = Buffer.alloc(1024);

/** A .tar.gz of these entries and the end marker. */
export const gzippedTar = (entries: Buffer[]) => gzipSync(Buffer.concat([...entries, END_OF_ARCHIVE]));

/** `count` empty files, each `depth` directories down: `count × depth` directories from `count` entries. */
export const deepPaths = (count: number, depth: number) =>
  Array.from({ length: count }, (_, i) => tarEntry([`d${i}`, ...Array<string>(depth - 1).fill('x'), 'f'].join('/')));

/** What the handler in `killer/` does at load: kill its own worker, as a crashing native library would. */
const KILLER = 'exports.modelFn = () => process.kill(process.pid, "SIGKILL");\nexports.predictFn = () => ({});\n';

/** A handler that answers which version of its code runs, after `delayMs`. */
export const versionedHandler = (version: number, delayMs = 0) =>
  `exports.modelFn = () => ({});\n` +
  `exports.transformFn = async () => { await new Promise((r) => setTimeout(r, ${delayMs})); ` +
  `return { body: JSON.stringify({ version: ${version} }), contentType: 'application/json' }; };\n`;

export interface HostileModelsRoot {
  readonly root: string;
  /** A directory outside the root (what `escape` links to). */
  readonly outside: string;
  /** Rewrite `code-version/code/inference.js` to answer `version`. */
  setCodeVersion(version: number): Promise<void>;
  remove(): Promise<void>;
}

export async function hostileModelsRoot(): Promise<HostileModelsRoot> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'hostile-models-'));
  const outside = await mkdtemp(path.join(os.tmpdir(), 'hostile-outside-'));
  const shipped = await unpackArchive(SHIPPED_ARCHIVE);
  const copy = async (name: string) => {
    await cp(shipped, path.join(root, name), { recursive: true });
    return path.join(root, name);
  };

  // The shipped model, and the same graph with every label renamed: the two answer differently.
  await copy('trash');
  const other = await copy('other');
  const labels = JSON.parse(await readFile(path.join(other, 'labels.json'), 'utf8')) as string[];
  await writeFile(path.join(other, 'labels.json'), JSON.stringify(labels.map((label) => `other-${label}`)));
  await cp(SHIPPED_ARCHIVE, path.join(root, 'foo.tar.gz'));

  // 20,000 empty files; entries that leave the archive.
  const many = Array.from({ length: 20_000 }, (_, i) => tarEntry(`f/${i}`));
  await writeFile(path.join(root, 'many.tar.gz'), gzippedTar(many));
  // 400 files 31 levels down: 12,400 directories from 400 entries.
  await writeFile(path.join(root, 'deep-dirs.tar.gz'), gzippedTar(deepPaths(400, 31)));
  const escaping = [tarEntry('labels.json', Buffer.from('["a"]')), tarEntry(path.join(outside, 'planted'))];
  await writeFile(path.join(root, 'absolute.tar.gz'), gzippedTar(escaping));
  await writeFile(path.join(root, 'garbage.tar.gz'), Buffer.from('not gzip at all'));

  // preprocessing.json asking for 12000-pixel images.
  const crop = await copy('crop');
  await writeFile(path.join(crop, 'preprocessing.json'), JSON.stringify({ resize_shorter_side: 12000, crop_size: 12000 }));
  // labels.json a FIFO; a link to a device outside the root; model.onnx a directory.
  const fifo = await copy('fifo-labels');
  await rm(path.join(fifo, 'labels.json'));
  execFileSync('mkfifo', [path.join(fifo, 'labels.json')]);
  const zero = await copy('zero-labels');
  await rm(path.join(zero, 'labels.json'));
  await symlink('/dev/zero', path.join(zero, 'labels.json'));
  const dirOnnx = await copy('dir-onnx');
  await rm(path.join(dirOnnx, 'model.onnx'));
  await mkdir(path.join(dirOnnx, 'model.onnx'));
  // A plain file and a FIFO as the location itself.
  await writeFile(path.join(root, 'notes.txt'), 'not a model');
  execFileSync('mkfifo', [path.join(root, 'pipe')]);
  execFileSync('mkfifo', [path.join(root, 'pipe.tar.gz')]);
  // A link out of the root, and a model whose code is a link out of it.
  await symlink(outside, path.join(root, 'escape'));
  await writeFile(path.join(outside, 'inference.js'), versionedHandler(0));
  const linked = await copy('linked-code');
  await mkdir(path.join(linked, 'code'));
  await symlink(path.join(outside, 'inference.js'), path.join(linked, 'code', 'inference.js'));

  // A handler that kills its worker while loading.
  const killer = await copy('killer');
  await mkdir(path.join(killer, 'code'));
  await writeFile(path.join(killer, 'code', 'inference.js'), KILLER);
  // Handler code that changes between loads; an archive whose requests take 2 s each.
  const versioned = path.join(root, 'code-version');
  await mkdir(path.join(versioned, 'code'), { recursive: true });
  const slow = await mkdtemp(path.join(os.tmpdir(), 'slow-model-'));
  await mkdir(path.join(slow, 'code'));
  await writeFile(path.join(slow, 'code', 'inference.js'), versionedHandler(1, 2000));
  await packDirectory(slow, path.join(root, 'slow.tar.gz'));
  // The same small archive followed by 16 MiB of zeros after its end-of-archive marker (17 kB gzipped).
  const raw = gunzipSync(await readFile(path.join(root, 'slow.tar.gz')));
  await writeFile(path.join(root, 'zeros.tar.gz'), gzipSync(Buffer.concat([raw, Buffer.alloc(16 * 1024 * 1024)]), { level: 9 }));
  await rm(slow, { recursive: true, force: true });
  await rm(shipped, { recursive: true, force: true });

  const setCodeVersion = (version: number) => writeFile(path.join(versioned, 'code', 'inference.js'), versionedHandler(version));
  await setCodeVersion(1);
  return {
    root,
    outside,
    setCodeVersion,
    remove: async () => {
      await rm(root, { recursive: true, force: true });
      await rm(outside, { recursive: true, force: true });
    },
  };
}
