import sharp from 'sharp';
import { MAX_IMAGES_PER_REQUEST } from '../codecs/limits';
import type { NdArray } from '../codecs/ndarray';
import { BadRequestError, clip, ModelMismatchError } from '../errors';
import type { Logger } from '../logger';
import type { ModelBundle } from '../model/model-dir';
import { preprocessBatch } from '../preprocess/batch';
import { batchDims, imageTensorLength, tensorLayout, type TensorLayout } from '../preprocess/tensor';
import { DEFAULT_MAX_BATCH, DynamicBatcher, type Arrival, type BatchingOptions, type BatchRun, type JobResult } from '../runtime/batcher';
import { DEFAULT_TENSOR_SLOTS, InferenceClient } from '../runtime/inference-client';
import { recordStage, timeStage } from '../stage-timing';
import type { ExecutionProvider, InferenceDevice } from '../runtime/session';
import { isDistribution, toPrediction, type ClassPrediction } from './classify';

export interface PredictorOptions {
  readonly device: InferenceDevice;
  readonly intraOpThreads: number;
  readonly allowSpinning?: boolean;
  readonly maxImagePixels: number;
  /** libvips' time limit for decoding one image (0: none); a request's own timeout stops the rest. */
  readonly decodeTimeoutSeconds?: number;
  readonly batching: BatchingOptions;
  /** Called if the inference thread dies after loading: no inference can succeed any more. */
  readonly onInferenceFailure?: (error: Error) => void;
  /** Told the size of every ONNX Runtime run, as it starts. */
  readonly onBatch?: (images: number) => void;
}

/** The warm-up image: full HD, or as large as MAX_IMAGE_PIXELS allows. */
function warmUpPhoto(maxPixels: number): Promise<Buffer> {
  const scale = Math.min(1, Math.sqrt(maxPixels / (1920 * 1080)));
  const [width, height] = [Math.floor(1920 * scale), Math.floor(1080 * scale)];
  // Flat grey: the buffers depend on the size, not the content, and a noise image was a large
  // part of a worker's start to make and decode (docs/cpu-cost.md).
  return sharp({ create: { width, height, channels: 3, background: '#808080' } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

export interface PredictorInfo {
  readonly provider: ExecutionProvider;
  readonly inputName: string;
  readonly outputName: string;
  readonly labels: readonly string[];
  readonly applySoftmax: boolean;
  readonly maxBatchSize: number;
}

function pickOutput(session: InferenceClient, configured: string | undefined): string {
  const names = session.outputNames;
  const name = configured ?? (names.includes('probabilities') ? 'probabilities' : names[0]);
  if (!name || !names.includes(name)) {
    throw new ModelMismatchError(`output '${configured}' is not in the model (outputs: ${names.join(', ')})`);
  }
  return name;
}

function pickInput(session: InferenceClient, configured: string | undefined): string {
  const name = configured ?? session.inputNames[0];
  if (!name || !session.inputNames.includes(name)) {
    throw new ModelMismatchError(`input '${configured}' is not in the model (inputs: ${session.inputNames.join(', ')})`);
  }
  return name;
}

/** A job's rows, its wait and run recorded as the current request's stages. */
function recorded({ rows, queueSeconds, runSeconds }: JobResult): Float32Array[] {
  recordStage('queue', queueSeconds);
  recordStage('inference', runSeconds);
  return rows;
}

/** Owns the request pipeline: decode → preprocess → infer → postprocess. */
export class Predictor {
  private applySoftmax = false;
  private readonly batcher: DynamicBatcher;

  private constructor(
    private readonly bundle: ModelBundle,
    private readonly session: InferenceClient,
    readonly provider: ExecutionProvider,
    private readonly inputName: string,
    private readonly outputName: string,
    private readonly layout: TensorLayout,
    private readonly decodeLimits: { readonly maxPixels: number; readonly timeoutSeconds: number },
    readonly batching: Required<BatchingOptions>,
    private readonly onBatch: ((images: number) => void) | undefined,
  ) {
    this.batcher = new DynamicBatcher((parts, count) => this.runBatch(parts, count), batching);
  }

  /** Load the session and warm it with one inference through the whole pipeline. */
  static async load(bundle: ModelBundle, options: PredictorOptions, logger: Logger): Promise<Predictor> {
    const sessionOptions = { device: options.device, intraOpThreads: options.intraOpThreads, allowSpinning: options.allowSpinning ?? true };
    // Made on libuv's pool (with libvips' own start-up, on a worker's first image) while the
    // inference thread loads ONNX Runtime and the session, so the two overlap.
    const photo = warmUpPhoto(options.maxImagePixels);
    photo.catch(() => undefined);
    const session = await InferenceClient.start(
      { default: bundle.onnxPath, cuda: bundle.cudaOnnxPath },
      sessionOptions,
      logger.level,
      options.onInferenceFailure,
    );
    const maxBatchSize = options.batching.maxBatchSize ?? DEFAULT_MAX_BATCH[session.provider];
    // A batch of parts running, the next one gathering, and the parts decoding meanwhile.
    session.tensorSlots = Math.max(DEFAULT_TENSOR_SLOTS, 2 * maxBatchSize + 2);
    try {
      const predictor = new Predictor(
        bundle,
        session,
        session.provider,
        pickInput(session, bundle.spec.input_name),
        pickOutput(session, bundle.spec.output_name),
        tensorLayout(bundle.spec),
        { maxPixels: options.maxImagePixels, timeoutSeconds: options.decodeTimeoutSeconds ?? 0 },
        { maxBatchSize, maxDelayMs: options.batching.maxDelayMs },
        options.onBatch,
      );
      await predictor.warmUp(await photo);
      return predictor;
    } catch (error) {
      // A model that does not match its files never serves: its inference thread and session
      // would otherwise stay, one more for every failed load on a multi-model endpoint.
      await session.close();
      throw error;
    }
  }

  get info(): PredictorInfo {
    const { provider, inputName, outputName, applySoftmax } = this;
    return { provider, inputName, outputName, labels: this.bundle.labels, applySoftmax, maxBatchSize: this.batching.maxBatchSize };
  }

  /**
   * A full-HD JPEG through the whole pipeline, then a full batch, so libvips' and ONNX
   * Runtime's buffers reach their working size before the first request (RSS stays flat).
   */
  private async warmUp(photo: Buffer): Promise<void> {
    const scores = await this.scores([photo]).catch((error: unknown) => {
      // ONNX Runtime's refusal of the input's shape: the graph and preprocessing.json disagree.
      // Anything else (a device failure, a dead thread) is passed on as it is.
      if (!/invalid dimensions|invalid rank|shape/i.test((error as Error).message)) throw error;
      const { layout, size } = this.layout;
      const input = layout === 'NCHW' ? `[1, 3, ${size}, ${size}]` : `[1, ${size}, ${size}, 3]`;
      throw new ModelMismatchError(`the model does not run on preprocessing.json's ${input} input (${(error as Error).message})`);
    });
    const { maxBatchSize } = this.batching;
    if (maxBatchSize > 1) await this.scores(Array.from({ length: maxBatchSize }, () => photo));
    const classes = scores[0]!.length;
    if (classes !== this.bundle.labels.length) {
      throw new ModelMismatchError(`the model outputs ${classes} scores but labels.json names ${this.bundle.labels.length} classes`);
    }
    // A NaN score is no answer: every request would get "probability": null.
    if (scores[0]!.some(Number.isNaN)) throw new ModelMismatchError("the model's scores for the warm-up image are NaN");
    const setting = this.bundle.spec.apply_softmax;
    this.applySoftmax = setting === 'auto' ? !isDistribution(scores[0]!) : setting;
  }

  /**
   * Raw output rows, one per image. The images go to ONNX Runtime in parts of at most the
   * batch size; the next part decodes while the previous one runs, so a request never holds
   * more than two parts' tensors, however many images it sends. `signal` (the request's
   * timeout or a client that left) stops the parts not yet decoded or run.
   */
  async scores(images: readonly Buffer[], signal?: AbortSignal): Promise<Float32Array[]> {
    const rows: Float32Array[] = [];
    let running: Promise<JobResult> | undefined;
    for (let start = 0; start < images.length; start += this.batching.maxBatchSize) {
      signal?.throwIfAborted();
      const part = images.slice(start, start + this.batching.maxBatchSize);
      let tensor: Float32Array | undefined;
      let arrival: Arrival | undefined;
      try {
        tensor = await this.inputBuffer(part.length * imageTensorLength(this.layout), signal);
        // Announced once its decode starts, not while it waits for a buffer: an idle batcher
        // may wait (MODEL_SERVER_MAX_BATCH_DELAY_MS) only for images that are on their way.
        arrival = this.batcher.expect(part.length);
        await timeStage('preprocess', () => preprocessBatch(part, this.bundle.spec, this.layout, this.decodeLimits, tensor));
        if (running) rows.push(...recorded(await running));
      } catch (error) {
        // Announced but never submitted: withdraw it, or an idle batcher would wait for it.
        arrival?.cancel();
        if (tensor) this.session.returnBuffer(tensor);
        throw error;
      }
      running = this.submitted(tensor, arrival.submit(tensor, signal));
      // Awaited only once the next part has decoded, or never if that decode fails: a
      // rejection meanwhile (the request aborted while this part was queued) must not count
      // as unhandled, which would end the worker process.
      running.catch(() => undefined);
    }
    rows.push(...recorded(await running!));
    return rows;
  }

  /** An input buffer for the inference thread; waiting for one to come back is queueing (a stage), taking a free one is not. */
  private inputBuffer(length: number, signal: AbortSignal | undefined): Promise<Float32Array> {
    const take = () => this.session.tensorBuffer(length, signal);
    return this.session.tensorBuffersFull ? timeStage('queue', take) : take();
  }

  /** A job's buffer goes back to the pool if the job fails before it reached the thread (it left the queue). */
  private submitted(tensor: Float32Array, job: Promise<JobResult>): Promise<JobResult> {
    job.catch(() => this.session.returnBuffer(tensor));
    return job;
  }

  /** One run of the inference thread over the requests the batcher gathered. */
  private async runBatch(parts: Float32Array[], count: number): Promise<BatchRun> {
    this.onBatch?.(count);
    const feeds = { [this.inputName]: { shape: batchDims(this.layout, count), parts } };
    const { outputs, runSeconds } = await this.session.runTimed(feeds, [this.outputName]);
    const output = outputs[this.outputName]!.data as Float32Array;
    const width = output.length / count;
    return { rows: Array.from({ length: count }, (_, i) => output.subarray(i * width, (i + 1) * width)), runSeconds };
  }

  async predict(images: readonly Buffer[], signal?: AbortSignal): Promise<ClassPrediction[]> {
    return this.classify(await this.scores(images, signal));
  }

  /**
   * Classify an already-preprocessed tensor (NPY/CSV/JSON bodies): `[N, ...image]`, one
   * image without the batch axis, or one image flattened to a row (a CSV record), in the
   * model's own layout and scaling. Run in parts of at most the batch size, as images are.
   */
  async predictTensor(tensor: NdArray, signal?: AbortSignal): Promise<{ rows: ClassPrediction[]; isList: boolean }> {
    const image = batchDims(this.layout, 1).slice(1);
    const perImage = imageTensorLength(this.layout);
    const isList = tensor.shape.length === image.length + 1;
    const imageShape = isList ? tensor.shape.slice(1) : tensor.shape;
    const flatRow = tensor.shape.length === 1 && tensor.shape[0] === perImage;
    if (!flatRow && (imageShape.join() !== image.join() || (isList && tensor.shape[0] === 0))) {
      throw new BadRequestError(
        `the tensor has shape [${clip(tensor.shape.join(', '))}]; this model takes [N, ${image.join(', ')}], [${image.join(', ')}] or ${perImage} values`,
        'wrong_shape',
      );
    }
    const count = isList ? tensor.shape[0]! : 1;
    if (count > MAX_IMAGES_PER_REQUEST)
      throw new BadRequestError(`the tensor holds ${count} images; at most ${MAX_IMAGES_PER_REQUEST} per request`, 'too_many_images');
    const rows: Float32Array[] = [];
    const { maxBatchSize } = this.batching;
    for (let start = 0; start < count; start += maxBatchSize) {
      const end = Math.min(count, start + maxBatchSize);
      // A float32 copy per part, in a buffer that moves to the inference thread. Integer
      // tensors (int64 holds BigInts) are converted value by value.
      const values = tensor.data.subarray(start * perImage, end * perImage);
      const input = await this.inputBuffer(values.length, signal);
      if (values instanceof Float32Array) input.set(values);
      else for (let i = 0; i < values.length; i++) input[i] = Number(values[i]);
      rows.push(...recorded(await this.submitted(input, this.batcher.submit(input, end - start, signal))));
    }
    return { rows: this.classify(rows), isList };
  }

  private classify(rows: readonly Float32Array[]): ClassPrediction[] {
    return rows.map((row) => toPrediction(row, this.bundle.labels, this.applySoftmax));
  }

  async close(): Promise<void> {
    await this.session.close();
  }
}
