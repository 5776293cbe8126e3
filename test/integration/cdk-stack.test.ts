import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import { ROOT } from '../../harness/helpers';
import { actionsOf, statementsOf, synth } from '../../harness/cdk';

/**
 * The CDK app's synthesized template (aws-cdk-lib/assertions): the resources `npx cdk deploy`
 * creates, the scaling policy and the IAM statements, scoped to the exact resources. Every
 * synthesis runs cdk-nag's AwsSolutions pack (../cdk.ts). Alarms, deployments, stages and
 * options: cdk-operations.test.ts.
 */

const run = promisify(execFile);
const IMAGE = '111122223333.dkr.ecr.eu-west-1.amazonaws.com/image-classification:v1';
const KEY = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

test('default stack: image and model as assets, a network-isolated model on two instances, target tracking from cdk.json', async () => {
  const template = await synth();
  template.resourceCountIs('AWS::SageMaker::Model', 1);
  template.hasResourceProperties('AWS::SageMaker::Model', {
    EnableNetworkIsolation: true,
    PrimaryContainer: { Mode: 'SingleModel', Image: Match.objectLike({ 'Fn::Sub': Match.stringLikeRegexp('container-assets') }) },
  });
  template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
    ProductionVariants: [Match.objectLike({ VariantName: 'AllTraffic', InstanceType: 'ml.m5.large', InitialInstanceCount: 2 })],
    KmsKeyId: Match.absent(),
  });
  template.hasResourceProperties('AWS::SageMaker::Endpoint', { EndpointName: 'image-classification' });
  template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
    ServiceNamespace: 'sagemaker',
    ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
    ResourceId: { 'Fn::Join': ['', ['endpoint/', Match.anyValue(), '/variant/AllTraffic']] },
    MinCapacity: 2,
    MaxCapacity: 4,
    RoleARN: Match.absent(),
  });
  // cdk.json pins 67.8 images/s per vCPU: × 2 vCPUs (ml.m5.large) × 60 s × 0.5 safety = 4068.
  template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
    PolicyType: 'TargetTrackingScaling',
    TargetTrackingScalingPolicyConfiguration: {
      TargetValue: 4068,
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
  const template = await synth();
  const roles = template.findResources('AWS::IAM::Role', { Properties: { AssumeRolePolicyDocument: Match.objectLike({}) } });
  const invokerRole = Object.entries(roles).find(([id]) => id.startsWith('InvokerRole'))!;
  assert.equal((invokerRole[1] as { Properties: { ManagedPolicyArns?: unknown } }).Properties.ManagedPolicyArns, undefined);
  const statements = statementsOf(template, 'InvokerRole');
  const bucket = Object.keys(template.findResources('AWS::S3::Bucket'))[0]!;
  const endpoint = Object.keys(template.findResources('AWS::SageMaker::Endpoint'))[0]!;
  const logGroup = Object.keys(template.findResources('AWS::Logs::LogGroup')).find((id) => id.startsWith('Invoker'))!;
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

test('the execution role: assumed by SageMaker for this account only; reads exactly the model, pulls exactly the image; no wildcard where a scope exists', async () => {
  const template = await synth({ imageUri: IMAGE, modelDataUrl: 's3://my-models/trash/model.tar.gz', endpointName: 'trash' });
  template.hasResourceProperties('AWS::SageMaker::Model', {
    PrimaryContainer: { Image: IMAGE, ModelDataUrl: 's3://my-models/trash/model.tar.gz' },
  });
  template.hasResourceProperties('AWS::IAM::Role', {
    Description: Match.stringLikeRegexp('trash model container'),
    AssumeRolePolicyDocument: {
      Statement: [
        {
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { Service: 'sagemaker.amazonaws.com' },
          Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
        },
      ],
    },
  });
  const statements = statementsOf(template, 'EndpointExecutionRole');
  const byAction = (action: string) => statements.find((s) => actionsOf(s).includes(action));
  assert.match(JSON.stringify(byAction('s3:GetObject')!.Resource), /:s3:::my-models\/trash\/model\.tar\.gz"/);
  assert.equal(byAction('ecr:BatchGetImage')!.Resource, 'arn:aws:ecr:eu-west-1:111122223333:repository/image-classification');
  assert.match(JSON.stringify(byAction('logs:PutLogEvents')!.Resource), /log-group:\/aws\/sagemaker\/Endpoints\/trash:\*/);
  assert.equal(byAction('logs:CreateLogGroup'), undefined, 'the stack creates the log group');
  assert.deepEqual(byAction('cloudwatch:PutMetricData')!.Condition, {
    StringEquals: { 'cloudwatch:namespace': '/aws/sagemaker/Endpoints' },
  });
  assert.equal(byAction('kms:Decrypt'), undefined);
  // IAM has no resource scope for ecr:GetAuthorizationToken or cloudwatch:PutMetricData: they are the only "*".
  for (const statement of [...statements, ...statementsOf(template, 'InvokerRole')]) {
    assert.ok(!actionsOf(statement).some((action) => action.includes('*')), `wildcard action in ${JSON.stringify(statement)}`);
    if (statement.Resource === '*')
      assert.ok(['ecr:GetAuthorizationToken', 'cloudwatch:PutMetricData'].includes(actionsOf(statement).join()));
  }
  template.resourceCountIs('AWS::ECR::Repository', 0);
});

test("KMS: a key for the instances' volumes, and decrypt on the model bucket's key through S3 only", async () => {
  const template = await synth({ modelDataUrl: 's3://my-models/model.tar.gz', modelKmsKeyArn: KEY, volumeKmsKeyArn: KEY });
  template.hasResourceProperties('AWS::SageMaker::EndpointConfig', { KmsKeyId: KEY });
  const decrypt = statementsOf(template, 'EndpointExecutionRole').find((s) => actionsOf(s).includes('kms:Decrypt'))!;
  assert.equal(decrypt.Resource, KEY);
  assert.match(JSON.stringify(decrypt.Condition), /kms:ViaService.*s3\./);
});

test(
  "npx cdk synth works offline with no AWS credentials, environment-agnostic, with cdk.json's scaling basis, under cdk-nag",
  { timeout: 120_000 },
  async () => {
    const out = await mkdtemp(path.join(os.tmpdir(), 'cdk-out-'));
    const home = await mkdtemp(path.join(os.tmpdir(), 'cdk-home-'));
    const env = {
      PATH: process.env.PATH!,
      HOME: home,
      AWS_CONFIG_FILE: path.join(home, 'none'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'none'),
    };
    // --app skips cdk.json's build step: this suite runs from the dist/ that step would rebuild. cdk.json's context still applies.
    await run(
      path.join(ROOT, 'node_modules', '.bin', 'cdk'),
      ['synth', '--app', `node ${path.join(ROOT, 'dist/deploy/cdk/app.js')}`, '-o', out, '-c', 'instanceType=ml.c5.xlarge', '--quiet'],
      { cwd: ROOT, env },
    );
    type Resource = { Type: string; Properties: Record<string, unknown> };
    const template = JSON.parse(await readFile(path.join(out, 'ImageClassification.template.json'), 'utf8')) as {
      Resources: Record<string, Resource>;
    };
    const ofType = (type: string) => Object.values(template.Resources).find((resource) => resource.Type === type)!.Properties;
    const variants = ofType('AWS::SageMaker::EndpointConfig').ProductionVariants as { InstanceType: string }[];
    assert.equal(variants[0]!.InstanceType, 'ml.c5.xlarge');
    // 67.8 images/s per vCPU (cdk.json) × 4 vCPUs × 60 s × 0.5 = 8136.
    const policy = ofType('AWS::ApplicationAutoScaling::ScalingPolicy').TargetTrackingScalingPolicyConfiguration as { TargetValue: number };
    assert.equal(policy.TargetValue, 8136);
    const manifest = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8')) as {
      artifacts: Record<string, { environment?: string }>;
    };
    assert.equal(manifest.artifacts.ImageClassification!.environment, 'aws://unknown-account/unknown-region');
    // The app itself runs cdk-nag, not only the tests: a new unacknowledged finding fails `cdk deploy` too.
    const report = JSON.parse(await readFile(path.join(out, 'validation-report.json'), 'utf8')) as {
      pluginReports: { pluginName: string; conclusion: string; violations: unknown[] }[];
    };
    assert.deepEqual(
      report.pluginReports.map(({ pluginName, conclusion, violations }) => [pluginName, conclusion, violations.length]),
      [['AwsSolutions', 'success', 0]],
    );
  },
);
