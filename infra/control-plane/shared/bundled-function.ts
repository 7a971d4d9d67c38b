// A Lambda function deployed from the esbuild bundle in dist/functions/<name>: the same
// file the tests import. Synth fails early when the bundle is missing instead of
// uploading an empty asset.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Where `npm run build` (esbuild.config.mjs) writes one directory per function. */
export const DEFAULT_ASSET_ROOT = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../..',
  'dist',
  'functions',
);

export interface BundledFunctionProps {
  /** Directory name under functions/ (and dist/functions/); also the Powertools service name. */
  readonly name: string;
  readonly description?: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  /** Built from the function's environment schema; values are strings or CDK tokens. */
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetention?: logs.RetentionDays;
  /** Override of dist/functions, e.g. a temp dir a test built the bundles into. */
  readonly assetRoot?: string;
  /**
   * Set when only a synchronous caller may invoke the function (an API Gateway authorizer): it
   * then gets no asynchronous dead-letter queue, which nothing could ever fill, and no grant to
   * send to one. `reason` says who invokes it (the cdk-nag acknowledgement).
   */
  readonly synchronousOnly?: { readonly reason: string };
  /** A fixed function name, where something outside the stack names the function (a chat button's command). */
  readonly functionName?: string;
}

export class BundledFunction extends Construct {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  /** Receives events whose asynchronous invocation failed after Lambda's retries (none when synchronousOnly). */
  readonly deadLetterQueue?: sqs.Queue;

  constructor(scope: Construct, id: string, props: BundledFunctionProps) {
    super(scope, id);
    const assetDir = join(props.assetRoot ?? DEFAULT_ASSET_ROOT, props.name);
    if (!existsSync(join(assetDir, 'index.mjs'))) {
      throw new Error(
        `BundledFunction ${props.name}: no bundle at ${join(assetDir, 'index.mjs')}; run npm run build (node esbuild.config.mjs) first`,
      );
    }

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
    });

    // Our own role, so it carries no AWS managed policy: logging is granted on this log group only.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ${props.name} function`,
    });
    this.logGroup.grantWrite(this.role);

    if (props.synchronousOnly) {
      Validations.of(this).acknowledge({ id: 'Serverless-LambdaDLQ', reason: props.synchronousOnly.reason });
    } else {
      this.deadLetterQueue = new sqs.Queue(this, 'AsyncDlq', {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      Validations.of(this.deadLetterQueue).acknowledge({
        id: 'Serverless-SQSRedrivePolicy',
        reason:
          'This queue is itself a dead-letter queue (failed asynchronous invocations); nothing consumes it.',
      });
    }

    this.function = new lambda.Function(this, 'Function', {
      description: props.description ?? props.name,
      ...(props.functionName ? { functionName: props.functionName } : {}),
      code: lambda.Code.fromAsset(assetDir, { exclude: ['meta.json'] }),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      ...(this.deadLetterQueue
        ? { deadLetterQueueEnabled: true, deadLetterQueue: this.deadLetterQueue }
        : {}),
      environment: {
        ...props.environment,
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: props.name,
        POWERTOOLS_LOG_LEVEL: 'INFO',
      },
    });
  }
}

/**
 * Turns a typed environment (the zod input type of a function's schema) into Lambda
 * environment variables: numbers become strings, unset optional keys are left out.
 */
export function lambdaEnvironment(env: Readonly<Record<string, unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) continue;
    out[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  // Lambda refuses a function whose variables add up to more than 4 KB (keys and values).
  const size = Object.entries(out).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  if (size > LAMBDA_ENVIRONMENT_LIMIT_BYTES) {
    const largest = Object.entries(out).sort((a, b) => b[1].length - a[1].length)[0]?.[0];
    throw new Error(
      `the function's environment is ${size} bytes; Lambda allows ${LAMBDA_ENVIRONMENT_LIMIT_BYTES} (largest: ${largest})`,
    );
  }
  return out;
}

export const LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096;
