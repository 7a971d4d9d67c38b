// Every `ops` command starts a Node process, and the tests start hundreds: what the CLI imports
// statically is paid on each. cli/ops.ts loads each command's module when the command runs, and
// the CDK takes about a second to import, so no command module may reach it statically either;
// the commands that synthesize load it with import() when they need it.
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../local/python-env.ts';

// Static imports and re-exports only: `import type` is erased, import() is loaded when called.
const STATIC = /^\s*(?:import|export)\s+(?!type\b)(?:[^'"]*?\bfrom\s*)?(['"])([^'"]+)\1/gm;
const HEAVY = ['aws-cdk-lib', 'constructs', 'cdk-nag'];

/** The packages a file's static import graph reaches, each with the chain of files that reaches it. */
function staticPackages(entry: string, read: (file: string) => string): Map<string, string[]> {
  const packages = new Map<string, string[]>();
  const seen = new Set<string>();
  const visit = (file: string, chain: string[]) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const [, , specifier] of read(file).matchAll(STATIC)) {
      if (!specifier) continue;
      if (specifier.startsWith('.'))
        visit(relative(REPO_ROOT, resolve(REPO_ROOT, dirname(file), specifier)), [...chain, file]);
      else {
        const name = specifier.startsWith('@')
          ? specifier.split('/').slice(0, 2).join('/')
          : (specifier.split('/')[0] as string);
        if (!packages.has(name)) packages.set(name, [...chain, file]);
      }
    }
  };
  visit(entry, []);
  return packages;
}

const heavyIn = (packages: Map<string, string[]>) =>
  HEAVY.filter((p) => packages.has(p)).map((p) => `${p} via ${packages.get(p)?.join(' -> ')}`);

describe('the ops CLI starts without the CDK', () => {
  it('finds the CDK reached through a chain of static imports, and not through import() or import type', () => {
    const files: Record<string, string> = {
      'cli/a.ts':
        "import { b } from './b.ts';\nimport type { T } from './typed.ts';\nconst later = () => import('./lazy.ts');",
      'cli/b.ts': "export { c } from '../infra/c.ts';",
      'infra/c.ts': "import { Stack } from 'aws-cdk-lib';\nimport * as iam from 'aws-cdk-lib/aws-iam';",
      'cli/typed.ts': "import { Construct } from 'constructs';",
      'cli/lazy.ts': "import { App } from 'aws-cdk-lib';",
    };
    expect(heavyIn(staticPackages('cli/a.ts', (f) => files[f] ?? ''))).toEqual([
      'aws-cdk-lib via cli/a.ts -> cli/b.ts -> infra/c.ts',
    ]);
  });

  it('holds for cli/ops.ts, which bin/ops.mjs loads, and for each command module it imports when run', () => {
    const read = (file: string) => readFileSync(resolve(REPO_ROOT, file), 'utf8');
    // The entry itself parses arguments and prints help: no AWS SDK, no rig.
    const entry = staticPackages('cli/ops.ts', read);
    expect([...entry.keys()].filter((p) => !p.startsWith('node:'))).toEqual([]);
    const commands = [...read('cli/ops.ts').matchAll(/import\('(\.\/[^']+)'\)/g)].map(
      ([, specifier]) => `cli/${(specifier as string).slice(2)}`,
    );
    expect(new Set(commands).size).toBeGreaterThanOrEqual(10);
    for (const command of new Set(commands)) {
      const packages = staticPackages(command, read);
      expect(packages.size, command).toBeGreaterThan(0);
      expect(heavyIn(packages), command).toEqual([]);
    }
  });
});
