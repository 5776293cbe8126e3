import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { endpointOptions } from '../../deploy/cdk/options';
import { measuredImagesPerSecondPerVcpu, targetInvocationsPerInstance } from '../../deploy/cdk/scaling';
import { ImageClassificationStack, repositoryAssets } from '../../deploy/cdk/stack';
import { ROOT } from '../../harness/helpers';

/**
 * The CDK app's synthesized template (aws-cdk-lib/assertions): the resources `npx cdk deploy`
 * creates, the scaling policy and the IAM statements, scoped to the exact resources.
 */

const run = promisify(execFile);
const IMAGE = '111122223333.dkr.ecr.eu-west-1.amazonaws.com/image-classification:v1';
type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

async function measuredPerVcpu(): Promise<number> {
  return measuredImagesPerSecondPerVcpu(JSON.parse(await readFile(path.join(ROOT, 'bench', 'results', 'bench.json'), 'utf8')));
}

async function synth(context: Record<string, string>): Promise<Template> {
  const options = endpointOptions(context, await measuredPerVcpu());
  const app = new App({ outdir: await mkdtemp(path.join(os.tmpdir(), 'cdk-')) });
  const stack = new ImageClassificationStack(app, options.stackName, { options, assets: repositoryAssets(ROOT) });
  return Template.fromStack(stack);
}

/** The statements of the inline policy attached to the role whose logical id starts with `rolePrefix`. */
function statementsOf(template: Template, rolePrefix: string): Statement[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')) as {
    Properties: { Roles: { Ref: string }[]; PolicyDocument: { Statement: Statement[] } };
  }[];
  return policies
    .filter((p) => p.Properties.Roles.some((role) => role.Ref.startsWith(rolePrefix)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

const actionsOf = (statement: Statement) => [statement.Action].flat();

test('default stack: image and model as assets, instance endpoint with target tracking from the measured throughput', async () => {
  const template = await synth({});
  template.resourceCountIs('AWS::SageMaker::Model', 1);
  template.hasResourceProperties('AWS::SageMaker::Model', {
    PrimaryContainer: { Mode: 'SingleModel', Image: Match.objectLike({ 'Fn::Sub': Match.stringLikeRegexp('container-assets') }) },
  });
  template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
    ProductionVariants: [Match.objectLike({ VariantName: 'AllTraffic', InstanceType: 'ml.m5.large', InitialInstanceCount: 1 })],
  });
  template.hasResourceProperties('AWS::SageMaker::Endpoint', { EndpointName: 'image-classification' });
  template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
    ServiceNamespace: 'sagemaker',
    ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
    ResourceId: { 'Fn::Join': ['', ['endpoint/', Match.anyValue(), '/variant/AllTraffic']] },
    MinCapacity: 1,
    MaxCapacity: 4,
    RoleARN: Match.absent(),
  });
  const expectedTarget = targetInvocationsPerInstance(await measuredPerVcpu(), 'ml.m5.large');
  assert.ok(expectedTarget > 100, `target ${expectedTarget} invocations/minute from the bench results`);
  template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
    PolicyType: 'TargetTrackingScaling',
    TargetTrackingScalingPolicyConfiguration: {
      TargetValue: expectedTarget,
      PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
    },
  });
  template.hasResourceProperties('AWS::Lambda::Function', {
    Runtime: 'nodejs24.x',
    Handler: 'index.handler',
    Environment: { Variables: { BUCKET_NAME: Match.anyValue(), SAGEMAKER_ENDPOINT_NAME: Match.anyValue() } },
  });
  template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
  template.resourceCountIs('Custom::CDKBucketDeployment', 1);
  for (const output of ['EndpointName', 'BucketName', 'FunctionName']) template.hasOutput(output, {});
  template.hasOutput('InvokeCommand', {
    Value: { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('^aws lambda invoke --function-name')])] },
  });
});

test('the invoker role may read the bucket, invoke the endpoint and write its log group: nothing else', async () => {
  const template = await synth({});
  const roles = template.findResources('AWS::IAM::Role', { Properties: { AssumeRolePolicyDocument: Match.objectLike({}) } });
  const invokerRole = Object.entries(roles).find(([id]) => id.startsWith('InvokerRole'))!;
  assert.equal((invokerRole[1] as { Properties: { ManagedPolicyArns?: unknown } }).Properties.ManagedPolicyArns, undefined);
  const statements = statementsOf(template, 'InvokerRole');
  const bucket = Object.keys(template.findResources('AWS::S3::Bucket'))[0]!;
  const endpoint = Object.keys(template.findResources('AWS::SageMaker::Endpoint'))[0]!;
  const logGroup = Object.keys(template.findResources('AWS::Logs::LogGroup'))[0]!;
  assert.deepEqual(
    statements.map((s) => ({ actions: actionsOf(s), resource: s.Resource })),
    [
      { actions: ['s3:GetObject'], resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, '/*']] } },
      { actions: ['sagemaker:InvokeEndpoint'], resource: { Ref: endpoint } },
      { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resource: { 'Fn::GetAtt': [logGroup, 'Arn'] } },
    ],
  );
  template.hasResourceProperties('AWS::Lambda::Function', {
    Role: { 'Fn::GetAtt': [invokerRole[0], 'Arn'] },
    LoggingConfig: { LogGroup: { Ref: logGroup } },
  });
});

test('the execution role reads exactly the model archive and pulls exactly the given ECR image; no wildcard where a scope exists', async () => {
  const template = await synth({ imageUri: IMAGE, modelDataUrl: 's3://my-models/trash/model.tar.gz', endpointName: 'trash' });
  template.hasResourceProperties('AWS::SageMaker::Model', {
    PrimaryContainer: { Image: IMAGE, ModelDataUrl: 's3://my-models/trash/model.tar.gz' },
  });
  const statements = statementsOf(template, 'EndpointExecutionRole');
  const byAction = (action: string) => statements.find((s) => actionsOf(s).includes(action));
  assert.match(JSON.stringify(byAction('s3:GetObject')!.Resource), /:s3:::my-models\/trash\/model\.tar\.gz"/);
  assert.equal(byAction('ecr:BatchGetImage')!.Resource, 'arn:aws:ecr:eu-west-1:111122223333:repository/image-classification');
  assert.match(JSON.stringify(byAction('logs:PutLogEvents')!.Resource), /log-group:\/aws\/sagemaker\/Endpoints\/trash:\*/);
  // ecr:GetAuthorizationToken has no resource scope in IAM; it is the only "*".
  for (const statement of [...statements, ...statementsOf(template, 'InvokerRole')]) {
    assert.ok(!actionsOf(statement).some((action) => action.includes('*')), `wildcard action in ${JSON.stringify(statement)}`);
    if (statement.Resource === '*') assert.deepEqual(actionsOf(statement), ['ecr:GetAuthorizationToken']);
  }
  template.resourceCountIs('AWS::ECR::Repository', 0);
});

test('serverless: a serverless variant and no instance autoscaling; bad context is refused by name', async () => {
  const template = await synth({ serverlessMemoryMb: '4096', serverlessMaxConcurrency: '10' });
  template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
    ProductionVariants: [
      Match.objectLike({ ServerlessConfig: { MemorySizeInMB: 4096, MaxConcurrency: 10 }, InstanceType: Match.absent() }),
    ],
  });
  template.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 0);
  const scaled = endpointOptions({ instanceType: 'ml.c5.2xlarge', maxInstances: '8', minInstances: '2' }, 30);
  assert.deepEqual(scaled.scaling, { minInstances: 2, maxInstances: 8, targetInvocationsPerInstance: 30 * 8 * 60 * 0.5 });
  assert.equal(endpointOptions({ targetInvocationsPerInstance: '500' }, 30).scaling?.targetInvocationsPerInstance, 500);
  assert.throws(() => endpointOptions({ serverlessMemoryMb: '1000' }, 30), /serverlessMemoryMb/);
  assert.throws(() => endpointOptions({ modelDataUrl: 'https://x/model.tar.gz' }, 30), /modelDataUrl/);
  assert.throws(() => endpointOptions({ instanceCount: '5' }, 30), /maxInstances/);
  assert.throws(() => endpointOptions({ instanceType: 'ml.weird.huge' }, 30), /targetInvocationsPerInstance/);
});

test('npx cdk synth works offline with no AWS credentials', { timeout: 120_000 }, async () => {
  const out = await mkdtemp(path.join(os.tmpdir(), 'cdk-out-'));
  const home = await mkdtemp(path.join(os.tmpdir(), 'cdk-home-'));
  const env = {
    PATH: process.env.PATH!,
    HOME: home,
    AWS_CONFIG_FILE: path.join(home, 'none'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'none'),
  };
  // --app skips cdk.json's build step: this suite runs from the dist/ that step would rebuild.
  await run(
    path.join(ROOT, 'node_modules', '.bin', 'cdk'),
    ['synth', '--app', `node ${path.join(ROOT, 'dist/deploy/cdk/app.js')}`, '-o', out, '-c', 'instanceType=ml.c5.xlarge', '--quiet'],
    { cwd: ROOT, env },
  );
  const template = JSON.parse(await readFile(path.join(out, 'ImageClassification.template.json'), 'utf8')) as {
    Resources: Record<string, { Type: string; Properties: { ProductionVariants?: { InstanceType: string }[] } }>;
  };
  const config = Object.values(template.Resources).find((resource) => resource.Type === 'AWS::SageMaker::EndpointConfig')!;
  assert.equal(config.Properties.ProductionVariants![0]!.InstanceType, 'ml.c5.xlarge');
});
