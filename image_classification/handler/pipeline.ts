import { Predictor, type PredictorInfo, type PredictorOptions } from '../classifier/predictor';
import { inputKindOf, mediaTypeOf } from '../codecs/content-types';
import { RESPONSE_TYPES, type ResponseType } from '../codecs/encoders';
import { acceptOrDefault, negotiateResponseType } from '../codecs/negotiation';
import { JSON_LINES, recordFormatOf } from '../codecs/records';
import { HandlerFailedError, HandlerLoadError, InferenceError, InternalError, isHandlerError, StartupError } from '../errors';
import type { Logger } from '../logger';
import { timeStage } from '../stage-timing';
import type { InferenceHandler, OutputResult, RequestContext } from './api';
import { builtInHandler } from './builtin';
import { importHandler, locateHandler, type HandlerSettings } from './loader';
import { invokeRecords } from './records';

/**
 * A pipeline held by one invocation: the worker's one model, or a named one of many, held
 * until the request's work has settled (`release`), so an unload waits for it.
 */
export interface HeldPipeline {
  readonly pipeline: HandlerPipeline;
  readonly release: () => void;
}

export interface PipelineOptions extends HandlerSettings {
  readonly predictor: PredictorOptions;
  /** SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT: the answer type for no Accept or `*\/*`. */
  readonly defaultAccept: string;
}

export interface EncodedResponse {
  readonly body: string | Uint8Array;
  readonly contentType: string;
}

/** What /ping and the start-up log say about the loaded pipeline. */
export interface PipelineSummary {
  readonly handler: 'custom' | 'built-in';
  /** The handler module, when there is one. */
  readonly handlerFile?: string;
  /** The built-in model, when the built-in modelFn loaded it. */
  readonly model?: PredictorInfo;
}

type Hooks = Required<Omit<InferenceHandler, 'warmupFn' | 'transformFn'>> & Pick<InferenceHandler, 'transformFn'>;

/** A hook's untyped failure reaches the client as a bare 500 (the log has the cause). */
async function guarded<T>(work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw error instanceof InferenceError || isHandlerError(error) ? error : new InternalError({ cause: error });
  }
}

/** A start-up hook of the user's that throws is `handler_failed` on /ping; the built-in ones have their own codes. */
async function userHook<T>(hook: unknown, name: string, run: () => T | Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (!hook || error instanceof StartupError) throw error;
    throw new HandlerFailedError(name, error);
  }
}

function encoded(result: OutputResult, fallbackType: string): EncodedResponse {
  if (typeof result === 'string' || result instanceof Uint8Array) return { body: result, contentType: fallbackType };
  if (
    typeof result === 'object' &&
    result !== null &&
    (typeof result.body === 'string' || result.body instanceof Uint8Array) &&
    typeof result.contentType === 'string'
  ) {
    return result;
  }
  throw new Error('outputFn/transformFn must return a string, a Uint8Array/Buffer or { body, contentType }');
}

/**
 * One worker's model and the hooks that serve it: the user's handler module where it has
 * one, the built-in image classifier for every hook it leaves out.
 */
export class HandlerPipeline {
  private constructor(
    private readonly hooks: Hooks,
    private readonly model: unknown,
    readonly modelDir: string,
    /** The handler module, or undefined for the built-in handler. */
    private readonly handlerFile: string | undefined,
    private readonly defaultAccept: string,
    /** Which ends of the request the built-in hooks handle (and so validate up front). */
    private readonly builtIn: { readonly input: boolean; readonly predict: boolean; readonly output: boolean },
    private readonly logger: Logger,
  ) {}

  static async load(modelDir: string, options: PipelineOptions, logger: Logger): Promise<HandlerPipeline> {
    const file = locateHandler(options, modelDir);
    const user = file ? await importHandler(file) : {};
    const builtIn = builtInHandler(options.predictor, options.defaultAccept as ResponseType, logger);
    const hooks = { ...builtIn, ...user } as Hooks;
    const builtInOutput = !hooks.transformFn && hooks.outputFn === builtIn.outputFn;
    if (builtInOutput && !(RESPONSE_TYPES as readonly string[]).includes(options.defaultAccept)) {
      throw new HandlerLoadError(
        `SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT=${options.defaultAccept} cannot be written by the built-in outputFn ` +
          `(${RESPONSE_TYPES.join(', ')})`,
      );
    }
    if (file) logger.info({ handler: file, hooks: Object.keys(user) }, 'loaded user handler');
    const model = await userHook(user.modelFn, 'modelFn', () => hooks.modelFn(modelDir));
    try {
      await userHook(user.warmupFn, 'warmupFn', () => user.warmupFn?.(model));
    } catch (error) {
      // The built-in model holds an inference thread: nothing will serve it now.
      if (model instanceof Predictor) await model.close();
      throw error;
    }
    const builtInInput = !hooks.transformFn && hooks.inputFn === builtIn.inputFn;
    const builtInPredict = !hooks.transformFn && hooks.predictFn === builtIn.predictFn;
    const builtIns = { input: builtInInput, predict: builtInPredict, output: builtInOutput };
    return new HandlerPipeline(hooks, model, modelDir, file, options.defaultAccept, builtIns, logger);
  }

  /** The built-in model's predictor, when the built-in modelFn loaded it. */
  private get predictor(): Predictor | undefined {
    return this.model instanceof Predictor ? this.model : undefined;
  }

  get summary(): PipelineSummary {
    const model = this.predictor?.info;
    return {
      handler: this.handlerFile ? 'custom' : 'built-in',
      ...(this.handlerFile ? { handlerFile: this.handlerFile } : {}),
      ...(model ? { model } : {}),
    };
  }

  /**
   * Checked before the body is read: the bare media type for inputFn (415 if the built-in
   * decoder cannot read it) and the Accept for outputFn (406 if the built-in encoder cannot
   * write it; otherwise the type it will write, so it is negotiated once). With user hooks
   * these are theirs to judge.
   */
  requestTypes(contentTypeHeader: string | undefined, acceptHeader: string | undefined): { contentType: string; accept: string } {
    const mediaType = mediaTypeOf(contentTypeHeader);
    if (this.records(mediaType, acceptHeader)) {
      return { contentType: mediaType!, accept: negotiateResponseType(acceptHeader, [JSON_LINES], JSON_LINES) };
    }
    if (this.builtIn.input) inputKindOf(mediaType);
    const accept = this.builtIn.output
      ? negotiateResponseType(acceptHeader, RESPONSE_TYPES, this.defaultAccept as ResponseType)
      : acceptOrDefault(acceptHeader, this.defaultAccept);
    return { contentType: mediaType ?? 'application/octet-stream', accept };
  }

  /**
   * A batch transform body of many records (codecs/records.ts), when the built-in inputFn
   * reads it; a handler with its own inputFn or transformFn gets the body whole, as the
   * toolkit's input_fn does.
   */
  private records(mediaType: string | undefined, accept: string | undefined) {
    return this.builtIn.input ? recordFormatOf(mediaType, accept) : undefined;
  }

  /** inputFn → predictFn → outputFn (or transformFn) for one request, or for each of its records. */
  async invoke(body: Buffer, contentType: string, accept: string, ctx: RequestContext): Promise<EncodedResponse> {
    const format = this.records(contentType, accept);
    if (format) {
      const perRecord = (record: Buffer, type: string, context: RequestContext) =>
        this.invokeOne(record, type, 'application/json', context);
      return { body: await invokeRecords(body, format, ctx, perRecord, this.logger), contentType: JSON_LINES };
    }
    return this.invokeOne(body, contentType, accept, ctx);
  }

  private async invokeOne(body: Buffer, contentType: string, accept: string, ctx: RequestContext): Promise<EncodedResponse> {
    const { hooks, model } = this;
    // A bare body answers as the one type asked for, else as the default accept.
    const fallbackType = /[*,]/.test(accept) ? this.defaultAccept : accept;
    if (hooks.transformFn) {
      const transform = hooks.transformFn;
      return encoded(await timeStage('handler', () => guarded(() => transform(model, body, contentType, accept, ctx))), fallbackType);
    }
    const input = await timeStage('preprocess', () => guarded(() => hooks.inputFn(body, contentType, ctx)));
    ctx.signal.throwIfAborted();
    // The built-in predictor records its own decode, queue and inference stages.
    const predict = () => guarded(() => hooks.predictFn(input, model, ctx));
    const prediction = await (this.builtIn.predict ? predict() : timeStage('inference', predict));
    ctx.signal.throwIfAborted();
    return encoded(await timeStage('encode', () => guarded(() => hooks.outputFn(prediction, accept, ctx))), fallbackType);
  }

  async close(): Promise<void> {
    await this.predictor?.close();
  }
}
