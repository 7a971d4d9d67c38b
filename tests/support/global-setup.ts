// Runs once before any test worker starts: workers then find the Python venv ready
// instead of racing to install it (the install is locked anyway, but waits cost time).

import { ensurePythonEnv } from '../../local/python-env.ts';

export default async function setup(): Promise<void> {
  await ensurePythonEnv();
}
