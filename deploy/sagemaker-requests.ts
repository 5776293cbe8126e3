import type {
  ContainerDefinition,
  CreateEndpointCommandInput,
  CreateEndpointConfigCommandInput,
  CreateModelCommandInput,
  ProductionVariant,
  ProductionVariantInstanceType,
} from '@aws-sdk/client-sagemaker';

/**
 * The SageMaker model and endpoint-config shapes, built once for both deploy paths: the
 * `npm run deploy` CLI sends them through the SDK, the CDK stack writes them as the
 * CloudFormation properties of AWS::SageMaker::Model / EndpointConfig (same names, same shape).
 */

export interface ContainerOptions {
  readonly image: string;
  /**
   * s3:// URI of model.tar.gz; without it the image's shipped model is served. With
   * `multiModel`, the S3 prefix (ending in /) that holds every model's .tar.gz.
   */
  readonly modelData?: string;
  /** A multi-model endpoint: InvokeEndpoint's TargetModel names a .tar.gz under the modelData prefix. */
  readonly multiModel?: boolean;
  readonly environment: Record<string, string>;
}

/** Instances (scaled by Application Auto Scaling), or serverless (scaled by SageMaker itself). */
export type Capacity =
  | { readonly kind: 'instances'; readonly instanceType: string; readonly instanceCount: number }
  | { readonly kind: 'serverless'; readonly memoryMb: number; readonly maxConcurrency: number };

/** The one variant every endpoint here has; autoscaling addresses it by this name. */
export const VARIANT_NAME = 'AllTraffic';

export function containerDefinition(o: ContainerOptions): ContainerDefinition {
  if (o.multiModel && !/^s3:\/\/[^/]+\/(.+\/)?$/.test(o.modelData ?? '')) {
    throw new Error(
      'a multi-model endpoint needs its model data as an S3 prefix ending in / (s3://bucket/models/), where the .tar.gz files are',
    );
  }
  return {
    Image: o.image,
    Mode: o.multiModel ? 'MultiModel' : 'SingleModel',
    ...(o.modelData ? { ModelDataUrl: o.modelData } : {}),
    Environment: o.multiModel ? { SAGEMAKER_MULTI_MODEL: 'true', ...o.environment } : o.environment,
  };
}

export function productionVariant(modelName: string, capacity: Capacity): ProductionVariant {
  const sizing =
    capacity.kind === 'serverless'
      ? { ServerlessConfig: { MemorySizeInMB: capacity.memoryMb, MaxConcurrency: capacity.maxConcurrency } }
      : { InstanceType: capacity.instanceType as ProductionVariantInstanceType, InitialInstanceCount: capacity.instanceCount };
  return { VariantName: VARIANT_NAME, ModelName: modelName, ...sizing, InitialVariantWeight: 1 };
}

/**
 * The container reads nothing from the network (SageMaker fetches the model before it starts),
 * so instances run it isolated. Serverless endpoints do not support network isolation.
 */
export function networkIsolation(capacity: Capacity): boolean {
  return capacity.kind === 'instances';
}

export interface DeployOptions extends ContainerOptions {
  /** Endpoint name; the model and endpoint config are named after it plus a suffix. */
  readonly name: string;
  readonly role: string;
  readonly capacity: Capacity;
  /** Makes model and config names unique per deployment (default: a timestamp). */
  readonly suffix: string;
}

export interface DeployRequests {
  readonly createModel: CreateModelCommandInput;
  readonly createEndpointConfig: CreateEndpointConfigCommandInput;
  readonly createEndpoint: CreateEndpointCommandInput;
}

/** The three SageMaker API inputs that stand up an endpoint; pure, so --dry-run prints exactly these. */
export function deployRequests(o: DeployOptions): DeployRequests {
  const modelName = `${o.name}-${o.suffix}`;
  const configName = `${o.name}-config-${o.suffix}`;
  return {
    createModel: {
      ModelName: modelName,
      ExecutionRoleArn: o.role,
      PrimaryContainer: containerDefinition(o),
      EnableNetworkIsolation: networkIsolation(o.capacity),
    },
    createEndpointConfig: { EndpointConfigName: configName, ProductionVariants: [productionVariant(modelName, o.capacity)] },
    createEndpoint: { EndpointName: o.name, EndpointConfigName: configName },
  };
}

export function parseEnvironment(pairs: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    pairs.map((pair) => {
      const at = pair.indexOf('=');
      if (at <= 0) throw new Error(`--env expects KEY=VALUE, got '${pair}'`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
}

export function timestampSuffix(now = new Date()): string {
  return now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}
