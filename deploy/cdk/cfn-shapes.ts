import type { ContainerDefinition, ProductionVariant } from '@aws-sdk/client-sagemaker';
import type { CfnEndpointConfig, CfnModel } from 'aws-cdk-lib/aws-sagemaker';

/**
 * The SDK's model and variant shapes (deploy/sagemaker-requests.ts) as the typed L1 constructs'
 * properties: the same CloudFormation fields, in CDK's spelling (MemorySizeInMB → memorySizeInMb).
 */

export function cfnContainer(c: ContainerDefinition): CfnModel.ContainerDefinitionProperty {
  return {
    image: c.Image,
    mode: c.Mode,
    ...(c.ModelDataUrl ? { modelDataUrl: c.ModelDataUrl } : {}),
    environment: c.Environment,
  };
}

export function cfnVariant(v: ProductionVariant): CfnEndpointConfig.ProductionVariantProperty {
  return {
    variantName: v.VariantName!,
    modelName: v.ModelName,
    initialVariantWeight: v.InitialVariantWeight,
    ...(v.InstanceType ? { instanceType: v.InstanceType, initialInstanceCount: v.InitialInstanceCount } : {}),
    ...(v.ServerlessConfig
      ? { serverlessConfig: { memorySizeInMb: v.ServerlessConfig.MemorySizeInMB!, maxConcurrency: v.ServerlessConfig.MaxConcurrency! } }
      : {}),
  };
}
