import { readFileSync } from 'node:fs';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { packageRoot } from '../../image_classification/paths';
import { CONTEXT_KEYS, endpointOptions } from './options';
import { measuredImagesPerSecondPerVcpu } from './scaling';
import { ImageClassificationStack, repositoryAssets } from './stack';

/**
 * The CDK app (cdk.json runs it): reads the context and the measured throughput once and
 * builds the stack. Synthesizes offline with no AWS credentials: nothing here looks anything up.
 */
const root = packageRoot();
const app = new App();
const context = Object.fromEntries(
  CONTEXT_KEYS.flatMap((key) => (app.node.tryGetContext(key) === undefined ? [] : [[key, app.node.tryGetContext(key)]])),
);
const bench: unknown = JSON.parse(readFileSync(path.join(root, 'bench', 'results', 'bench.json'), 'utf8'));
const options = endpointOptions(context, measuredImagesPerSecondPerVcpu(bench));

new ImageClassificationStack(app, options.stackName, {
  options,
  assets: repositoryAssets(root),
  // Environment-agnostic unless the CLI knows the account: synth needs no credentials.
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  description: `SageMaker image classification endpoint ${options.endpointName}, autoscaling, sample bucket and invoker Lambda`,
});
app.synth();
