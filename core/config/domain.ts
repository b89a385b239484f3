/**
 * Knative's `config-domain` ConfigMap: each data key is a domain, each value
 * either empty (the default domain) or a label selector
 * (`selector:\n  app: prod`) choosing which routes live under it
 * (knative/serving `pkg/reconciler/route/config/domain.go`).
 *
 * Zeno serves `NAME.NAMESPACE.DOMAIN` with `localhost` as its default domain,
 * because `*.localhost` resolves to loopback without any DNS setup (Knative's
 * default is `example.com`). Selector domains are validated but not used yet:
 * every route lives under the default domain.
 */
import { parse as parseYaml } from 'yaml';
import type { FieldIssue } from '../errors.js';

export const DOMAIN_CONFIG_NAME = 'config-domain';

export interface DomainConfig {
  /** Default domain for routes. @default "localhost" */
  domain: string;
}

export const DEFAULT_DOMAIN_CONFIG: Readonly<DomainConfig> = Object.freeze({ domain: 'localhost' });

// ConfigMaps document themselves in an `_example` key that is never parsed.
const EXAMPLE_KEY = '_example';

const DNS1123_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_MAX = 63;
const SUBDOMAIN_MAX = 253;

/** Why `name` is not a usable DNS domain, or undefined when it is. */
function domainProblem(name: string): string | undefined {
  if (name.length > SUBDOMAIN_MAX) return `must be no more than ${SUBDOMAIN_MAX} characters`;
  if (!DNS1123_SUBDOMAIN_RE.test(name)) {
    return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com')";
  }
  if (name.split('.').some((l) => l.length > LABEL_MAX)) return `each label must be no more than ${LABEL_MAX} characters`;
  return undefined;
}

/**
 * Parses `config-domain` data. The default domain is the one whose value is
 * empty (no selector); if several are, Knative's lookup picks the
 * alphabetically first, and so do we. With none, `localhost` stays.
 */
export function parseDomainConfigMap(data: Record<string, unknown> | undefined): { config: DomainConfig; issues: FieldIssue[] } {
  const issues: FieldIssue[] = [];
  const defaults: string[] = [];
  for (const [key, value] of Object.entries(data ?? {})) {
    if (key === EXAMPLE_KEY) continue;
    const path = `data.${key}`;
    const problem = domainProblem(key);
    if (problem) {
      issues.push({ path, message: `domain ${JSON.stringify(key)} is not a valid DNS name: ${problem}` });
      continue;
    }
    if (value === undefined || value === null || value === '') {
      defaults.push(key);
      continue;
    }
    if (typeof value !== 'string') {
      issues.push({ path, message: 'must be empty (the default domain) or a string holding a label selector' });
      continue;
    }
    const selectorProblem = checkSelector(value);
    if (selectorProblem === 'empty') defaults.push(key);
    else if (selectorProblem) issues.push({ path, message: selectorProblem });
  }
  defaults.sort();
  return { config: { domain: defaults[0] ?? DEFAULT_DOMAIN_CONFIG.domain }, issues };
}

/** 'empty' for a selector that selects everything, a message for a bad one. */
function checkSelector(text: string): string | undefined | 'empty' {
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (e) {
    return `cannot parse the label selector: ${(e as Error).message.split('\n')[0]}`;
  }
  if (parsed === null || parsed === undefined) return 'empty';
  if (typeof parsed !== 'object' || Array.isArray(parsed)) return 'must be a label selector such as "selector:\\n  app: prod"';
  const { selector, ...rest } = parsed as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length) return `unknown field ${JSON.stringify(unknown[0])}: only "selector" is allowed`;
  if (selector === undefined || selector === null) return 'empty';
  if (typeof selector !== 'object' || Array.isArray(selector)) return '"selector" must map label keys to values';
  const entries = Object.entries(selector as Record<string, unknown>);
  if (entries.some(([, v]) => typeof v !== 'string')) return '"selector" values must be strings';
  return entries.length === 0 ? 'empty' : undefined;
}
