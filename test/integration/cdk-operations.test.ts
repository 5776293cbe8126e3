import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { endpointOptions } from '../../deploy/cdk/options';
import { actionsOf, addStack, nagApp, statementsOf, synth } from '../../harness/cdk';

/**
 * What an operator checks in the synthesized template before deploying: the endpoint's log
 * group owned by the stack, alarms that roll a blue/green deployment back, two stages that
 * never share a physical name, options that refuse what cannot work, and cdk-nag's AwsSolutions
 * pack clean, each acknowledged finding with its reason.
 */

type Resource = { Type: string; Properties: Record<string, unknown>; DependsOn?: string[]; DeletionPolicy?: string };
const BASIS = { imagesPerSecondPerVcpu: 30 };

test("the endpoint's log group is the stack's: SageMaker's name, a retention, deleted with the stack, created before the endpoint", async () => {
  const template = await synth({ logRetentionDays: '90' });
  const groups = template.findResources('AWS::Logs::LogGroup', {
    Properties: { LogGroupName: '/aws/sagemaker/Endpoints/image-classification' },
  }) as Record<string, Resource>;
  const [id, group] = Object.entries(groups)[0]!;
  assert.equal(group.Properties.RetentionInDays, 90);
  assert.equal(group.DeletionPolicy, 'Delete');
  const endpoint = Object.values(template.findResources('AWS::SageMaker::Endpoint'))[0] as Resource;
  assert.ok(endpoint.DependsOn?.includes(id), 'SageMaker would create the group itself, with no expiry, if the endpoint came first');
  assert.throws(() => endpointOptions({ ...BASIS, logRetentionDays: '45' }), /logRetentionDays/);
});

test('alarms on the 5XX share and ModelLatency p99 roll back a canary blue/green deployment that keeps the scaled instance count', async () => {
  const template = await synth({ alarm5xxPercent: '2', alarmLatencyP99Ms: '1500' });
  const alarms = template.findResources('AWS::CloudWatch::Alarm') as Record<string, Resource>;
  assert.ok(Object.keys(alarms).length >= 1);
  const latency = Object.values(alarms).find((a) => a.Properties.MetricName === 'ModelLatency')!.Properties;
  // ModelLatency is in microseconds.
  assert.deepEqual(
    { stat: latency.ExtendedStatistic, threshold: latency.Threshold, namespace: latency.Namespace },
    { stat: 'p99', threshold: 1_500_000, namespace: 'AWS/SageMaker' },
  );
  const errors = Object.values(alarms).find((a) => a.Properties.Metrics)!.Properties;
  assert.equal(errors.Threshold, 2);
  assert.match(JSON.stringify(errors.Metrics), /Invocation5XXErrors.*Invocations|Invocations.*Invocation5XXErrors/);
  for (const alarm of Object.values(alarms)) {
    assert.match(JSON.stringify(alarm.Properties), /"EndpointName","Value":"image-classification"/);
    assert.equal(alarm.Properties.TreatMissingData, 'notBreaching');
  }
  template.hasResourceProperties('AWS::SageMaker::Endpoint', {
    DeploymentConfig: {
      BlueGreenUpdatePolicy: {
        TrafficRoutingConfiguration: {
          Type: 'CANARY',
          CanarySize: { Type: 'INSTANCE_COUNT', Value: 1 },
          WaitIntervalInSeconds: Match.anyValue(),
        },
        TerminationWaitInSeconds: Match.anyValue(),
        MaximumExecutionTimeoutInSeconds: Match.anyValue(),
      },
      AutoRollbackConfiguration: { Alarms: Object.keys(alarms).map((id) => ({ AlarmName: { Ref: id } })) },
    },
    // An update keeps the instance count autoscaling reached, not the config's initial one.
    RetainAllVariantProperties: true,
    ExcludeRetainedVariantProperties: [{ VariantPropertyType: 'DataCaptureConfig' }],
  });
  // SageMaker reads the alarms with the endpoint's execution role to decide a rollback: only these alarms.
  const describe = statementsOf(template, 'EndpointExecutionRole').filter((s) => actionsOf(s).includes('cloudwatch:DescribeAlarms'));
  assert.equal(describe.length, 1);
  assert.deepEqual(
    [describe[0]!.Resource].flat(),
    Object.keys(alarms).map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] })),
  );
});

test('a fleet that can be one instance, or serverless: blue/green all at once, still rolled back by the alarms', async () => {
  // Autoscaling down to one instance: an update starts from the count it left, where a canary of one would be all of it.
  const contexts = [
    { instanceCount: '1' },
    { instanceCount: '2', minInstances: '1' },
    { serverlessMemoryMb: '4096', serverlessMaxConcurrency: '10' },
  ];
  for (const context of contexts) {
    const template = await synth(context);
    template.hasResourceProperties('AWS::SageMaker::Endpoint', {
      DeploymentConfig: {
        BlueGreenUpdatePolicy: { TrafficRoutingConfiguration: { Type: 'ALL_AT_ONCE' } },
        AutoRollbackConfiguration: { Alarms: Match.arrayWith([Match.objectLike({ AlarmName: Match.anyValue() })]) },
      },
    });
  }
  const serverless = await synth({ serverlessMemoryMb: '4096', serverlessMaxConcurrency: '10' });
  serverless.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
    ProductionVariants: [
      Match.objectLike({ ServerlessConfig: { MemorySizeInMB: 4096, MaxConcurrency: 10 }, InstanceType: Match.absent() }),
    ],
  });
  serverless.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 0);
  serverless.hasResourceProperties('AWS::SageMaker::Endpoint', { RetainAllVariantProperties: Match.absent() });
  // Workers: the server's default (one per core) from 2 GB; one below, where two workers' worst case does not fit.
  const workersOf = (template: Template) => {
    const [model] = Object.values(template.findResources('AWS::SageMaker::Model')) as Resource[];
    return (model!.Properties.PrimaryContainer as { Environment?: Record<string, string> }).Environment?.SAGEMAKER_MODEL_SERVER_WORKERS;
  };
  assert.equal(workersOf(serverless), undefined);
  assert.equal(workersOf(await synth({ serverlessMemoryMb: '1024' })), '1');
  assert.equal(workersOf(await synth({ serverlessMemoryMb: '1024', workers: '2' })), '2');
  // Serverless endpoints do not support network isolation: CreateEndpoint would fail with it.
  serverless.hasResourceProperties('AWS::SageMaker::Model', { EnableNetworkIsolation: false });
});

test('two stages in one account and region: no physical name in common', async () => {
  const app = await nagApp();
  const stacks = ['ImageClassificationStaging', 'ImageClassification-Prod'].map((stackName) => addStack(app, { stackName }));
  const names = stacks.map((stack) => {
    const resources = Object.values(Template.fromStack(stack).toJSON().Resources as Record<string, Resource>);
    // Every name a resource is given rather than generated.
    // (An IAM inline policy's name is its role's own.)
    return resources
      .filter((r) => r.Type !== 'AWS::IAM::Policy')
      .flatMap((r) =>
        ['EndpointName', 'LogGroupName', 'AlarmName', 'PolicyName']
          .map((key) => r.Properties?.[key])
          .filter((name): name is string => typeof name === 'string'),
      );
  });
  assert.ok(names[0]!.includes('image-classification-staging'), names[0]!.join());
  assert.ok(names[1]!.includes('/aws/sagemaker/Endpoints/image-classification-prod'), names[1]!.join());
  assert.deepEqual(
    names[0]!.filter((name) => names[1]!.includes(name)),
    [],
  );
});

test('options: the scaling target from the pinned throughput; GPU, Inferentia and Graviton types need a measured target', () => {
  // 30 images/s per vCPU × 8 vCPUs × 60 s × 0.5.
  const scaled = endpointOptions({ ...BASIS, instanceType: 'ml.c5.2xlarge', maxInstances: '8', minInstances: '3' });
  assert.deepEqual(scaled.scaling, { minInstances: 3, maxInstances: 8, targetInvocationsPerInstance: 7200 });
  assert.equal(endpointOptions({ ...BASIS }).capacity.kind === 'instances' && endpointOptions({ ...BASIS }).scaling?.minInstances, 2);
  assert.equal(endpointOptions({ ...BASIS, instanceCount: '1' }).scaling?.minInstances, 1);
  assert.equal(endpointOptions({ ...BASIS, targetInvocationsPerInstance: '500' }).scaling?.targetInvocationsPerInstance, 500);
  for (const instanceType of ['ml.g5.xlarge', 'ml.p4d.24xlarge', 'ml.inf2.xlarge', 'ml.g4dn.xlarge']) {
    assert.throws(() => endpointOptions({ ...BASIS, instanceType }), /targetInvocationsPerInstance/, instanceType);
    assert.equal(
      endpointOptions({ ...BASIS, instanceType, targetInvocationsPerInstance: '900' }).scaling?.targetInvocationsPerInstance,
      900,
    );
  }
  for (const instanceType of ['ml.c7g.xlarge', 'ml.m6gd.large', 'ml.c6gn.2xlarge']) {
    assert.throws(() => endpointOptions({ ...BASIS, instanceType, targetInvocationsPerInstance: '900' }), /arm64/, instanceType);
    assert.throws(() => endpointOptions({ ...BASIS, instanceType, imageUri: 'x' }), /targetInvocationsPerInstance/, instanceType);
  }
  assert.throws(() => endpointOptions({}), /imagesPerSecondPerVcpu/);
  assert.throws(() => endpointOptions({ ...BASIS, serverlessMemoryMb: '1000' }), /serverlessMemoryMb/);
  assert.throws(
    () => endpointOptions({ ...BASIS, serverlessMemoryMb: '2048', volumeKmsKeyArn: 'arn:aws:kms:eu-west-1:111122223333:key/k' }),
    /serverless/,
  );
  assert.throws(() => endpointOptions({ ...BASIS, modelDataUrl: 'https://x/model.tar.gz' }), /modelDataUrl/);
  assert.throws(() => endpointOptions({ ...BASIS, modelKmsKeyArn: 'alias/mine' }), /modelKmsKeyArn/);
  assert.throws(() => endpointOptions({ ...BASIS, instanceCount: '5' }), /maxInstances/);
  assert.throws(() => endpointOptions({ ...BASIS, instanceType: 'ml.weird.huge' }), /targetInvocationsPerInstance/);
});

test('cdk-nag (AwsSolutions) runs on every synthesis here and fails on an unacknowledged finding; each acknowledgement gives its reason', async () => {
  const app = await nagApp();
  const stack = addStack(app, {});
  // Each acknowledgement is recorded as { "<pack>::<rule>[finding]": reason } on the construct it covers.
  const reasons = stack.node
    .findAll()
    .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
    .flatMap((m) => Object.entries(m.data as Record<string, string>));
  assert.ok(reasons.length > 0);
  for (const [id, reason] of reasons) {
    assert.match(id, /^AwsSolutions::AwsSolutions-/);
    assert.ok(reason.length >= 40, `${id}: "${reason}" is not a reason`);
  }
  // The same stack plus one bucket nobody acknowledged: the synth fails, naming the rule.
  new Bucket(stack, 'Unreviewed', { enforceSSL: true });
  assert.throws(() => app.synth(), /Validation failed/);
});
