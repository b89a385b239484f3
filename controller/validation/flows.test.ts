import { describe, expect, it } from 'vitest';
import { GENERIC_KINDS } from '../resource-kinds.js';
import { validateChannel, validateParallel, validateSequence, validateSubscription } from './flows.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const SVC = (name: string) => ({ ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name } });

const channel = (): Obj => ({
  apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', metadata: { name: 'orders' },
  spec: { channelTemplate: { apiVersion: 'messaging.knative.dev/v1', kind: 'InMemoryChannel' }, delivery: { retry: 3, backoffPolicy: 'exponential', backoffDelay: 'PT0.1S', deadLetterSink: { uri: 'http://127.0.0.1:1/dls' } } },
});
const subscription = (): Obj => ({
  apiVersion: 'messaging.knative.dev/v1', kind: 'Subscription', metadata: { name: 'orders-to-billing' },
  spec: { channel: { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', name: 'orders' }, subscriber: SVC('billing'), reply: { uri: 'http://127.0.0.1:1/reply' }, delivery: { retry: 1 } },
});
const sequence = (): Obj => ({
  apiVersion: 'flows.knative.dev/v1', kind: 'Sequence', metadata: { name: 'pipeline' },
  spec: { channelTemplate: { apiVersion: 'messaging.knative.dev/v1', kind: 'InMemoryChannel' }, steps: [SVC('first'), { ...SVC('second'), delivery: { retry: 2 } }], reply: SVC('display') },
});
const parallel = (): Obj => ({
  apiVersion: 'flows.knative.dev/v1', kind: 'Parallel', metadata: { name: 'fanout' },
  spec: { branches: [{ filter: SVC('even'), subscriber: SVC('on-even'), reply: SVC('r') }, { subscriber: { uri: 'http://127.0.0.1:2/' }, delivery: { retry: 0 } }], reply: SVC('display') },
});

type Row = { label: string; mutate: (o: Obj) => void; want: string[]; message?: RegExp };
function runTable(name: string, make: () => Obj, validate: (o: Obj) => { path: string; message: string }[], rows: Row[]): void {
  describe(name, () => {
    it('accepts the valid base object', () => expect(validate(make())).toEqual([]));
    it.each(rows)('$label', ({ mutate, want, message }) => {
      const o = make();
      mutate(o);
      const issues = validate(o);
      expect(issues.map((i) => i.path).sort()).toEqual([...want].sort());
      if (message) expect(issues.map((i) => i.message).join('\n')).toMatch(message);
    });
  });
}

runTable('validateChannel', channel, validateChannel, [
  { label: 'spec may be omitted', mutate: (o) => { delete o.spec; }, want: [] },
  { label: 'template without kind', mutate: (o) => { delete o.spec.channelTemplate.kind; }, want: ['spec.channelTemplate.kind'] },
  { label: 'users may not write subscribers', mutate: (o) => { o.spec.subscribers = [{ subscriberUri: 'http://x/' }]; }, want: ['spec.subscribers'] },
  { label: 'bad backoffPolicy', mutate: (o) => { o.spec.delivery.backoffPolicy = 'fibonacci'; }, want: ['spec.delivery.backoffPolicy'] },
  { label: 'negative retry', mutate: (o) => { o.spec.delivery.retry = -1; }, want: ['spec.delivery.retry'] },
  { label: 'bad ISO duration', mutate: (o) => { o.spec.delivery.backoffDelay = '1s'; }, want: ['spec.delivery.backoffDelay'] },
  { label: 'bad dead letter sink', mutate: (o) => { o.spec.delivery.deadLetterSink = { uri: 'relative' }; }, want: ['spec.delivery.deadLetterSink.uri'] },
  { label: 'delivery typo', mutate: (o) => { o.spec.delivery.retries = 3; }, want: ['spec.delivery.retries'] },
]);

runTable('validateSubscription', subscription, validateSubscription, [
  { label: 'reply only', mutate: (o) => { delete o.spec.subscriber; }, want: [] },
  { label: 'subscriber only', mutate: (o) => { delete o.spec.reply; }, want: [] },
  { label: 'neither subscriber nor reply', mutate: (o) => { delete o.spec.subscriber; o.spec.reply = {}; }, want: ['spec.reply'], message: /at least one of \(reply or a subscriber\)/ },
  { label: 'channel missing', mutate: (o) => { delete o.spec.channel; }, want: ['spec.channel'], message: /must reference a channel/ },
  { label: 'channel namespace not allowed', mutate: (o) => { o.spec.channel.namespace = 'other'; }, want: ['spec.channel.namespace'] },
  { label: 'channel without apiVersion', mutate: (o) => { delete o.spec.channel.apiVersion; }, want: ['spec.channel.apiVersion'] },
  { label: 'channel kind not served', mutate: (o) => { o.spec.channel.kind = 'InMemoryChannel'; }, want: ['spec.channel'], message: /Channel only/ },
  { label: 'subscriber invalid', mutate: (o) => { o.spec.subscriber = { uri: 'nohost' }; }, want: ['spec.subscriber.uri'] },
  { label: 'delivery invalid', mutate: (o) => { o.spec.delivery.timeout = 'PT0S'; }, want: ['spec.delivery.timeout'] },
]);

runTable('validateSequence', sequence, validateSequence, [
  { label: 'no steps', mutate: (o) => { o.spec.steps = []; }, want: ['spec.steps'] },
  { label: 'step without ref or uri', mutate: (o) => { o.spec.steps[0] = { delivery: { retry: 1 } }; }, want: ['spec.steps[0]'] },
  { label: 'step typo', mutate: (o) => { o.spec.steps[0].urll = 'x'; }, want: ['spec.steps[0].urll'] },
  { label: 'step delivery invalid', mutate: (o) => { o.spec.steps[1].delivery.retry = 1.5; }, want: ['spec.steps[1].delivery.retry'] },
  { label: 'channelTemplate may be omitted (defaulted)', mutate: (o) => { delete o.spec.channelTemplate; }, want: [] },
  { label: 'channelTemplate without apiVersion', mutate: (o) => { delete o.spec.channelTemplate.apiVersion; }, want: ['spec.channelTemplate.apiVersion'] },
  { label: 'reply optional', mutate: (o) => { delete o.spec.reply; }, want: [] },
  { label: 'reply invalid', mutate: (o) => { o.spec.reply = { ref: { kind: 'Service', name: 'x' } }; }, want: ['spec.reply.ref.apiVersion'] },
]);

runTable('validateParallel', parallel, validateParallel, [
  { label: 'no branches', mutate: (o) => { delete o.spec.branches; }, want: ['spec.branches'] },
  { label: 'branch without subscriber', mutate: (o) => { delete o.spec.branches[0].subscriber; }, want: ['spec.branches[0].subscriber'] },
  { label: 'branch filter invalid', mutate: (o) => { o.spec.branches[0].filter = { uri: '/rel' }; }, want: ['spec.branches[0].filter.uri'] },
  { label: 'branch reply invalid', mutate: (o) => { o.spec.branches[0].reply = { ref: { apiVersion: 'v1' } }; }, want: ['spec.branches[0].reply.ref.kind', 'spec.branches[0].reply.ref.name'] },
  { label: 'branch typo', mutate: (o) => { o.spec.branches[1].filters = {}; }, want: ['spec.branches[1].filters'] },
  { label: 'spec reply optional', mutate: (o) => { delete o.spec.reply; }, want: [] },
]);

it('Channel, Sequence and Parallel default channelTemplate to InMemoryChannel', () => {
  for (const kind of ['Channel', 'Sequence', 'Parallel']) {
    const k = GENERIC_KINDS.find((g) => g.kind === kind)!;
    const out = k.normalize!({ apiVersion: k.apiVersion, kind, metadata: { name: "x" } }, {} as never);
    expect(out.spec?.channelTemplate).toEqual({ apiVersion: 'messaging.knative.dev/v1', kind: 'InMemoryChannel' });
  }
});
