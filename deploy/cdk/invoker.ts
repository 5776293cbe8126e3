import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';

export interface EndpointInvokerProps {
  readonly endpointName: string;
  readonly endpointArn: string;
  /** Folder of sample images uploaded to the bucket (its README is left out). */
  readonly sampleImages: string;
  /** lambda/src/index.ts, and the lock file and root esbuild resolves it from. */
  readonly entry: string;
  readonly lockFile: string;
  readonly projectRoot: string;
}

/**
 * The smoke test for a deployed endpoint: a bucket with the sample images and the invoker
 * Lambda (bundled here by esbuild, no Docker), whose role may read that bucket's objects,
 * invoke that endpoint and write its own log group, and nothing else.
 */
export class EndpointInvoker extends Construct {
  readonly bucket: Bucket;
  readonly function: NodejsFunction;

  constructor(scope: Construct, id: string, props: EndpointInvokerProps) {
    super(scope, id);
    this.bucket = new Bucket(this, 'Images', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
    });
    new BucketDeployment(this, 'SampleImages', {
      sources: [Source.asset(props.sampleImages, { exclude: ['*.md'] })],
      destinationBucket: this.bucket,
    });

    const logGroup = new LogGroup(this, 'Logs', { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Invokes ${props.endpointName} with a sample image`,
    });
    role.addToPolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: [this.bucket.arnForObjects('*')] }));
    role.addToPolicy(new PolicyStatement({ actions: ['sagemaker:InvokeEndpoint'], resources: [props.endpointArn] }));
    logGroup.grantWrite(role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: props.entry,
      projectRoot: props.projectRoot,
      depsLockFilePath: props.lockFile,
      handler: 'handler',
      // Node 24: the LTS line the container image runs too (Dockerfile's NODE_IMAGE).
      runtime: Runtime.NODEJS_24_X,
      role,
      logGroup,
      timeout: Duration.seconds(30),
      memorySize: 256,
      environment: { BUCKET_NAME: this.bucket.bucketName, SAGEMAKER_ENDPOINT_NAME: props.endpointName },
      // The SDK clients are bundled, as `npm run build:lambda` does: the code does not depend on the runtime's SDK version.
      bundling: { format: OutputFormat.CJS, minify: true, bundleAwsSDK: true, forceDockerBundling: false },
    });
  }
}
