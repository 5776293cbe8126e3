export interface ClassPrediction {
  class: string;
  probability: number;
  probabilities: Record<string, number>;
}

/** Numerically stable softmax (subtract the max before exponentiating). */
export function softmax(values: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) max = Math.max(max, values[i]!);
  const out = new Float64Array(values.length);
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    out[i] = Math.exp(values[i]! - max);
    sum += out[i]!;
  }
  for (let i = 0; i < out.length; i++) out[i]! /= sum;
  return out;
}

/** True when a row already is a probability distribution (a softmax output). */
export function isDistribution(values: ArrayLike<number>, tolerance = 1e-3): boolean {
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(v >= 0 && v <= 1)) return false;
    sum += v;
  }
  return Math.abs(sum - 1) <= tolerance;
}

export function toPrediction(scores: ArrayLike<number>, labels: readonly string[], applySoftmax: boolean): ClassPrediction {
  const probs = applySoftmax ? softmax(scores) : scores;
  let best = 0;
  for (let i = 1; i < labels.length; i++) if (probs[i]! > probs[best]!) best = i;
  // fromEntries defines own properties: a class named `__proto__` is a key like any other,
  // where assignment would have set the object's prototype and dropped the class.
  const probabilities: Record<string, number> = Object.fromEntries(labels.map((label, i) => [label, probs[i]!]));
  return { class: labels[best]!, probability: probs[best]!, probabilities };
}
