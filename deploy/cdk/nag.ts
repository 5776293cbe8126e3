import { Validations, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';

/**
 * cdk-nag's AwsSolutions pack on every synthesis, `npx cdk synth`/`deploy` and the tests alike:
 * a finding not acknowledged beside its resource (with its reason) fails the synthesis.
 */
export function withAwsSolutionsChecks(app: App): App {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}
