import { Arn, ArnFormat, CfnResource, Stack } from 'aws-cdk-lib';
import { CfnScalableTarget, CfnScalingPolicy } from 'aws-cdk-lib/aws-applicationautoscaling';
import { Repository } from 'aws-cdk-lib/aws-ecr';
import { DockerImageAsset, Platform } from 'aws-cdk-lib/aws-ecr-assets';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnEndpoint } from 'aws-cdk-lib/aws-sagemaker';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { containerDefinition, productionVariant, VARIANT_NAME } from '../sagemaker-requests';
import type { EndpointOptions, Scaling } from './options';

export interface SageMakerEndpointProps {
  readonly options: EndpointOptions;
  /** The folder with the Dockerfile, built when no imageUri is given. */
  readonly dockerContext: string;
  /** The shipped model.tar.gz, uploaded when no modelDataUrl is given. */
  readonly modelArchive: string;
}

const ECR_IMAGE = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?\/([^:@]+)/;

/**
 * The SageMaker model, endpoint config and endpoint, with an execution role that may read
 * exactly this model's archive, pull exactly this image and write this endpoint's logs; and,
 * for instance endpoints, target tracking on SageMakerVariantInvocationsPerInstance.
 */
export class SageMakerEndpoint extends Construct {
  readonly endpointName: string;
  /** For IAM: the endpoint's ARN as CloudFormation reports it (SageMaker lower-cases names in ARNs). */
  readonly endpointArn: string;

  constructor(scope: Construct, id: string, props: SageMakerEndpointProps) {
    super(scope, id);
    const { options } = props;
    const role = new Role(this, 'ExecutionRole', {
      assumedBy: new ServicePrincipal('sagemaker.amazonaws.com'),
      description: `Runs the ${options.endpointName} model container`,
    });
    role.addToPolicy(
      new PolicyStatement({
        actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
        resources: [
          Stack.of(this).formatArn({
            service: 'logs',
            resource: 'log-group',
            resourceName: `/aws/sagemaker/Endpoints/${options.endpointName}:*`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );
    const image = this.image(options.imageUri, props.dockerContext, role);
    const modelData = this.modelData(options.modelDataUrl, props.modelArchive, role);

    // The SDK's shapes are CloudFormation's (deploy/sagemaker-requests.ts), so both deploy paths build them once.
    const model = new CfnResource(this, 'Model', {
      type: 'AWS::SageMaker::Model',
      properties: {
        ExecutionRoleArn: role.roleArn,
        PrimaryContainer: containerDefinition({ image, modelData, environment: options.environment }),
      },
    });
    // SageMaker checks the role can read the model when the model is created: the policy comes first.
    model.node.addDependency(role);
    const config = new CfnResource(this, 'Config', {
      type: 'AWS::SageMaker::EndpointConfig',
      properties: { ProductionVariants: [productionVariant(model.getAtt('ModelName').toString(), options.capacity)] },
    });
    const endpoint = new CfnEndpoint(this, 'Endpoint', {
      endpointName: options.endpointName,
      endpointConfigName: config.getAtt('EndpointConfigName').toString(),
    });
    this.endpointName = endpoint.attrEndpointName;
    this.endpointArn = endpoint.ref;
    if (options.scaling) this.scaleOnInvocations(endpoint, options.scaling);
  }

  private image(imageUri: string | undefined, dockerContext: string, role: Role): string {
    if (!imageUri) {
      const asset = new DockerImageAsset(this, 'Image', { directory: dockerContext, platform: Platform.LINUX_AMD64 });
      asset.repository.grantPull(role);
      return asset.imageUri;
    }
    const ecr = ECR_IMAGE.exec(imageUri);
    if (ecr) {
      const [, account, region, china, repositoryName] = ecr;
      const partition = china ? 'aws-cn' : 'aws';
      const arn = Arn.format({ partition, service: 'ecr', account, region, resource: 'repository', resourceName: repositoryName });
      Repository.fromRepositoryArn(this, 'Repository', arn).grantPull(role);
    }
    return imageUri;
  }

  private modelData(modelDataUrl: string | undefined, modelArchive: string, role: Role): string {
    const object = modelDataUrl ? /^s3:\/\/([^/]+)\/(.+)$/.exec(modelDataUrl)! : undefined;
    const asset = object ? undefined : new Asset(this, 'ModelData', { path: modelArchive });
    const [bucket, key] = object ? [object[1]!, object[2]!] : [asset!.s3BucketName, asset!.s3ObjectKey];
    role.addToPolicy(
      new PolicyStatement({ actions: ['s3:GetObject'], resources: [`arn:${Stack.of(this).partition}:s3:::${bucket}/${key}`] }),
    );
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
