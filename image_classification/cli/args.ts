import { parseArgs, type ParseArgsConfig } from 'node:util';

/** parseArgs with a usage line on error, so every CLI fails the same readable way. */
type Parsed<T extends NonNullable<ParseArgsConfig['options']>> = ReturnType<
  typeof parseArgs<{ options: T; allowPositionals: boolean; strict: true }>
>;

export function parseCli<T extends NonNullable<ParseArgsConfig['options']>>(
  options: T,
  usage: string,
  allowPositionals = false,
): Parsed<T> {
  try {
    const parsed = parseArgs({ options, allowPositionals, strict: true });
    if ((parsed.values as { help?: boolean }).help) {
      console.log(usage);
      process.exit(0);
    }
    return parsed;
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${usage}`);
    process.exit(2);
  }
}

export function runCli(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    console.error(`error: ${(error as Error).message}`);
    process.exit(1);
  });
}

/** A CLI's model: its --model, else SM_MODEL_DIR, else the server's resolution (/opt/ml/model, the shipped model). */
export function cliModel(flag: string | undefined): string | undefined {
  return flag ?? process.env.SM_MODEL_DIR;
}

/** A CLI's log level: LOG_LEVEL, else warnings only (its output is its answer). */
export function cliLogLevel(): string {
  return process.env.LOG_LEVEL ?? 'warn';
}
