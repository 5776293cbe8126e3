import path from 'node:path';
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { SageMakerEndpoint } from './endpoint';
import { EndpointInvoker } from './invoker';
import type { EndpointOptions } from './options';

/** Where the stack's assets are: the repository's Dockerfile, shipped model, sample images and Lambda source. */
export interface StackAssets {
  readonly projectRoot: string;
  readonly modelArchive: string;
  readonly sampleImages: string;
  readonly invokerEntry: string;
  readonly lockFile: string;
}

/** This repository's layout. */
export function repositoryAssets(root: string): StackAssets {
  return {
    projectRoot: root,
    modelArchive: path.join(root, 'model', 'model.tar.gz'),
    sampleImages: path.join(root, 'data'),
    invokerEntry: path.join(root, 'lambda', 'src', 'index.ts'),
    lockFile: path.join(root, 'package-lock.json'),
  };
}

export interface ImageClassificationStackProps extends StackProps {
  readonly options: EndpointOptions;
  readonly assets: StackAssets;
}

/** Endpoint (with autoscaling) + sample-image bucket + invoker Lambda: everything `npx cdk deploy` stands up. */
export class ImageClassificationStack extends Stack {
  constructor(scope: Construct, id: string, props: ImageClassificationStackProps) {
    super(scope, id, props);
    const { options, assets } = props;
    const endpoint = new SageMakerEndpoint(this, 'Endpoint', {
      options,
      dockerContext: assets.projectRoot,
      modelArchive: assets.modelArchive,
    });
    const invoker = new EndpointInvoker(this, 'Invoker', {
      endpointName: endpoint.endpointName,
      endpointArn: endpoint.endpointArn,
      sampleImages: assets.sampleImages,
      entry: assets.invokerEntry,
      lockFile: assets.lockFile,
      projectRoot: assets.projectRoot,
    });
    new CfnOutput(this, 'EndpointName', { value: endpoint.endpointName });
    new CfnOutput(this, 'BucketName', { value: invoker.bucket.bucketName });
    new CfnOutput(this, 'FunctionName', { value: invoker.function.functionName });
    new CfnOutput(this, 'InvokeCommand', {
      description: 'Classify paper.jpg from the bucket through the endpoint',
      value: `aws lambda invoke --function-name ${invoker.function.functionName} --cli-binary-format raw-in-base64-out --payload '{"key":"paper.jpg"}' /dev/stdout`,
    });
  }
}
