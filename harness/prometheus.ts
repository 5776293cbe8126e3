/** One sample of Prometheus' text format: `name{label="value",…} value`. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const SAMPLE = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? (\S+)$/gm;
const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;

/** Every sample in a scrape (comments and blank lines skipped). */
export function parseSamples(text: string): Sample[] {
  return [...text.matchAll(SAMPLE)].map(([, name, labels = '', value]) => ({
    name: name!,
    labels: Object.fromEntries([...labels.matchAll(LABEL)].map(([, key, raw]) => [key!, raw!.replace(/\\(.)/g, '$1')])),
    value: Number(value),
  }));
}

/** The sum of a series over the samples whose labels match `where`. */
export function total(samples: readonly Sample[], name: string, where: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(where).every(([key, value]) => s.labels[key] === value))
    .reduce((sum, s) => sum + s.value, 0);
}
