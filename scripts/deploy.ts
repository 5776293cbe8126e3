import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DeleteEndpointCommand,
  DeleteEndpointConfigCommand,
  DeleteModelCommand,
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  SageMakerClient,
  waitUntilEndpointDeleted,
  waitUntilEndpointInService,
} from '@aws-sdk/client-sagemaker';
import { parseCli, runCli } from '../image_classification/cli/args';
import { deployRequests, parseEnvironment, timestampSuffix } from '../deploy/sagemaker-requests';

const USAGE = `usage: npm run deploy -- --name ENDPOINT --image ECR_URI --role ROLE_ARN [--model-data s3://…/model.tar.gz]
       [--multi-model --model-data s3://bucket/prefix/]
       [--instance-type ml.m5.large] [--count 2] | [--serverless-memory-mb 4096] [--serverless-max-concurrency 5]
       [--env KEY=VALUE ...] [--region R] [--suffix S] [--dry-run] [--no-wait]
       npm run deploy -- --delete --name ENDPOINT [--region R] [--dry-run]
The quick path for an existing execution role and pushed image (the CDK app creates those too;
docs/deploy.md). Creates the SageMaker model, endpoint config and endpoint, waits until
InService and prints the endpoint name. --multi-model creates a multi-model endpoint over the S3
prefix; --serverless-memory-mb a serverless endpoint instead of instances. --dry-run prints the
exact API inputs and calls nothing.`;

// One JSON object per line: readable, and easy to feed to jq or a test.
const print = (command: string, input: object) => console.log(JSON.stringify({ command, input }));

async function teardown(client: SageMakerClient, name: string, dryRun: boolean): Promise<void> {
  if (dryRun) {
    print('DescribeEndpoint', { EndpointName: name });
    print('DeleteEndpoint', { EndpointName: name });
    print('DeleteEndpointConfig', { EndpointConfigName: '<from DescribeEndpoint>' });
    print('DeleteModel', { ModelName: '<from DescribeEndpointConfig>' });
    return;
  }
  const endpoint = await client.send(new DescribeEndpointCommand({ EndpointName: name }));
  const config = await client.send(new DescribeEndpointConfigCommand({ EndpointConfigName: endpoint.EndpointConfigName }));
  await client.send(new DeleteEndpointCommand({ EndpointName: name }));
  await waitUntilEndpointDeleted({ client, maxWaitTime: 900 }, { EndpointName: name });
  await client.send(new DeleteEndpointConfigCommand({ EndpointConfigName: endpoint.EndpointConfigName }));
  for (const variant of config.ProductionVariants ?? []) await client.send(new DeleteModelCommand({ ModelName: variant.ModelName }));
  console.log(`deleted ${name}`);
}

runCli(async () => {
  const { values } = parseCli(
    {
      name: { type: 'string' },
      image: { type: 'string' },
      role: { type: 'string' },
      'model-data': { type: 'string' },
      'multi-model': { type: 'boolean', default: false },
      'instance-type': { type: 'string', default: 'ml.m5.large' },
      count: { type: 'string', default: '2' },
      'serverless-memory-mb': { type: 'string' },
      'serverless-max-concurrency': { type: 'string', default: '5' },
      env: { type: 'string', multiple: true, default: [] },
      region: { type: 'string' },
      suffix: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      'no-wait': { type: 'boolean', default: false },
      delete: { type: 'boolean', default: false },
      help: { type: 'boolean' },
    },
    USAGE,
  );
  if (!values.name) throw new Error(`--name is required\n\n${USAGE}`);
  const client = new SageMakerClient(values.region ? { region: values.region } : {});
  if (values.delete) return teardown(client, values.name, values['dry-run']);
  if (!values.image || !values.role) throw new Error(`--image and --role are required\n\n${USAGE}`);

  const requests = deployRequests({
    name: values.name,
    image: values.image,
    role: values.role,
    modelData: values['model-data'],
    multiModel: values['multi-model'],
    capacity: values['serverless-memory-mb']
      ? {
          kind: 'serverless',
          memoryMb: Number(values['serverless-memory-mb']),
          maxConcurrency: Number(values['serverless-max-concurrency']),
        }
      : { kind: 'instances', instanceType: values['instance-type'], instanceCount: Number(values.count) },
    environment: parseEnvironment(values.env),
    suffix: values.suffix ?? timestampSuffix(),
  });
  const commands = [
    new CreateModelCommand(requests.createModel),
    new CreateEndpointConfigCommand(requests.createEndpointConfig),
    new CreateEndpointCommand(requests.createEndpoint),
  ];
  if (values['dry-run']) {
    for (const command of commands) print(command.constructor.name.replace(/Command$/, ''), command.input);
    return;
  }
  for (const command of commands) await client.send(command as never);
  if (!values['no-wait']) {
    console.error(`waiting for ${values.name} to be InService (typically 5–10 minutes)…`);
    await waitUntilEndpointInService({ client, maxWaitTime: 1800 }, { EndpointName: values.name });
  }
  console.log(values.name);
});
