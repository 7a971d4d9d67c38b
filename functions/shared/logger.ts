import { Logger } from '@aws-lambda-powertools/logger';

/** One logger per function bundle; the service name comes from POWERTOOLS_SERVICE_NAME. */
export const logger = new Logger();

/** What decision modules need from a logger. */
export type Log = Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;
