// The names an ECS ARN carries, read one way for every capability.

/** cluster and service of `arn:aws:ecs:<region>:<account>:service/<cluster>/<service>`; undefined for any other ARN. */
export function serviceOfArn(arn: string): { cluster: string; service: string } | undefined {
  const [kind, cluster, service, ...rest] = arn.split(':').slice(5).join(':').split('/');
  return kind === 'service' && cluster && service && rest.length === 0 ? { cluster, service } : undefined;
}

/** The cluster's name of `arn:aws:ecs:<region>:<account>:cluster/<name>` (the text itself if it is a name). */
export const clusterNameOfArn = (arn: string): string => arn.split('/').pop() ?? arn;
