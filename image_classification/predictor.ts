import sharp from 'sharp';
import { MAX_IMAGES_PER_REQUEST } from './codecs/image-input';
import type { NdArray } from './codecs/ndarray';
import { BadRequestError } from './errors';
import type { Logger } from './logger';
import type { ModelBundle } from './model/model-dir';
import { preprocessBatch } from './preprocess/batch';
import { batchDims, tensorLayout, type TensorLayout } from './preprocess/tensor';
import { isDistribution, toPrediction, type ClassPrediction } from './postprocess/classify';
import { DEFAULT_MAX_BATCH, DynamicBatcher, type BatchingOptions } from './runtime/batcher';
import { InferenceClient } from './runtime/inference-client';
import type { ExecutionProvider, InferenceDevice } from './runtime/session';

export interface PredictorOptions {
  readonly device: InferenceDevice;
  readonly intraOpThreads: number;
  readonly allowSpinning?: boolean;
  readonly maxImagePixels: number;
  readonly batching: BatchingOptions;
  /** Called if the inference thread dies after loading: no inference can succeed any more. */
  readonly onInferenceFailure?: (error: Error) => void;
}

export class ModelMismatchError extends Error {
  override name = 'ModelMismatchError';
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
    private readonly maxImagePixels: number,
    readonly batching: Required<BatchingOptions>,
  ) {
    this.batcher = new DynamicBatcher((parts, count) => this.runBatch(parts, count), batching);
  }

  /** Load the session and warm it with one inference through the whole pipeline. */
  static async load(bundle: ModelBundle, options: PredictorOptions, logger: Logger): Promise<Predictor> {
    const sessionOptions = { device: options.device, intraOpThreads: options.intraOpThreads, allowSpinning: options.allowSpinning ?? true };
    const session = await InferenceClient.start(bundle.onnxPath, sessionOptions, logger.level, options.onInferenceFailure);
    const predictor = new Predictor(
      bundle,
      session,
      session.provider,
      pickInput(session, bundle.spec.input_name),
      pickOutput(session, bundle.spec.output_name),
      tensorLayout(bundle.spec),
      options.maxImagePixels,
      { maxBatchSize: options.batching.maxBatchSize ?? DEFAULT_MAX_BATCH[session.provider], maxDelayMs: options.batching.maxDelayMs },
    );
    await predictor.warmUp();
    return predictor;
  }

  get info(): PredictorInfo {
    const { provider, inputName, outputName, applySoftmax } = this;
    return { provider, inputName, outputName, labels: this.bundle.labels, applySoftmax, maxBatchSize: this.batching.maxBatchSize };
  }

  /**
   * A full-HD JPEG through the whole pipeline, then a full batch, so libvips' and ONNX
   * Runtime's buffers reach their working size before the first request (RSS stays flat).
   */
  private async warmUp(): Promise<void> {
    // Full HD, or as large as MAX_IMAGE_PIXELS allows.
    const scale = Math.min(1, Math.sqrt(this.maxImagePixels / (1920 * 1080)));
    const [width, height] = [Math.floor(1920 * scale), Math.floor(1080 * scale)];
    const noise = { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } as const;
    const photo = await sharp({ create: noise }).jpeg({ quality: 90 }).toBuffer();
    const scores = await this.scores([photo]);
    const { maxBatchSize } = this.batching;
    if (maxBatchSize > 1) await this.scores(Array.from({ length: maxBatchSize }, () => photo));
    const classes = scores[0]!.length;
    if (classes !== this.bundle.labels.length) {
      throw new ModelMismatchError(`the model outputs ${classes} scores but labels.json names ${this.bundle.labels.length} classes`);
    }
    const setting = this.bundle.spec.apply_softmax;
    this.applySoftmax = setting === 'auto' ? !isDistribution(scores[0]!) : setting;
  }

  /** Raw output rows, one per image. */
  async scores(images: readonly Buffer[]): Promise<Float32Array[]> {
    // While these decode, an idle batcher may wait (MODEL_SERVER_MAX_BATCH_DELAY_MS) for them.
    const arrival = this.batcher.expect(images.length);
    let batch: Float32Array;
    try {
      batch = await preprocessBatch(images, this.bundle.spec, this.layout, this.maxImagePixels);
    } catch (error) {
      arrival.cancel();
      throw error;
    }
    return arrival.submit(batch);
  }

  /** One run of the inference thread over the requests the batcher gathered. */
  private async runBatch(parts: Float32Array[], count: number): Promise<Float32Array[]> {
    const outputs = await this.session.run({ [this.inputName]: { shape: batchDims(this.layout, count), parts } }, [this.outputName]);
    const output = outputs[this.outputName]!.data as Float32Array;
    const width = output.length / count;
    return Array.from({ length: count }, (_, i) => output.subarray(i * width, (i + 1) * width));
  }

  async predict(images: readonly Buffer[]): Promise<ClassPrediction[]> {
    return this.classify(await this.scores(images));
  }

  /**
   * Classify an already-preprocessed tensor (NPY/CSV/JSON bodies): `[N, ...image]` or one
   * image without the batch axis, in the model's own layout and scaling.
   */
  async predictTensor(tensor: NdArray): Promise<{ rows: ClassPrediction[]; isList: boolean }> {
    const image = batchDims(this.layout, 1).slice(1);
    const isList = tensor.shape.length === image.length + 1;
    const imageShape = isList ? tensor.shape.slice(1) : tensor.shape;
    if (imageShape.join() !== image.join() || (isList && tensor.shape[0] === 0)) {
      throw new BadRequestError(`the tensor has shape [${tensor.shape.join(', ')}]; this model takes [N, ${image.join(', ')}] or [${image.join(', ')}]`, 'wrong_shape');
    }
    const count = isList ? tensor.shape[0]! : 1;
    if (count > MAX_IMAGES_PER_REQUEST) throw new BadRequestError(`the tensor holds ${count} images; at most ${MAX_IMAGES_PER_REQUEST} per request`, 'too_many_images');
    // A fresh float32 copy: the buffer moves to the inference thread. Integer tensors (int64
    // holds BigInts) are converted value by value.
    const input = tensor.dtype === 'float32' ? (tensor.data as Float32Array).slice() : Float32Array.from(tensor.data as ArrayLike<number | bigint>, Number);
    return { rows: this.classify(await this.batcher.submit(input, count)), isList };
  }

  private classify(rows: readonly Float32Array[]): ClassPrediction[] {
    return rows.map((row) => toPrediction(row, this.bundle.labels, this.applySoftmax));
  }

  async close(): Promise<void> {
    await this.session.close();
  }
}
