import { Arn, ArnFormat, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { CfnScalableTarget, CfnScalingPolicy } from 'aws-cdk-lib/aws-applicationautoscaling';
import { Repository } from 'aws-cdk-lib/aws-ecr';
import { DockerImageAsset, Platform } from 'aws-cdk-lib/aws-ecr-assets';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { CfnEndpoint, CfnEndpointConfig, CfnModel } from 'aws-cdk-lib/aws-sagemaker';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { containerDefinition, networkIsolation, productionVariant, VARIANT_NAME } from '../sagemaker-requests';
import { EndpointAlarms } from './alarms';
import { cfnContainer, cfnVariant } from './cfn-shapes';
import type { EndpointOptions, Scaling } from './options';

export interface SageMakerEndpointProps {
  readonly options: EndpointOptions;
  /** The folder with the Dockerfile, built when no imageUri is given. */
  readonly dockerContext: string;
  /** The shipped model.tar.gz, uploaded when no modelDataUrl is given. */
  readonly modelArchive: string;
}

const ECR_IMAGE = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?\/([^:@]+)/;
/** Where SageMaker puts an endpoint's instance metrics (CPU, memory, disk): the only namespace the container's role may write. */
const INSTANCE_METRICS_NAMESPACE = '/aws/sagemaker/Endpoints';

/**
 * The SageMaker model (network-isolated), endpoint config and endpoint, with an execution role
 * that may read exactly this model's archive, pull exactly this image and write this endpoint's
 * log group, which the stack owns (retention, deleted with the stack); alarms that roll a
 * deployment back (alarms.ts); and, for instance endpoints, target tracking on
 * SageMakerVariantInvocationsPerInstance.
 */
export class SageMakerEndpoint extends Construct {
  readonly endpointName: string;
  /** For IAM: the endpoint's ARN as CloudFormation reports it (SageMaker lower-cases names in ARNs). */
  readonly endpointArn: string;
  readonly role: Role;

  constructor(scope: Construct, id: string, props: SageMakerEndpointProps) {
    super(scope, id);
    const { options } = props;
    const stack = Stack.of(this);
    // aws:SourceAccount: SageMaker may assume this role for this account's resources only (confused deputy).
    this.role = new Role(this, 'ExecutionRole', {
      assumedBy: new ServicePrincipal('sagemaker.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': stack.account } } }),
      description: `Runs the ${options.endpointName} model container`,
    });
    // SageMaker would create it on first start, with no expiry, outliving `cdk destroy`.
    const logGroupName = `/aws/sagemaker/Endpoints/${options.endpointName}`;
    const logGroup = new LogGroup(this, 'Logs', {
      logGroupName,
      retention: options.logRetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role.addToPolicy(
      new PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
        resources: [
          stack.formatArn({
            service: 'logs',
            resource: 'log-group',
            resourceName: `${logGroupName}:*`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );
    // PutMetricData has no resource to scope to; the namespace condition is IAM's only scope for it.
    this.role.addToPolicy(
      new PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': INSTANCE_METRICS_NAMESPACE } },
      }),
    );
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason:
        'Two actions IAM cannot scope to a resource: ecr:GetAuthorizationToken (the pull itself is scoped to the one repository) and cloudwatch:PutMetricData (conditioned on the /aws/sagemaker/Endpoints namespace).',
    });
    Validations.of(this.role).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:${logGroupName}:*]`,
      reason: "The log streams of this endpoint's own log group: SageMaker names a stream per instance and container, unknown in advance.",
    });
    const image = this.image(options.imageUri, props.dockerContext);
    const modelData = this.modelData(options, props.modelArchive);

    // The SDK's shapes (deploy/sagemaker-requests.ts), built once for both deploy paths, as CloudFormation's properties.
    const model = new CfnModel(this, 'Model', {
      executionRoleArn: this.role.roleArn,
      primaryContainer: cfnContainer(containerDefinition({ image, modelData, environment: options.environment })),
      enableNetworkIsolation: networkIsolation(options.capacity),
    });
    // SageMaker checks the role can read the model when the model is created: the policy comes first.
    model.node.addDependency(this.role);
    const config = new CfnEndpointConfig(this, 'Config', {
      productionVariants: [cfnVariant(productionVariant(model.attrModelName, options.capacity))],
      ...(options.volumeKmsKeyArn ? { kmsKeyId: options.volumeKmsKeyArn } : {}),
    });
    const alarms = new EndpointAlarms(this, 'Alarms', { endpointName: options.endpointName, thresholds: options.alarms });
    // SageMaker reads the alarms' state with the execution role while a deployment bakes (its auto-rollback).
    this.role.addToPolicy(
      new PolicyStatement({ actions: ['cloudwatch:DescribeAlarms'], resources: alarms.alarms.map((alarm) => alarm.alarmArn) }),
    );
    const { capacity, scaling } = options;
    const fewestInstances = capacity.kind === 'instances' ? Math.min(capacity.instanceCount, scaling?.minInstances ?? Infinity) : undefined;
    const endpoint = new CfnEndpoint(this, 'Endpoint', {
      endpointName: options.endpointName,
      endpointConfigName: config.attrEndpointConfigName,
      deploymentConfig: alarms.deploymentConfig(fewestInstances),
      // An update (a new image or model) would otherwise start from the config's instance count,
      // dropping what autoscaling added under load: keep the endpoint's current count and weight.
      ...(options.scaling
        ? { retainAllVariantProperties: true, excludeRetainedVariantProperties: [{ variantPropertyType: 'DataCaptureConfig' }] }
        : {}),
    });
    endpoint.node.addDependency(logGroup);
    this.endpointName = endpoint.attrEndpointName;
    this.endpointArn = endpoint.ref;
    if (options.scaling) this.scaleOnInvocations(endpoint, options.scaling);
  }

  private image(imageUri: string | undefined, dockerContext: string): string {
    if (!imageUri) {
      const asset = new DockerImageAsset(this, 'Image', { directory: dockerContext, platform: Platform.LINUX_AMD64 });
      asset.repository.grantPull(this.role);
      return asset.imageUri;
    }
    const ecr = ECR_IMAGE.exec(imageUri);
    if (ecr) {
      const [, account, region, china, repositoryName] = ecr;
      const partition = china ? 'aws-cn' : 'aws';
      const arn = Arn.format({ partition, service: 'ecr', account, region, resource: 'repository', resourceName: repositoryName });
      Repository.fromRepositoryArn(this, 'Repository', arn).grantPull(this.role);
    }
    return imageUri;
  }

  private modelData(options: EndpointOptions, modelArchive: string): string {
    const { modelDataUrl, modelKmsKeyArn } = options;
    const object = modelDataUrl ? /^s3:\/\/([^/]+)\/(.+)$/.exec(modelDataUrl)! : undefined;
    const asset = object ? undefined : new Asset(this, 'ModelData', { path: modelArchive });
    const [bucket, key] = object ? [object[1]!, object[2]!] : [asset!.s3BucketName, asset!.s3ObjectKey];
    const stack = Stack.of(this);
    this.role.addToPolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: [`arn:${stack.partition}:s3:::${bucket}/${key}`] }));
    if (modelKmsKeyArn) {
      // An SSE-KMS model object: decrypt with that key, and only through S3.
      this.role.addToPolicy(
        new PolicyStatement({
          actions: ['kms:Decrypt'],
          resources: [modelKmsKeyArn],
          conditions: { StringEquals: { 'kms:ViaService': `s3.${stack.region}.${stack.urlSuffix}` } },
        }),
      );
    }
    return modelDataUrl ?? asset!.s3ObjectUrl;
  }

  private scaleOnInvocations(endpoint: CfnEndpoint, scaling: Scaling): void {
    // No RoleARN: Application Auto Scaling uses (and creates) its SageMaker service-linked role.
    const target = new CfnScalableTarget(this, 'ScalableTarget', {
      serviceNamespace: 'sagemaker',
      resourceId: `endpoint/${endpoint.attrEndpointName}/variant/${VARIANT_NAME}`,
      scalableDimension: 'sagemaker:variant:DesiredInstanceCount',
      minCapacity: scaling.minInstances,
      maxCapacity: scaling.maxInstances,
    });
    new CfnScalingPolicy(this, 'InvocationsPerInstance', {
      policyName: `${endpoint.endpointName}-invocations-per-instance`,
      policyType: 'TargetTrackingScaling',
      scalingTargetId: target.ref,
      targetTrackingScalingPolicyConfiguration: {
        targetValue: scaling.targetInvocationsPerInstance,
        predefinedMetricSpecification: { predefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
        // Out fast (an instance takes minutes to start), in slowly (so a lull does not drop capacity a burst needs).
        scaleOutCooldown: 60,
        scaleInCooldown: 300,
      },
    });
  }
}
