/**
 * What `get` and `describe` print, as pure functions of the objects and
 * the current time: kn-style tables, Knative's JSON/YAML, and describe text.
 */
import { stringify as toYaml } from 'yaml';
import type { Condition, Container, KObject, RevisionTemplate, TrafficTarget } from '../core/types.js';
import type { EventItem } from './client.js';
import type { KindInfo } from './kinds.js';
import { age, formatTable, type Cell } from './table.js';

export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml';

export function parseOutputFormat(text: string | undefined): OutputFormat | undefined {
  if (text === undefined) return 'table';
  return (['wide', 'json', 'yaml'] as const).find((f) => f === text.toLowerCase());
}

export function readyCondition(obj: KObject): Condition | undefined {
  return conditionsOf(obj).find((c) => c.type === 'Ready');
}

function conditionsOf(obj: KObject): Condition[] {
  const c = (obj.status as { conditions?: unknown } | undefined)?.conditions;
  return Array.isArray(c) ? (c as Condition[]) : [];
}

function status(obj: KObject): Record<string, unknown> {
  return (obj.status ?? {}) as Record<string, unknown>;
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
}

/** kn's CONDITIONS column: conditions that are True out of all, e.g. `3 OK / 3`. */
function conditionSummary(obj: KObject): string {
  const all = conditionsOf(obj);
  return all.length ? `${all.filter((c) => c.status === 'True').length} OK / ${all.length}` : '';
}

/** kn's sink notation: `ksvc:NAME`, `broker:NAME`, `KIND:NAME` for other refs (plus the uri path), or the uri. */
function sinkOf(dest: unknown): string | undefined {
  if (!dest || typeof dest !== 'object') return undefined;
  const { ref, uri } = dest as { ref?: { kind?: string; name?: string; apiVersion?: string }; uri?: string };
  if (!ref) return uri;
  const prefix = ref.kind === 'Service' && ref.apiVersion?.startsWith('serving.knative.dev/') ? 'ksvc' : (ref.kind ?? '').toLowerCase();
  return `${prefix}:${ref.name ?? ''}${uri ?? ''}`;
}

interface Columns {
  headers: string[];
  row: (obj: KObject, nowMs: number) => Cell[];
}

/**
 * Columns per kind, after `kn service list`, `kn revision list`, … :
 * the default view first, then the extra columns of `-o wide`.
 */
function columnsFor(kind: KindInfo, wide: boolean): Columns {
  const ready = (o: KObject): Cell[] => [readyCondition(o)?.status, readyCondition(o)?.reason];
  const created = (o: KObject, now: number): string => age(o.metadata.creationTimestamp, now);
  switch (kind.kind) {
    case 'Service':
      return {
        headers: ['NAME', 'URL', 'LATEST', 'AGE', 'READY', 'REASON', ...(wide ? ['LATESTCREATED', 'CONDITIONS'] : [])],
        row: (o, now) => [
          o.metadata.name,
          text(status(o).url),
          text(status(o).latestReadyRevisionName),
          created(o, now),
          ...ready(o),
          ...(wide ? [text(status(o).latestCreatedRevisionName), conditionSummary(o)] : []),
        ],
      };
    case 'Revision':
      return {
        headers: ['NAME', 'SERVICE', 'GENERATION', 'AGE', 'READY', 'ACTUAL', 'DESIRED', 'REASON', ...(wide ? ['CONCURRENCY', 'CONDITIONS'] : [])],
        row: (o, now) => [
          o.metadata.name,
          o.metadata.labels?.['serving.knative.dev/service'],
          o.metadata.labels?.['serving.knative.dev/configurationGeneration'],
          created(o, now),
          readyCondition(o)?.status,
          text(status(o).actualReplicas),
          text(status(o).desiredReplicas),
          readyCondition(o)?.reason,
          ...(wide ? [text((o.spec as { containerConcurrency?: number } | undefined)?.containerConcurrency), conditionSummary(o)] : []),
        ],
      };
    case 'Route':
      return {
        headers: ['NAME', 'URL', 'AGE', 'READY', 'REASON', ...(wide ? ['TRAFFIC'] : [])],
        row: (o, now) => [o.metadata.name, text(status(o).url), created(o, now), ...ready(o), ...(wide ? [trafficSummary(trafficOf(o))] : [])],
      };
    case 'Configuration':
      return {
        headers: ['NAME', 'LATESTCREATED', 'LATESTREADY', 'AGE', 'READY', 'REASON', ...(wide ? ['CONDITIONS'] : [])],
        row: (o, now) => [
          o.metadata.name,
          text(status(o).latestCreatedRevisionName),
          text(status(o).latestReadyRevisionName),
          created(o, now),
          ...ready(o),
          ...(wide ? [conditionSummary(o)] : []),
        ],
      };
    case 'ConfigMap':
      // kubectl get configmaps: NAME DATA AGE.
      return {
        headers: ['NAME', 'DATA', 'AGE', ...(wide ? ['KEYS'] : [])],
        row: (o, now) => [o.metadata.name, Object.keys(o.data ?? {}).length, created(o, now), ...(wide ? [Object.keys(o.data ?? {}).join(',')] : [])],
      };
    // Sources and flows: kn's list columns (kn source ping|container|binding list, kn channel|subscription list).
    case 'PingSource':
      return {
        headers: ['NAME', 'SCHEDULE', 'SINK', 'AGE', 'CONDITIONS', 'READY', 'REASON'],
        row: (o, now) => [o.metadata.name, text(specOf(o).schedule), text(status(o).sinkUri), created(o, now), okCount(o), ...ready(o)],
      };
    case 'ContainerSource':
      return {
        headers: ['NAME', 'SINK', 'AGE', 'CONDITIONS', 'READY', 'REASON'],
        row: (o, now) => [o.metadata.name, text(status(o).sinkUri), created(o, now), okCount(o), ...ready(o)],
      };
    case 'SinkBinding':
      return {
        headers: ['NAME', 'SUBJECT', 'SINK', 'AGE', 'CONDITIONS', 'READY', 'REASON'],
        row: (o, now) => [o.metadata.name, subjectOf(o), text(status(o).sinkUri), created(o, now), okCount(o), ...ready(o)],
      };
    case 'ApiServerSource':
      // kn source apiserver list: RESOURCES as Kind:apiVersion.
      return {
        headers: ['NAME', 'RESOURCES', 'SINK', 'AGE', 'CONDITIONS', 'READY', 'REASON'],
        row: (o, now) => [
          o.metadata.name,
          ((specOf(o).resources as { kind?: string; apiVersion?: string }[] | undefined) ?? []).map((r) => `${r.kind ?? ''}:${r.apiVersion ?? ''}`).join(','),
          text(status(o).sinkUri),
          created(o, now),
          okCount(o),
          ...ready(o),
        ],
      };
    case 'Channel':
      return {
        headers: ['NAME', 'TYPE', 'URL', 'AGE', 'READY', 'REASON'],
        row: (o, now) => [o.metadata.name, text((specOf(o).channelTemplate as { kind?: string } | undefined)?.kind), text(addressOf(o)), created(o, now), ...ready(o)],
      };
    case 'Subscription': {
      const phys = (o: KObject) => (status(o).physicalSubscription ?? {}) as Record<string, unknown>;
      return {
        headers: ['NAME', 'CHANNEL', 'SUBSCRIBER', 'REPLY', 'DEAD LETTER SINK', 'READY', 'REASON'],
        row: (o) => [o.metadata.name, text((specOf(o).channel as { name?: string } | undefined)?.name), text(phys(o).subscriberUri), text(phys(o).replyUri), text(phys(o).deadLetterSinkUri), ...ready(o)],
      };
    }
    case 'Sequence':
    case 'Parallel':
      return {
        headers: ['NAME', kind.kind === 'Sequence' ? 'STEPS' : 'BRANCHES', 'URL', 'AGE', 'READY', 'REASON'],
        row: (o, now) => [o.metadata.name, text(((specOf(o)[kind.kind === 'Sequence' ? 'steps' : 'branches'] as unknown[] | undefined) ?? []).length), text(addressOf(o)), created(o, now), ...ready(o)],
      };
    case 'Broker':
      // kn broker list: NAME URL AGE CONDITIONS READY REASON.
      return {
        headers: ['NAME', 'URL', 'AGE', 'CONDITIONS', 'READY', 'REASON', ...(wide ? ['CLASS', 'DEADLETTERSINK'] : [])],
        row: (o, now) => [
          o.metadata.name,
          text((status(o).address as { url?: unknown } | undefined)?.url),
          created(o, now),
          conditionSummary(o),
          ...ready(o),
          ...(wide ? [o.metadata.annotations?.['eventing.knative.dev/broker.class'], text(status(o).deadLetterSinkUri)] : []),
        ],
      };
    case 'Trigger': {
      // kn trigger list: NAME BROKER SINK AGE CONDITIONS READY REASON; -o wide adds the
      // dispatcher's counters since the platform started (status.deliveryStats).
      const stat = (o: KObject, k: string): Cell => text((status(o).deliveryStats as Record<string, unknown> | undefined)?.[k]);
      return {
        headers: ['NAME', 'BROKER', 'SINK', 'AGE', 'CONDITIONS', 'READY', 'REASON', ...(wide ? ['DELIVERED', 'RETRIED', 'DEADLETTERED', 'FAILED', 'INFLIGHT'] : [])],
        row: (o, now) => [
          o.metadata.name,
          text((o.spec as { broker?: unknown } | undefined)?.broker),
          sinkOf((o.spec as { subscriber?: unknown } | undefined)?.subscriber),
          created(o, now),
          conditionSummary(o),
          ...ready(o),
          ...(wide ? [stat(o, 'delivered'), stat(o, 'retried'), stat(o, 'deadLettered'), stat(o, 'failed'), stat(o, 'inFlight')] : []),
        ],
      };
    }
    default:
      return { headers: ['NAME', 'AGE', 'READY'], row: (o, now) => [o.metadata.name, created(o, now), readyCondition(o)?.status] };
  }
}

function specOf(o: KObject): Record<string, unknown> {
  return (o.spec ?? {}) as Record<string, unknown>;
}

function addressOf(o: KObject): unknown {
  return (status(o).address as { url?: unknown } | undefined)?.url;
}

/** kn's CONDITIONS column: how many conditions are True, of how many, e.g. `3 OK / 4`. */
function okCount(o: KObject): string {
  const conds = (status(o).conditions ?? []) as { status?: string }[];
  return conds.length ? `${conds.filter((c) => c.status === 'True').length} OK / ${conds.length}` : '';
}

/** kn's SUBJECT column: `Kind:apiVersion:name` or the selector's labels. */
function subjectOf(o: KObject): string {
  const s = (specOf(o).subject ?? {}) as { kind?: string; apiVersion?: string; name?: string; selector?: { matchLabels?: Record<string, string> } };
  const target = s.name ?? Object.entries(s.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  return `${s.kind ?? ''}:${s.apiVersion ?? ''}:${target}`;
}

function sortObjects(items: KObject[]): KObject[] {
  return [...items].sort((a, b) => (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') || a.metadata.name.localeCompare(b.metadata.name));
}

/** The table of `zeno get`; with allNamespaces, a NAMESPACE column first (as kubectl -A). */
export function renderTable(kind: KindInfo, items: KObject[], opts: { nowMs: number; wide?: boolean; allNamespaces?: boolean }): string {
  const cols = columnsFor(kind, opts.wide ?? false);
  const rows = sortObjects(items).map((o) => {
    const r = cols.row(o, opts.nowMs);
    return opts.allNamespaces ? [o.metadata.namespace, ...r] : r;
  });
  return formatTable(opts.allNamespaces ? ['NAMESPACE', ...cols.headers] : cols.headers, rows);
}

/** Lists objects get apiVersion and kind filled in, as kubectl prints them. */
function withType(kind: KindInfo, o: KObject): KObject {
  return { ...o, apiVersion: o.apiVersion || kind.apiVersion, kind: o.kind || kind.kind };
}

/**
 * `-o json` / `-o yaml`: one object as it is, several as kubectl's
 * `{apiVersion: "v1", kind: "List", items}`.
 */
export function renderObjects(kind: KindInfo, data: KObject | KObject[], format: 'json' | 'yaml'): string {
  const doc = Array.isArray(data)
    ? { apiVersion: 'v1', kind: 'List', items: sortObjects(data).map((o) => withType(kind, o)) }
    : withType(kind, data);
  return format === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : toYaml(doc);
}

function trafficOf(o: KObject): TrafficTarget[] {
  const s = status(o).traffic;
  if (Array.isArray(s) && s.length) return s as TrafficTarget[];
  const spec = (o.spec as { traffic?: TrafficTarget[] } | undefined)?.traffic;
  return Array.isArray(spec) ? spec : [];
}

function trafficTarget(t: TrafficTarget): string {
  // kn shows `@latest (hello-00002)` for targets that follow the latest revision.
  if (t.latestRevision) return t.revisionName ? `@latest (${t.revisionName})` : '@latest';
  return t.revisionName ?? t.configurationName ?? '';
}

function trafficSummary(targets: TrafficTarget[]): string {
  return targets.map((t) => `${t.percent ?? 0}% ${trafficTarget(t)}${t.tag ? ` #${t.tag}` : ''}`).join(', ');
}

/** `Label:   value` lines with the values aligned; undefined values are left out. */
function fields(pairs: [string, string | undefined][], indent = ''): string[] {
  const present = pairs.filter((p): p is [string, string] => p[1] !== undefined && p[1] !== '');
  // Width from every label, present or not, so continuation lines can align to it.
  const width = Math.max(0, ...pairs.map(([k]) => k.length + 1));
  return present.map(([k, v]) => `${indent}${`${k}:`.padEnd(width)}  ${v}`);
}

function keyValues(map: Record<string, string> | undefined): string | undefined {
  const entries = Object.entries(map ?? {});
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join('\n              ') : undefined;
}

function containerLines(c: Container, i: number): string[] {
  const cmd = [...(c.command ?? []), ...(c.args ?? [])];
  const env = (c.env ?? []).map((e) => `${e.name}=${e.value ?? '<from source>'}`).join(', ');
  const port = c.ports?.[0]?.containerPort;
  return [
    `  Container ${i}${c.name ? ` (${c.name})` : ''}:`,
    ...fields(
      [
        ['Image', c.image],
        ['Command', cmd.length ? cmd.map(shellQuote).join(' ') : undefined],
        ['Working dir', c.workingDir],
        ['Port', port === undefined ? undefined : String(port)],
        ['Env', env || undefined],
        ['Readiness', c.readinessProbe ? (c.readinessProbe.httpGet ? `http-get ${c.readinessProbe.httpGet.path ?? '/'}` : 'tcp') : undefined],
      ],
      '    ',
    ),
  ];
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function revisionSpecLines(spec: RevisionTemplate['spec'] | undefined, annotations: Record<string, string> | undefined): string[] {
  if (!spec) return [];
  const cc = spec.containerConcurrency;
  const scaling = Object.entries(annotations ?? {})
    .filter(([k]) => k.startsWith('autoscaling.knative.dev/'))
    .map(([k, v]) => `${k.slice('autoscaling.knative.dev/'.length)}=${v}`)
    .join(', ');
  return [
    ...fields([
      ['  Concurrency', cc === undefined ? undefined : cc === 0 ? '0 (unlimited)' : String(cc)],
      ['  Timeout', spec.timeoutSeconds === undefined ? undefined : `${spec.timeoutSeconds}s`],
      ['  Autoscaling', scaling || undefined],
    ]),
    ...(spec.containers ?? []).flatMap(containerLines),
  ];
}

function conditionsTable(obj: KObject, nowMs: number): string[] {
  const conds = conditionsOf(obj);
  if (!conds.length) return ['Conditions:  <none>'];
  const table = formatTable(
    ['TYPE', 'STATUS', 'REASON', 'MESSAGE', 'AGE'],
    conds.map((c) => [c.type, c.status, c.reason, c.message, age(c.lastTransitionTime, nowMs)]),
    { indent: '  ' },
  );
  return ['Conditions:', ...table.trimEnd().split('\n')];
}

function eventsTable(events: EventItem[] | string, nowMs: number): string[] {
  if (typeof events === 'string') return [`Events:  <unavailable: ${events}>`];
  if (!events.length) return ['Events:  <none>'];
  const table = formatTable(
    ['TYPE', 'REASON', 'AGE', 'MESSAGE'],
    // Newest last, as kubectl describe lists them.
    events.map((e) => [e.type, e.reason, eventAge(e, nowMs), e.message]),
    { indent: '  ' },
  );
  return ['Events:', ...table.trimEnd().split('\n')];
}

/** kubectl describe's event age: `5s`, or `5s (x3 over 2m)` for a repeated event. */
export function eventAge(e: EventItem, nowMs: number): string {
  const last = age(e.lastTimestamp, nowMs);
  if (!e.count || e.count < 2) return last;
  const first = age(e.firstTimestamp, nowMs);
  return first ? `${last} (x${e.count} over ${first})` : `${last} (x${e.count})`;
}

function trafficTable(targets: TrafficTarget[]): string[] {
  if (!targets.length) return [];
  const table = formatTable(
    ['PERCENT', 'REVISION', 'TAG', 'URL'],
    targets.map((t) => [`${t.percent ?? 0}%`, trafficTarget(t), t.tag, t.url]),
    { indent: '  ' },
  );
  return ['Traffic:', ...table.trimEnd().split('\n')];
}

/** The autoscaler's view of a revision (status.autoscaler), for describe. */
export function autoscalerLines(view: unknown): string[] {
  if (!view || typeof view !== 'object') return [];
  const v = view as Record<string, unknown>;
  return fields([
    ['  Desired / actual', `${text(v.desiredScale) ?? '?'} / ${text(v.actualScale) ?? '?'}`],
    ['  Panic mode', v.panicMode === true ? 'yes' : 'no'],
    ['  Observed (stable)', text(v.observedStableValue)],
    ['  Observed (panic)', text(v.observedPanicValue)],
    ['  Excess burst capacity', text(v.excessBurstCapacity)],
    ['  Mode', text(v.mode)],
  ]);
}

/** A Broker's address and delivery, a Trigger's broker, filter, subscriber and counters. */
function eventingLines(kind: 'Broker' | 'Trigger', obj: KObject): string[] {
  const st = status(obj);
  const spec = specOf(obj);
  const delivery = (spec.delivery ?? {}) as Record<string, unknown>;
  const deliveryText = [
    sinkOf(delivery.deadLetterSink) ? `dead letter sink ${sinkOf(delivery.deadLetterSink)}` : '',
    delivery.retry !== undefined ? `retry ${text(delivery.retry)}` : '',
    text(delivery.backoffPolicy) ? `backoff ${text(delivery.backoffPolicy)} ${text(delivery.backoffDelay) ?? ''}`.trimEnd() : '',
  ].filter(Boolean).join(', ');
  if (kind === 'Broker') {
    return titled('Status:', fields([
      ['  Address', text((st.address as { url?: unknown } | undefined)?.url)],
      ['  Class', obj.metadata.annotations?.['eventing.knative.dev/broker.class']],
      ['  Delivery', deliveryText || undefined],
      ['  Dead letter sink', text(st.deadLetterSinkUri)],
    ]));
  }
  const filter = Object.entries(((spec.filter as { attributes?: Record<string, string> } | undefined)?.attributes) ?? {}).map(([k, v]) => `${k}=${v}`).join(', ');
  const stats = (st.deliveryStats ?? {}) as Record<string, unknown>;
  const counters = ['delivered', 'retried', 'deadLettered', 'failed', 'inFlight'].filter((k) => stats[k] !== undefined).map((k) => `${k} ${text(stats[k])}`).join(', ');
  return titled('Status:', fields([
    ['  Broker', text(spec.broker)],
    ['  Filter', filter || (Array.isArray(spec.filters) && spec.filters.length ? JSON.stringify(spec.filters) : undefined)],
    ['  Subscriber', sinkOf(spec.subscriber)],
    ['  Subscriber URI', text(st.subscriberUri)],
    ['  Delivery', deliveryText || undefined],
    ['  Deliveries', counters || undefined],
  ]));
}

function titled(title: string, body: string[]): string[] {
  return body.length ? [title, ...body] : [];
}

/** `zeno describe -o json|yaml`: the object and its events, for scripts. */
export function renderDescribeData(kind: KindInfo, obj: KObject, events: EventItem[] | string, format: 'json' | 'yaml'): string {
  const doc = {
    object: withType(kind, obj),
    conditions: conditionsOf(obj),
    events: typeof events === 'string' ? [] : events,
    ...(typeof events === 'string' ? { eventsError: events } : {}),
  };
  return format === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : toYaml(doc);
}

/**
 * `zeno describe`: metadata, a summary of the spec, status, traffic, the
 * conditions table and recent events (or why they could not be fetched).
 */
export function renderDescribe(kind: KindInfo, obj: KObject, events: EventItem[] | string, nowMs: number): string {
  const m = obj.metadata;
  const st = status(obj);
  const created = m.creationTimestamp ? `${age(m.creationTimestamp, nowMs)} ago (${m.creationTimestamp})` : undefined;
  const out: string[] = fields([
    ['Name', m.name],
    ['Namespace', m.namespace],
    ['Kind', `${obj.kind || kind.kind} (${obj.apiVersion || kind.apiVersion})`],
    ['Created', created],
    ['Generation', m.generation === undefined ? undefined : String(m.generation)],
    ['Labels', keyValues(m.labels)],
    ['Annotations', keyValues(m.annotations)],
    ['URL', text(st.url)],
  ]);
  const section = (lines: string[]): void => {
    if (lines.length) out.push('', ...lines);
  };
  // A heading only when something is under it.
  const titled = (title: string, body: string[]): string[] => (body.length ? [title, ...body] : []);
  switch (kind.kind) {
    case 'Service':
    case 'Configuration': {
      const template = (obj.spec as { template?: RevisionTemplate } | undefined)?.template;
      section(titled('Template:', [...fields([['  Revision name', template?.metadata?.name]]), ...revisionSpecLines(template?.spec, template?.metadata?.annotations)]));
      section(
        titled(
          'Status:',
          fields([
            ['  Latest created', text(st.latestCreatedRevisionName)],
            ['  Latest ready', text(st.latestReadyRevisionName)],
            ['  Observed generation', text(st.observedGeneration)],
          ]),
        ),
      );
      if (kind.kind === 'Service') section(trafficTable(trafficOf(obj)));
      break;
    }
    case 'Revision': {
      const labels = m.labels ?? {};
      section(titled('Spec:', revisionSpecLines(obj.spec as RevisionTemplate['spec'] | undefined, m.annotations)));
      section(
        titled('Status:', fields([
          ['  Service', labels['serving.knative.dev/service']],
          ['  Configuration', labels['serving.knative.dev/configuration']],
          ['  Replicas', st.actualReplicas === undefined && st.desiredReplicas === undefined ? undefined : `${text(st.actualReplicas) ?? '?'} actual / ${text(st.desiredReplicas) ?? '?'} desired`],
        ])),
      );
      section(titled('Autoscaler:', autoscalerLines(st.autoscaler)));
      break;
    }
    case 'Route':
      section(trafficTable(trafficOf(obj)));
      break;
    case 'ConfigMap': {
      const data = Object.entries(obj.data ?? {});
      section(['Data:', ...(data.length ? data.flatMap(([k, v]) => [`  ${k}:`, ...String(v).trimEnd().split('\n').map((l) => `    ${l}`)]) : ['  <none>'])]);
      break;
    }
  }
  if (kind.kind === 'Broker' || kind.kind === 'Trigger') section(eventingLines(kind.kind, obj));
  if (kind.kind !== 'ConfigMap') section(conditionsTable(obj, nowMs));
  section(eventsTable(events, nowMs));
  return `${out.join('\n')}\n`;
}
