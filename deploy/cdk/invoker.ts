import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, type CfnBucket } from 'aws-cdk-lib/aws-s3';
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
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions::AwsSolutions-S1',
      reason:
        "Holds the repository's sample images for the smoke test, readable by the invoker's role only; CloudTrail records its API use.",
    });
    const deployment = new BucketDeployment(this, 'SampleImages', {
      sources: [Source.asset(props.sampleImages, { exclude: ['*.md'] })],
      destinationBucket: this.bucket,
    });
    this.acknowledgeCdkHandler(deployment);

    const logGroup = new LogGroup(this, 'Logs', { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Invokes ${props.endpointName} with a sample image`,
    });
    role.addToPolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: [this.bucket.arnForObjects('*')] }));
    role.addToPolicy(new PolicyStatement({ actions: ['sagemaker:InvokeEndpoint'], resources: [props.endpointArn] }));
    logGroup.grantWrite(role);
    Validations.of(role).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnBucket)}.Arn>/*]`,
      reason: 'Reads any sample image of its own bucket: the image to classify is named by the invocation event.',
    });

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

  /** CDK's own BucketDeployment handler: its runtime, managed policy and copy permissions are CDK's. */
  private acknowledgeCdkHandler(deployment: BucketDeployment): void {
    const role = deployment.handlerRole;
    const copy =
      "CDK's BucketDeployment handler copies the asset's objects from CDK's asset bucket into this stack's sample bucket (grants CDK generates for that copy)";
    const findings = [
      ...['s3:GetObject*', 's3:GetBucket*', 's3:List*', 's3:DeleteObject*', 's3:Abort*'].map((action) => `Action::${action}`),
      `Resource::<${Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnBucket)}.Arn>/*`,
      'Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*',
    ];
    const reasons: [string, string][] = [
      [
        'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        "CDK's BucketDeployment handler logs through AWSLambdaBasicExecutionRole; CDK creates and owns that role.",
      ],
      ...findings.map((finding): [string, string] => [`AwsSolutions::AwsSolutions-IAM5[${finding}]`, copy]),
    ];
    for (const [id, reason] of reasons) Validations.of(role).acknowledge({ id, reason });
    Validations.of(role.node.scope!).acknowledge({
      id: 'AwsSolutions::AwsSolutions-L1',
      reason:
        "CDK's BucketDeployment handler (Python) pins the runtime its aws-cdk-lib release was built for; the stack's own Lambda runs nodejs24.x.",
    });
  }
}
