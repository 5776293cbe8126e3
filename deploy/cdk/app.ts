import { App } from 'aws-cdk-lib';
import { packageRoot } from '../../image_classification/paths';
import { withAwsSolutionsChecks } from './nag';
import { CONTEXT_KEYS, endpointOptions } from './options';
import { ImageClassificationStack, repositoryAssets } from './stack';

/**
 * The CDK app (cdk.json runs it): reads the context once (cdk.json's, with -c on top) and
 * builds the stack, checked by cdk-nag. Synthesizes offline with no AWS credentials: nothing
 * here looks anything up.
 */
const app = withAwsSolutionsChecks(new App());
const context = Object.fromEntries(
  CONTEXT_KEYS.flatMap((key) => (app.node.tryGetContext(key) === undefined ? [] : [[key, app.node.tryGetContext(key)]])),
);
const options = endpointOptions(context);

new ImageClassificationStack(app, options.stackName, {
  options,
  assets: repositoryAssets(packageRoot()),
  // Environment-agnostic unless credentials name an account (the CLI then sets both, the region
  // defaulting to us-east-1): without them the template names no account or region.
  ...(process.env.CDK_DEFAULT_ACCOUNT ? { env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION } } : {}),
  description: `SageMaker image classification endpoint ${options.endpointName}, autoscaling, alarms, sample bucket and invoker Lambda`,
});
app.synth();
