import type { PodTemplate } from '../runtime.js';
import { isNodeCommand, nodeOptionsWithHeap } from './memory.js';

/**
 * The few variables a process needs to find its tools, home and locale.
 * Everything else in the platform's environment (tokens, cloud credentials,
 * ZENO_* settings) stays out of functions.
 */
export const INHERITED_ENV_NAMES: readonly string[] = [
  'PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LANGUAGE', 'LC_ALL', 'LC_CTYPE', 'TZ',
  'TMPDIR', 'TEMP', 'TMP',
  // Windows needs these to start almost anything.
  'SYSTEMROOT', 'SystemRoot', 'WINDIR', 'COMSPEC', 'PATHEXT', 'USERPROFILE', 'APPDATA', 'LOCALAPPDATA',
];

/** The allow-listed subset of `env` (normally process.env). */
export function pickBaseEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of INHERITED_ENV_NAMES) {
    const v = env[name];
    if (v !== undefined) out[name] = v;
  }
  return out;
}

/**
 * A pod's environment: base < the container's env < the runtime contract.
 * PORT, K_SERVICE, K_CONFIGURATION and K_REVISION are reserved by Knative's
 * runtime contract, so the container cannot override them. A Node command
 * with a memory limit also gets a V8 heap cap in NODE_OPTIONS (memory.ts).
 */
export function buildPodEnv(base: Record<string, string>, template: PodTemplate, port: number): Record<string, string> {
  const env: Record<string, string> = {
    ...base,
    ...template.env,
    PORT: String(port),
    K_SERVICE: template.service,
    K_CONFIGURATION: template.configuration,
    K_REVISION: template.revision,
  };
  if (template.memoryLimitBytes !== undefined && isNodeCommand(template.command)) {
    env.NODE_OPTIONS = nodeOptionsWithHeap(env.NODE_OPTIONS, template.memoryLimitBytes);
  }
  return env;
}
