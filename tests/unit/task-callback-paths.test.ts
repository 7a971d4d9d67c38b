// Task tokens are answered on the rig only as on AWS: SendTaskSuccess, SendTaskFailure and
// SendTaskHeartbeat through the SDK, which the rig's Step Functions endpoint hands to the runner.
// The runner's in-process answers are that endpoint's; its own tests may call them, and nothing
// else may, so every capability's answers run the production callback code.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../local/python-env.ts';

const IN_PROCESS_ANSWERS = /\b(sendTaskSuccess|sendTaskFailure|sendTaskHeartbeat)\b/;
const ALLOWED = [
  // The runner and its task-token registry (local/workflow-runner.ts re-exports local/workflow-*.ts).
  'local/workflow-',
  'local/step-functions-endpoint.ts',
  'tests/workflows/',
  'tests/unit/task-callback-paths.test.ts',
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return entry === 'node_modules' ? [] : sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

describe('task-token answers', () => {
  it("reach the runner only through the Step Functions endpoint (and the runner's own tests)", () => {
    const importers = ['functions', 'local', 'cli', 'tests', 'bench', 'workflows']
      .flatMap((dir) => sourceFiles(join(REPO_ROOT, dir)))
      .map((file) => relative(REPO_ROOT, file))
      .filter((file) => !ALLOWED.some((allowed) => file.startsWith(allowed)))
      .filter((file) => {
        // Any use of the runner (named, namespace or dynamic import, or a re-export) in a file
        // that names one of its answers.
        const text = readFileSync(join(REPO_ROOT, file), 'utf8');
        return /workflow-(runner|tokens)(\.ts)?['"]/.test(text) && IN_PROCESS_ANSWERS.test(text);
      });
    expect(importers).toEqual([]);
  });
});
