// HTML built safely: the `html` tag escapes every value that is not markup built here; and the
// report's number, time and verdict formats.
import type { OutcomeStatus } from './model.ts';

// ------------------------------------------------------------------------------------------
// Escaping.

export class Markup {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export type Part = Markup | string | number | boolean | null | undefined | Part[];

export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

function part(value: Part): string {
  if (value instanceof Markup) return value.value;
  if (Array.isArray(value)) return value.map(part).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

/** Template tag: text is escaped (for element content and quoted attributes alike), markup is not. */
export function html(strings: TemplateStringsArray, ...values: Part[]): Markup {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += part(v) + (strings[i + 1] ?? '');
  });
  return new Markup(out);
}

/**
 * A report page's document start, up to `<main>`: self-contained (no script, no external resource,
 * and a Content-Security-Policy that tells the browser so), with its CSS inline.
 */
export function pageStart(title: string, generator: string, css: string): Markup {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="${generator}">
<title>${title}</title>
<link rel="icon" href="data:,">
<style>${new Markup(css)}</style>
</head>
<body>
<main>`;
}

// ------------------------------------------------------------------------------------------
// Formatting.

export const INT = new Intl.NumberFormat('en-US');
export const pct = (x: number | null | undefined, digits = 2) =>
  x === null || x === undefined ? 'n/a' : `${(x * 100).toFixed(digits)}%`;
export const msText = (x: number | null | undefined) =>
  x === null || x === undefined ? 'n/a' : `${Math.round(x)} ms`;
export const t = (iso: string) => Date.parse(iso);

/** `2026-11-22 06:56:15 UTC` */
export const dateTime = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;

/** 23 min 10 s, 1 h 05 min, 45 s */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min`;
  return `${m} min${s % 60 ? ` ${String(s % 60).padStart(2, '0')} s` : ''}`;
}

/** +5:02, +1:05:00 (time since the rollout started) */
export function relative(ms: number): string {
  const s = Math.round(ms / 1000);
  const sign = s < 0 ? '−' : '+';
  const a = Math.abs(s);
  const h = Math.floor(a / 3600);
  const m = Math.floor((a % 3600) / 60);
  const sec = String(a % 60).padStart(2, '0');
  return h > 0 ? `${sign}${h}:${String(m).padStart(2, '0')}:${sec}` : `${sign}${m}:${sec}`;
}

export const STATUS: Record<OutcomeStatus, { title: string; icon: string }> = {
  succeeded: { title: 'Succeeded', icon: '✓' },
  'rolled-back': { title: 'Rolled back', icon: '↩' },
  frozen: { title: 'Frozen', icon: '⚠' },
  'rollback-failed': { title: 'Rollback failed', icon: '⚠' },
  'in-progress': { title: 'In progress', icon: '●' },
};

export const VERDICT_ICON: Record<string, string> = {
  pass: '✓',
  fail: '✗',
  inconclusive: '?',
  paused: '‖',
  aborted: '■',
};
export const verdictClass = (v: string) => (v in VERDICT_ICON ? v : 'other');
export const METRIC_NAME: Record<string, string> = { errorRate: '5xx rate', latency: 'latency' };
