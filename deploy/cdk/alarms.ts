import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, MathExpression, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { CfnEndpoint } from 'aws-cdk-lib/aws-sagemaker';
import { Construct } from 'constructs';
import { VARIANT_NAME } from '../sagemaker-requests';
import type { Alarms } from './options';

export interface EndpointAlarmsProps {
  /** The endpoint's name, known before the endpoint exists: the endpoint's deployment config names these alarms. */
  readonly endpointName: string;
  readonly thresholds: Alarms;
}

/** Three one-minute periods running: a single slow or failing minute (a burst refused with 503s) does not roll back. */
const PERIODS = 3;
/** How long a deployment's new fleet serves under the alarms' watch before the old one goes. */
const BAKE_SECONDS = 300;

/**
 * The endpoint's alarms, on SageMaker's own metrics for its one variant: the share of
 * invocations answered 5XX, and ModelLatency's p99 (the container's time, microseconds). They
 * alarm for an operator, and SageMaker rolls a blue/green deployment back while one is in alarm.
 */
export class EndpointAlarms extends Construct {
  readonly alarms: Alarm[];

  constructor(scope: Construct, id: string, props: EndpointAlarmsProps) {
    super(scope, id);
    const metric = (metricName: string, statistic: string) =>
      new Metric({
        namespace: 'AWS/SageMaker',
        metricName,
        dimensionsMap: { EndpointName: props.endpointName, VariantName: VARIANT_NAME },
        statistic,
        period: Duration.minutes(1),
      });
    const errorRate = new MathExpression({
      expression: 'IF(invocations > 0, 100 * errors / invocations, 0)',
      usingMetrics: { errors: metric('Invocation5XXErrors', 'Sum'), invocations: metric('Invocations', 'Sum') },
      label: '5XX answers (% of invocations)',
      period: Duration.minutes(1),
    });
    const common = {
      evaluationPeriods: PERIODS,
      datapointsToAlarm: PERIODS,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      // No traffic is not an outage.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    };
    this.alarms = [
      new Alarm(this, 'ErrorRate', {
        ...common,
        alarmName: `${props.endpointName}-5xx-rate`,
        alarmDescription: `More than ${props.thresholds.errorPercent}% of ${props.endpointName}'s invocations answered 5XX, ${PERIODS} minutes running`,
        metric: errorRate,
        threshold: props.thresholds.errorPercent,
      }),
      new Alarm(this, 'LatencyP99', {
        ...common,
        alarmName: `${props.endpointName}-model-latency-p99`,
        alarmDescription: `${props.endpointName}'s ModelLatency p99 above ${props.thresholds.latencyP99Ms} ms, ${PERIODS} minutes running`,
        metric: metric('ModelLatency', 'p99'),
        threshold: props.thresholds.latencyP99Ms * 1000,
      }),
    ];
  }

  /**
   * Blue/green with auto-rollback on these alarms. A canary of one instance first, baked, then
   * the rest, where the fleet always has two instances or more (SageMaker takes a canary of at
   * most half the fleet, and an update starts from the count autoscaling left); otherwise, and
   * serverless, all at once, baked. The old fleet stays until the new one has baked.
   * `fewestInstances`: the fewest instances the variant can have when an update starts (its
   * initial count, or autoscaling's minimum where lower); undefined for serverless.
   */
  deploymentConfig(fewestInstances: number | undefined): CfnEndpoint.DeploymentConfigProperty {
    const canary = fewestInstances !== undefined && fewestInstances >= 2;
    return {
      blueGreenUpdatePolicy: {
        trafficRoutingConfiguration: canary
          ? { type: 'CANARY', canarySize: { type: 'INSTANCE_COUNT', value: 1 }, waitIntervalInSeconds: BAKE_SECONDS }
          : { type: 'ALL_AT_ONCE', waitIntervalInSeconds: BAKE_SECONDS },
        terminationWaitInSeconds: BAKE_SECONDS,
        maximumExecutionTimeoutInSeconds: 3600,
      },
      autoRollbackConfiguration: { alarms: this.alarms.map((alarm) => ({ alarmName: alarm.alarmName })) },
    };
  }
}
