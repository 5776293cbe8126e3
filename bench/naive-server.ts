import express from 'express';
import { ort } from '../image_classification/runtime/onnxruntime';
import sharp from 'sharp';
import { readModelBundle } from '../image_classification/model/model-dir';

/**
 * The naive baseline for `npm run bench`: what a first version of this server looks like.
 * One process, raw body → sharp → one ORT session with default options, batch 1, run on the
 * event loop. Same model and the same preprocessing recipe as the product, so only the
 * serving differs. Usage: node dist/bench/naive-server.js PORT MODEL_DIR
 */
async function main(): Promise<void> {
  const [port, modelDir] = process.argv.slice(2);
  const bundle = await readModelBundle(modelDir!);
  const { crop_size: size, rescale_factor: rescale, mean, std } = bundle.spec;
  const session = await ort.InferenceSession.create(bundle.onnxPath);
  const app = express();
  app.post('/invocations', express.raw({ type: () => true, limit: '6mb' }), async (req, res) => {
    try {
      const { data } = await sharp(req.body as Buffer)
        .rotate()
        .resize(size, size, { fit: 'cover' })
        .removeAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
      const input = new Float32Array(3 * size * size);
      for (let p = 0; p < size * size; p++) {
        for (let c = 0; c < 3; c++) input[c * size * size + p] = (data[p * 3 + c]! * rescale - mean[c]!) / std[c]!;
      }
      const output = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', input, [1, 3, size, size]) });
      const scores = Array.from(output[session.outputNames[0]!]!.data as Float32Array);
      const best = scores.indexOf(Math.max(...scores));
      res.json({ predictions: { class: bundle.labels[best], probability: scores[best] } });
    } catch (error) {
      res.status(400).json({ error: { message: (error as Error).message } });
    }
  });
  app.get('/ping', (_req, res) => res.json({ status: 'healthy' }));
  app.listen(Number(port), '127.0.0.1');
}

void main();
