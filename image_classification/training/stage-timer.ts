/** Runs a stage and records how long it took, for the timing summary every tool prints. */
export class StageTimer {
  readonly stages: { name: string; seconds: number }[] = [];

  async time<T>(name: string, work: () => Promise<T> | T): Promise<T> {
    const started = performance.now();
    const result = await work();
    const seconds = (performance.now() - started) / 1000;
    this.stages.push({ name, seconds });
    console.error(`[${name}] ${seconds.toFixed(1)} s`);
    return result;
  }

  table(): string {
    const total = this.stages.reduce((a, s) => a + s.seconds, 0);
    return [
      '| stage | seconds |',
      '|---|---:|',
      ...this.stages.map((s) => `| ${s.name} | ${s.seconds.toFixed(1)} |`),
      `| total | ${total.toFixed(1)} |`,
    ].join('\n');
  }
}
