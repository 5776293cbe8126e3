import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { withAwsSolutionsChecks } from '../deploy/cdk/nag';
import { CONTEXT_KEYS, endpointOptions } from '../deploy/cdk/options';
import { ImageClassificationStack, repositoryAssets } from '../deploy/cdk/stack';
import { ROOT } from './env';

/**
 * The CDK app's stacks for the template tests, synthesized as `npx cdk synth` would: cdk.json's
 * context with the given keys on top, and cdk-nag's AwsSolutions pack applied, so that every
 * synthesis in the tests fails on a finding that is not acknowledged with its reason.
 */

export type Statement = { Action: string | string[]; Resource: unknown; Effect: string; Condition?: Record<string, unknown> };

/** cdk.json's context, as the CDK CLI passes it to the app. */
export function cdkJsonContext(): Record<string, unknown> {
  const { context } = JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
  return Object.fromEntries(Object.entries(context).filter(([key]) => CONTEXT_KEYS.includes(key)));
}

export async function nagApp(): Promise<App> {
  return withAwsSolutionsChecks(new App({ outdir: await mkdtemp(path.join(os.tmpdir(), 'cdk-')) }));
}

export function addStack(app: App, context: Record<string, unknown>): ImageClassificationStack {
  const options = endpointOptions({ ...cdkJsonContext(), ...context });
  return new ImageClassificationStack(app, options.stackName, { options, assets: repositoryAssets(ROOT) });
}

export async function synth(context: Record<string, unknown> = {}): Promise<Template> {
  return Template.fromStack(addStack(await nagApp(), context));
}

/** The statements of the inline policy attached to the role whose logical id starts with `rolePrefix`. */
export function statementsOf(template: Template, rolePrefix: string): Statement[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')) as {
    Properties: { Roles: { Ref: string }[]; PolicyDocument: { Statement: Statement[] } };
  }[];
  return policies
    .filter((p) => p.Properties.Roles.some((role) => role.Ref.startsWith(rolePrefix)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

export const actionsOf = (statement: Statement) => [statement.Action].flat();
