// The layout rule: a capability's folder (functions/<name>/) imports only its own files,
// functions/shared/ and events/; functions/shared/ imports no capability; events/ imports no
// function code. Code two capabilities use lives in functions/shared/.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../local/python-env.ts';

// Static imports and exports, and import() with a literal path.
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]+)\1/g;

/** Relative specifiers a source file imports, resolved to repository paths. */
function importsOf(file: string, source: string): string[] {
  return [...source.matchAll(SPECIFIER)].map((m) =>
    relative(REPO_ROOT, resolve(REPO_ROOT, dirname(file), m[2] ?? '')),
  );
}

/** Where a repository path belongs: a capability's name, 'shared', 'events', or undefined (elsewhere). */
function owner(path: string): string | undefined {
  const [top, second] = path.split('/');
  if (top === 'events') return 'events';
  if (top !== 'functions' || second === undefined) return undefined;
  return second;
}

/** Each import that breaks the rule, as `file -> imported`. */
function layoutViolations(imports: Record<string, string[]>): string[] {
  const broken: string[] = [];
  for (const [file, targets] of Object.entries(imports)) {
    const from = owner(file);
    if (from === undefined) continue;
    for (const target of targets) {
      const to = owner(target);
      const allowed =
        from === 'events'
          ? to === 'events'
          : from === 'shared'
            ? to === 'shared' || to === 'events'
            : to === from || to === 'shared' || to === 'events';
      if (!allowed) broken.push(`${file} -> ${target}`);
    }
  }
  return broken;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(REPO_ROOT, dir)).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(join(REPO_ROOT, path)).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

describe('layout: what a capability may import', () => {
  it('finds an import of another capability, of a capability from shared code, and of functions from events', () => {
    expect(
      layoutViolations({
        'functions/remediate-step/remediate.ts': [
          'functions/remediate-step/runbooks.ts',
          'functions/shared/drain.ts',
          'events/zod.ts',
          'functions/spot-interruption/process-batch.ts',
        ],
        'functions/shared/rollouts/notify.ts': [
          'functions/shared/alerts.ts',
          'functions/rollout-step/steps.ts',
        ],
        'events/rollout-input.ts': ['events/zod.ts', 'functions/shared/validation.ts'],
        'infra/control-plane/rollouts/rollouts.ts': ['functions/rollout-step/handler.ts'],
      }),
    ).toEqual([
      'functions/remediate-step/remediate.ts -> functions/spot-interruption/process-batch.ts',
      'functions/shared/rollouts/notify.ts -> functions/rollout-step/steps.ts',
      'events/rollout-input.ts -> functions/shared/validation.ts',
    ]);
  });

  it('reads static imports, re-exports and import() with a literal path', () => {
    const source = [
      "import { a } from '../shared/a.ts';",
      "import type { B } from './b.ts';",
      "export { c } from '../../events/c.ts';",
      "import './side-effect.ts';",
      "const d = await import('../other/d.ts');",
      "import { e } from '@aws-sdk/client-ecs';",
    ].join('\n');
    expect(importsOf('functions/x/handler.ts', source)).toEqual([
      'functions/shared/a.ts',
      'functions/x/b.ts',
      'events/c.ts',
      'functions/x/side-effect.ts',
      'functions/other/d.ts',
    ]);
  });

  it('holds for every file under functions/ and events/', () => {
    const files = [...sourceFiles('functions'), ...sourceFiles('events')];
    expect(files.length).toBeGreaterThan(50);
    const imports = Object.fromEntries(
      files.map((file) => [file, importsOf(file, readFileSync(join(REPO_ROOT, file), 'utf8'))]),
    );
    expect(layoutViolations(imports)).toEqual([]);
  });
});
