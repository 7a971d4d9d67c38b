// What a control-plane-only environment adds to its control-plane stack: the alarms on the
// control plane itself and the operator policies (as in a full environment), and the alert
// e-mails that a full environment subscribes in its observability stack. Before that, the
// capability files are held to the resources the environment references: a scaled service or
// a runbook's service that the config does not list would get grants on something unnamed.
import { ConfigError } from '../config.ts';
import { subscribeAlertEmails } from '../control-plane/alerting/alert-emails.ts';
import { type ControlPlaneOnlyConfig, referencedServicesOf } from '../control-plane-only-config.ts';
import { extendControlPlane } from './application-stacks.ts';
import type { ControlPlaneStack } from './control-plane-stack.ts';

export function adoptedControlPlane(controlPlane: ControlPlaneStack, config: ControlPlaneOnlyConfig): void {
  const listed = referencedServicesOf(config).map((s) => `${s.cluster}/${s.service}`);
  const unlisted = (
    file: string,
    entries: readonly { cluster: string; service?: string | undefined }[],
    list: string,
  ) => {
    entries.forEach((entry, i) => {
      if (entry.service === undefined || listed.includes(`${entry.cluster}/${entry.service}`)) return;
      throw new ConfigError(`config/${file}/${config.name}.json`, [
        {
          key: `${list}.${i}.service`,
          message: `${entry.cluster}/${entry.service} is not one of the services config/${config.name}.json references (${listed.join(', ')})`,
        },
      ]);
    });
  };
  unlisted('scaling', controlPlane.scaledServices, 'services');
  unlisted('remediation', controlPlane.runbooks, 'runbooks');

  const { alarms } = extendControlPlane(controlPlane, config);
  const undelivered = subscribeAlertEmails(controlPlane, { topics: controlPlane.topics, ...config.alerts });
  if (undelivered) alarms.lastResort.addDeadLetterQueue('undelivered-alert-emails', undelivered);
}
