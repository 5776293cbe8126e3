import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * The models that should be served, as one JSON file in serve's run dir: written only by
 * serve's model manager (atomically, by rename), read by every worker. It is what a worker
 * pm2 restarts loads, and what each invocation checks (a stat, and a read only when it
 * changed), so a worker never serves a model that was unloaded or replaced.
 */

const entrySchema = z.object({
  name: z.string(),
  /** The location the load named, as SageMaker's GET /models reports it. */
  url: z.string(),
  /** The model directory the workers load (an archive's unpacked copy, or the url itself). */
  dir: z.string(),
  /** Unique per load: a name unloaded and loaded again is a different model. */
  generation: z.number().int(),
});
const fileSchema = z.object({ models: z.array(entrySchema) });

export type RegistryEntry = z.infer<typeof entrySchema>;

export function writeRegistry(file: string, entries: Iterable<RegistryEntry>): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify({ models: [...entries] }));
  renameSync(temporary, file);
}

/** A worker's view of the file, re-read only when the file changed since the last look. */
export class RegistryView {
  private stamp = '';
  private entries = new Map<string, RegistryEntry>();

  constructor(private readonly file: string) {}

  current(): ReadonlyMap<string, RegistryEntry> {
    const stat = statSync(this.file, { bigint: true, throwIfNoEntry: false });
    const stamp = stat ? `${stat.ino}:${stat.mtimeNs}:${stat.ctimeNs}:${stat.size}` : '';
    if (stamp !== this.stamp) {
      this.stamp = stamp;
      const parsed = stat ? fileSchema.parse(JSON.parse(readFileSync(this.file, 'utf8'))) : { models: [] };
      this.entries = new Map(parsed.models.map((entry) => [entry.name, entry]));
    }
    return this.entries;
  }
}
