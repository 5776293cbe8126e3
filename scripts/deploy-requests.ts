import type {
  CreateEndpointCommandInput,
  CreateEndpointConfigCommandInput,
  CreateModelCommandInput,
  ProductionVariantInstanceType,
} from '@aws-sdk/client-sagemaker';

export interface DeployOptions {
  /** Endpoint name; the model and endpoint config are named after it plus a suffix. */
  readonly name: string;
  readonly image: string;
  /**
   * s3:// URI of model.tar.gz; without it the image's shipped model is served. With
   * `multiModel`, the S3 prefix (ending in /) that holds every model's .tar.gz.
   */
  readonly modelData?: string;
  /** A multi-model endpoint: InvokeEndpoint's TargetModel names a .tar.gz under the modelData prefix. */
  readonly multiModel?: boolean;
  readonly role: string;
  readonly instanceType: string;
  readonly instanceCount: number;
  readonly environment: Record<string, string>;
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
  if (o.multiModel && !/^s3:\/\/[^/]+\/(.+\/)?$/.test(o.modelData ?? '')) {
    throw new Error('--multi-model needs --model-data as an S3 prefix ending in / (s3://bucket/models/), where the .tar.gz files are');
  }
  const modelName = `${o.name}-${o.suffix}`;
  const configName = `${o.name}-config-${o.suffix}`;
  return {
    createModel: {
      ModelName: modelName,
      ExecutionRoleArn: o.role,
      PrimaryContainer: {
        Image: o.image,
        Mode: o.multiModel ? 'MultiModel' : 'SingleModel',
        ...(o.modelData ? { ModelDataUrl: o.modelData } : {}),
        Environment: o.multiModel ? { SAGEMAKER_MULTI_MODEL: 'true', ...o.environment } : o.environment,
      },
    },
    createEndpointConfig: {
      EndpointConfigName: configName,
      ProductionVariants: [
        {
          VariantName: 'AllTraffic',
          ModelName: modelName,
          InstanceType: o.instanceType as ProductionVariantInstanceType,
          InitialInstanceCount: o.instanceCount,
          InitialVariantWeight: 1,
        },
      ],
    },
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
