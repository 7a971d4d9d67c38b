// What Amazon Q Developer does with the stack's custom actions, for the rig: which buttons a custom
// notification shows (its `enableCustomActions`, each action's notification type and criteria over
// the variables it reads from the notification), and what pressing one runs: the command, with
// the variables put in, which for these actions is a `lambda invoke` with a JSON payload. As strict
// as the service: a command over 100 characters, a variable path that reads nothing, or a command
// other than `lambda invoke` is an error here.
import type { ChatNotification } from '../events/chat-notification.ts';
import type { CfnTemplate } from './deploy.ts';

export interface ChatButton {
  actionName: string;
  text: string;
  notificationType: string;
  variables: Record<string, string>;
  criteria: { Operator: 'HAS_VALUE' | 'EQUALS'; VariableName: string; Value?: string }[];
  command: string;
}

/** Amazon Q Developer's API refuses a longer command. */
const MAX_COMMAND = 100;

/** The buttons the template's custom actions define. */
export function chatButtonsOf(template: CfnTemplate): ChatButton[] {
  return Object.values(template.Resources)
    .filter((r) => r.Type === 'AWS::Chatbot::CustomAction')
    .flatMap((r) => {
      const p = r.Properties as {
        ActionName: string;
        Definition: { CommandText: string };
        Attachments: {
          ButtonText: string;
          NotificationType: string;
          Variables: Record<string, string>;
          Criteria: ChatButton['criteria'];
        }[];
      };
      if (p.Definition.CommandText.length > MAX_COMMAND)
        throw new Error(`${p.ActionName}: its command is over ${MAX_COMMAND} characters`);
      return p.Attachments.map((a) => ({
        actionName: p.ActionName,
        text: a.ButtonText,
        notificationType: a.NotificationType,
        variables: a.Variables,
        criteria: a.Criteria,
        command: p.Definition.CommandText,
      }));
    });
}

/** The value at `event.<path>` of the notification, as a string (undefined when there is none). */
function read(notification: ChatNotification, path: string): string | undefined {
  if (!path.startsWith('event.')) throw new Error(`variable path ${path} does not start with event.`);
  let at: unknown = notification;
  for (const key of path.slice('event.'.length).split('.')) {
    at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[key] : undefined;
  }
  return typeof at === 'string' ? at : at === undefined ? undefined : JSON.stringify(at);
}

export interface PressableButton {
  text: string;
  /** The function the command invokes, and the payload it sends. */
  functionName: string;
  payload: unknown;
}

/** The buttons the notification shows, each with what pressing it would invoke. */
export function buttonsOn(buttons: readonly ChatButton[], notification: ChatNotification): PressableButton[] {
  if (notification.metadata?.enableCustomActions !== true) return [];
  return buttons
    .filter((b) => b.notificationType === 'Custom')
    .flatMap((b) => {
      const values = Object.fromEntries(
        Object.entries(b.variables).map(([name, path]) => [name, read(notification, path)]),
      );
      const shown = b.criteria.every((c) =>
        c.Operator === 'HAS_VALUE' ? Boolean(values[c.VariableName]) : values[c.VariableName] === c.Value,
      );
      if (!shown) return [];
      const command = b.command.replace(/\$([A-Za-z0-9_-]+)/g, (_, name: string) => {
        const value = values[name];
        if (value === undefined)
          throw new Error(`${b.actionName}: $${name} reads nothing from the notification`);
        return value;
      });
      const match = /^lambda invoke --function-name (\S+) --payload (.+)$/.exec(command);
      if (!match?.[1] || !match[2]) throw new Error(`${b.actionName}: not a lambda invoke: ${command}`);
      return [{ text: b.text, functionName: match[1], payload: JSON.parse(match[2]) as unknown }];
    });
}
