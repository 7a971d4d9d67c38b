// A readable, timed story for the terminal: steps with elapsed time, and bars instead of JSON.
import { styleText } from 'node:util';

export interface Timeline {
  act(title: string): void;
  step(text: string, detail?: string): void;
  note(text: string): void;
  bar(label: string, value: number, total: number, width?: number): string;
  lines: string[];
}

type Style = Parameters<typeof styleText>[0];

export function createTimeline(
  write: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): Timeline {
  const started = performance.now();
  const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
  const paint = (style: Style, text: string) => (color ? styleText(style, text) : text);
  const lines: string[] = [];
  const emit = (line: string) => {
    lines.push(line);
    write(line);
  };
  const elapsed = () => `t+${((performance.now() - started) / 1000).toFixed(1).padStart(5)}s`;
  return {
    lines,
    act(title) {
      emit('');
      emit(paint('bold', title));
    },
    step(text, detail) {
      emit(`  ${paint('dim', elapsed())}  ${text}`);
      if (detail) for (const d of detail.split('\n')) emit(`             ${paint('dim', d)}`);
    },
    note(text) {
      emit(`             ${text}`);
    },
    bar(label, value, total, width = 30) {
      const filled = total === 0 ? 0 : Math.round((value / total) * width);
      return `${label.padEnd(10)} ${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${value}/${total}`;
    },
  };
}
