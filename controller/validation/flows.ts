/**
 * `messaging.knative.dev/v1` Channel and Subscription, `flows.knative.dev/v1`
 * Sequence and Parallel, with the rules of Knative's webhook:
 * - Channel (channel_validation.go): `channelTemplate` with apiVersion and
 *   kind (defaulted to InMemoryChannel when absent, channel_defaults.go),
 *   `subscribers` is set by the platform only, `delivery` as DeliverySpec.
 * - Subscription (subscription_validation.go): `channel` required (a
 *   reference with apiVersion, kind and name; no namespace); at least one of
 *   `subscriber` and `reply`; each a valid Destination; `delivery`.
 *   Zeno serves `messaging.knative.dev/v1` Channel only, so that is the only
 *   channel a Subscription may name.
 * - Sequence (sequence_validation.go): at least one step, each a Destination
 *   with an optional delivery; `reply` a Destination.
 * - Parallel (parallel_validation.go): at least one branch, each with a
 *   `subscriber` (required), optional `filter`, `reply` and `delivery`;
 *   `reply` a Destination.
 */
import type { FieldIssue } from '../../core/errors.js';
import { validateChannelTemplate, validateDeliveryField, validateDestinationField, validateKReference } from './duck.js';
import { validateFrame } from './sources.js';
import { isRecord, unknownFields } from './shape.js';

export const MESSAGING_API_VERSION = 'messaging.knative.dev/v1';
export const FLOWS_API_VERSION = 'flows.knative.dev/v1';

const CHANNEL_SPEC_FIELDS = new Set(['channelTemplate', 'subscribers', 'delivery']);
const SUBSCRIPTION_SPEC_FIELDS = new Set(['channel', 'subscriber', 'reply', 'delivery']);
const SEQUENCE_SPEC_FIELDS = new Set(['steps', 'channelTemplate', 'reply']);
const STEP_FIELDS = new Set(['ref', 'uri', 'CACerts', 'audience', 'delivery']);
const PARALLEL_SPEC_FIELDS = new Set(['branches', 'channelTemplate', 'reply']);
const BRANCH_FIELDS = new Set(['filter', 'subscriber', 'reply', 'delivery']);

const absent = (v: unknown): boolean => v === undefined || v === null;
/** isDestinationNilOrEmpty: `{}` counts as absent. */
const emptyDestination = (v: unknown): boolean => absent(v) || (isRecord(v) && Object.keys(v).length === 0);

export function validateChannel(obj: unknown): FieldIssue[] {
  const { issues, spec } = validateFrame(obj, MESSAGING_API_VERSION, 'Channel', CHANNEL_SPEC_FIELDS);
  // A Channel's spec may be omitted entirely (everything defaults).
  if (!spec) return issues.filter((i) => !(i.path === 'spec' && i.message === 'missing field(s)'));
  issues.push(...validateChannelTemplate(spec.channelTemplate, 'spec.channelTemplate'));
  if (Array.isArray(spec.subscribers) ? spec.subscribers.length > 0 : !absent(spec.subscribers)) {
    issues.push({ path: 'spec.subscribers', message: 'must not set the field(s): subscribers are written by the platform from Subscriptions' });
  }
  issues.push(...validateDeliveryField(spec.delivery, 'spec.delivery'));
  return issues;
}

export function validateSubscription(obj: unknown): FieldIssue[] {
  const { issues, spec } = validateFrame(obj, MESSAGING_API_VERSION, 'Subscription', SUBSCRIPTION_SPEC_FIELDS);
  if (!spec) return issues;
  if (emptyDestination(spec.channel)) return [...issues, { path: 'spec.channel', message: 'missing field(s): the Subscription must reference a channel' }];
  const ch = validateKReference(spec.channel, 'spec.channel', { namespaceAllowed: false });
  issues.push(...ch);
  if (!ch.length && isRecord(spec.channel) && (spec.channel.apiVersion !== MESSAGING_API_VERSION || spec.channel.kind !== 'Channel')) {
    issues.push({ path: 'spec.channel', message: `Zeno serves ${MESSAGING_API_VERSION} Channel only (every Channel is backed by the durable event log), not ${String(spec.channel.kind)} (${String(spec.channel.apiVersion)})` });
  }
  const noSubscriber = emptyDestination(spec.subscriber);
  const noReply = emptyDestination(spec.reply);
  if (noSubscriber && noReply) {
    issues.push({ path: 'spec.reply', message: 'missing field(s): the Subscription must reference at least one of (reply or a subscriber)' });
  }
  if (!noSubscriber) issues.push(...validateDestinationField(spec.subscriber, 'spec.subscriber', true));
  if (!noReply) issues.push(...validateDestinationField(spec.reply, 'spec.reply', true));
  issues.push(...validateDeliveryField(spec.delivery, 'spec.delivery'));
  return issues;
}

export function validateSequence(obj: unknown): FieldIssue[] {
  const { issues, spec } = validateFrame(obj, FLOWS_API_VERSION, 'Sequence', SEQUENCE_SPEC_FIELDS);
  if (!spec) return issues;
  const steps = spec.steps;
  if (!Array.isArray(steps) || steps.length === 0) {
    issues.push({ path: 'spec.steps', message: Array.isArray(steps) || absent(steps) ? 'missing field(s)' : 'must be a list' });
  } else {
    steps.forEach((s, i) => {
      const p = `spec.steps[${i}]`;
      if (!isRecord(s)) {
        issues.push({ path: p, message: 'must be a mapping with ref and/or uri' });
        return;
      }
      issues.push(...unknownFields(s, STEP_FIELDS, p));
      const { delivery, ...dest } = s;
      issues.push(...validateDestinationField(dest, p, true).filter((x) => !x.message.startsWith('unknown field')));
      issues.push(...validateDeliveryField(delivery, `${p}.delivery`));
    });
  }
  issues.push(...validateChannelTemplate(spec.channelTemplate, 'spec.channelTemplate'));
  issues.push(...validateDestinationField(spec.reply, 'spec.reply', false));
  return issues;
}

export function validateParallel(obj: unknown): FieldIssue[] {
  const { issues, spec } = validateFrame(obj, FLOWS_API_VERSION, 'Parallel', PARALLEL_SPEC_FIELDS);
  if (!spec) return issues;
  const branches = spec.branches;
  if (!Array.isArray(branches) || branches.length === 0) {
    issues.push({ path: 'spec.branches', message: Array.isArray(branches) || absent(branches) ? 'missing field(s)' : 'must be a list' });
  } else {
    branches.forEach((b, i) => {
      const p = `spec.branches[${i}]`;
      if (!isRecord(b)) {
        issues.push({ path: p, message: 'must be a mapping with a subscriber' });
        return;
      }
      issues.push(...unknownFields(b, BRANCH_FIELDS, p));
      issues.push(...validateDestinationField(b.filter, `${p}.filter`, false));
      issues.push(...validateDestinationField(b.subscriber, `${p}.subscriber`, true));
      issues.push(...validateDestinationField(b.reply, `${p}.reply`, false));
      issues.push(...validateDeliveryField(b.delivery, `${p}.delivery`));
    });
  }
  issues.push(...validateChannelTemplate(spec.channelTemplate, 'spec.channelTemplate'));
  issues.push(...validateDestinationField(spec.reply, 'spec.reply', false));
  return issues;
}
