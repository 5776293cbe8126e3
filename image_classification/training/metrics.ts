export interface ClassMetrics {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  readonly support: number;
}

export interface Evaluation {
  readonly classes: readonly string[];
  /** confusion[true][predicted] */
  readonly confusion: number[][];
  readonly accuracy: number;
  readonly perClass: ClassMetrics[];
  readonly total: number;
}

export function evaluatePredictions(truth: readonly number[], predicted: readonly number[], classes: readonly string[]): Evaluation {
  const confusion = classes.map(() => classes.map(() => 0));
  truth.forEach((t, i) => confusion[t]![predicted[i]!]!++);
  const perClass = classes.map((_, k) => {
    const tp = confusion[k]![k]!;
    const support = confusion[k]!.reduce((a, b) => a + b, 0);
    const predictedK = confusion.reduce((a, row) => a + row[k]!, 0);
    const precision = predictedK ? tp / predictedK : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    return { precision, recall, f1, support };
  });
  const correct = classes.reduce((a, _, k) => a + confusion[k]![k]!, 0);
  return { classes, confusion, accuracy: truth.length ? correct / truth.length : 0, perClass, total: truth.length };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** Markdown tables: per-class metrics, then the confusion matrix. Printed and written to EVAL.md. */
export function formatEvaluation(ev: Evaluation): string {
  const lines = [
    `Accuracy: **${pct(ev.accuracy)}** (${Math.round(ev.accuracy * ev.total)}/${ev.total})`,
    '',
    '| class | precision | recall | F1 | images |',
    '|---|---:|---:|---:|---:|',
    ...ev.classes.map((c, k) => {
      const m = ev.perClass[k]!;
      return `| ${c} | ${pct(m.precision)} | ${pct(m.recall)} | ${pct(m.f1)} | ${m.support} |`;
    }),
    '',
    'Confusion matrix (rows: true class, columns: predicted):',
    '',
    `| true \\ predicted | ${ev.classes.join(' | ')} |`,
    `|---|${ev.classes.map(() => '---:').join('|')}|`,
    ...ev.classes.map((c, k) => `| ${c} | ${ev.confusion[k]!.join(' | ')} |`),
  ];
  return lines.join('\n');
}
