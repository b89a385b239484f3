/**
 * Every Prometheus metric Zeno exports, defined once (docs/metrics.md lists
 * them). Names follow Knative's where Knative has one (activator
 * `request_count` / `request_latencies`, autoscaler `desired_pods`,
 * `actual_pods`, `panic_mode`, …, broker and trigger `event_count` /
 * `event_dispatch_latencies`), with the `zeno_` prefix, and Knative's label
 * names (`namespace_name`, `service_name`, `configuration_name`,
 * `revision_name`, `response_code_class`). Latencies are in milliseconds,
 * as Knative's are.
 *
 * The gateway's per-request path does not touch prom-client: prom-client's
 * labelled children hash their label values into a string on every call.
 * Instead each revision gets a {@link RevisionMetrics} with plain number
 * arrays, indexed by status class and bucket, and the registry reads them
 * when /metrics is scraped.
 */
import { Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';

export const METRIC_PREFIX = 'zeno_';

export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];

/**
 * Index into STATUS_CLASSES. Knative's rule for `response_code_class`: one
 * of 1xx…5xx by the code, and any other code (0 for "no response", 600+)
 * counts as 5xx.
 */
export function statusClassIndex(code: number): number {
  return code >= 100 && code < 600 ? ((code / 100) | 0) - 1 : 4;
}

export function statusClass(code: number): StatusClass {
  return STATUS_CLASSES[statusClassIndex(code)]!;
}

/**
 * Upper bounds (ms) for request, dispatch and cold-start latencies: fine
 * below 100 ms where warm calls land, coarse up to Knative's 300 s default
 * timeoutSeconds.
 */
export const LATENCY_BUCKETS_MS: readonly number[] = Object.freeze([
  1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 300_000,
]);

/** Which revision a series is about (Knative's revision labels). */
export interface RevisionLabels {
  namespace: string;
  service: string;
  configuration: string;
  revision: string;
}

const REVISION_LABELS = ['namespace_name', 'service_name', 'configuration_name', 'revision_name'] as const;
type RevisionLabelName = (typeof REVISION_LABELS)[number];
type RevisionLabelValues = Record<RevisionLabelName, string>;

function revisionLabelValues(l: RevisionLabels): RevisionLabelValues {
  return { namespace_name: l.namespace, service_name: l.service, configuration_name: l.configuration, revision_name: l.revision };
}

/** The autoscaler's view of one decision (autoscaler/multiscaler.ts DecisionReport). */
export interface DecisionMetrics {
  desired: number;
  inPanic: boolean;
  stableAverage: number;
  panicAverage: number;
  excessBurstCapacity: number;
  /** Which metric the averages are of (the revision's autoscaling.knative.dev/metric). */
  metric: 'concurrency' | 'rps';
}

/** Live per-revision numbers read when /metrics is scraped. */
export interface ServingSnapshot {
  labels: RevisionLabels;
  /** Requests waiting in the activator for a pod. */
  queueDepth: number;
  /** Requests being served by the revision's pods now. */
  inFlight: number;
  /** Pods that passed readiness and are in routing (Knative's actual_pods). */
  readyPods: number;
  /** Pods the runtime was last asked for (Knative's requested_pods). */
  requestedPods: number;
}

/**
 * Per-revision, pre-bound recorder for the gateway's hot path: record() is
 * a few array increments, with no allocation and no string building.
 */
export class RevisionMetrics {
  readonly labels: RevisionLabels;
  /** Requests per status class. */
  readonly counts = new Float64Array(5);
  /** Sum of latencies (ms) per status class. */
  readonly sums = new Float64Array(5);
  /** Non-cumulative bucket counts: class c, bucket b at c * (B + 1) + b; b = B is +Inf. */
  readonly buckets: Float64Array;
  private readonly bounds: readonly number[];

  constructor(labels: RevisionLabels, private readonly parent: ZenoMetrics) {
    this.labels = labels;
    this.bounds = LATENCY_BUCKETS_MS;
    this.buckets = new Float64Array(5 * (this.bounds.length + 1));
  }

  /**
   * One answered request: its status code (0 if none was sent), how long
   * it took, and the ZENO_ERR_* code when the platform itself answered.
   */
  record(code: number, ms: number, error?: string): void {
    const c = statusClassIndex(code);
    this.counts[c]!++;
    this.sums[c]! += ms;
    const bounds = this.bounds;
    let b = 0;
    while (b < bounds.length && ms > bounds[b]!) b++;
    this.buckets[c * (bounds.length + 1) + b]!++;
    if (c === 4) this.parent.emit({ kind: 'error', labels: this.labels, status: code, durationMs: ms, error });
  }

  /** A request that found no ready pod waited `ms` for one (see docs/metrics.md "cold start"). */
  coldStart(ms: number): void {
    this.parent.recordColdStart(this.labels, ms);
  }
}

/** Notable moments for the dashboard's "recent" lists (not metrics: each one is kept). */
export type Activity =
  | { kind: 'cold-start'; labels: RevisionLabels; waitMs: number }
  /** A request answered 5xx (or with no response at all: status 0). */
  | { kind: 'error'; labels: RevisionLabels; status: number; durationMs: number; error: string | undefined };

/** Hooks the broker and trigger dispatcher call (names after Knative Eventing's). */
export interface EventingMetrics {
  /**
   * The broker ingress answered a producer: `code` 202 means the event was
   * durably appended (accepted); 4xx refused it; `latencyMs` from request to answer.
   */
  brokerEvent(a: { namespace: string; broker: string; eventType: string; code: number; latencyMs: number }): void;
  /** One delivery attempt to a trigger's subscriber ended with `code` (0: no response). */
  triggerDispatch(a: { namespace: string; broker: string; trigger: string; code: number; latencyMs: number }): void;
  /** A failed attempt will be retried (per the trigger's delivery spec). */
  triggerRetry(a: { namespace: string; broker: string; trigger: string }): void;
  /** The subscriber finally accepted the event (after any retries). */
  triggerDelivered(a: { namespace: string; broker: string; trigger: string }): void;
  /** Retries ran out: the event went to the dead letter sink. */
  triggerDeadLettered(a: { namespace: string; broker: string; trigger: string }): void;
  /** Retries ran out and there is no dead letter sink (or it failed too): the event is dropped. */
  triggerDropped(a: { namespace: string; broker: string; trigger: string }): void;
  /**
   * An event came to this instance again after another holder's lease ran
   * out or its retry was scheduled elsewhere: a possible duplicate delivery
   * (several instances on one NATS, or a restart after a crash).
   */
  triggerRedelivered(a: { namespace: string; broker: string; trigger: string }): void;
}

/** What became of an async call (POST /async-function/NAME). */
export type AsyncOutcome = 'accepted' | 'succeeded' | 'failed' | 'retried' | 'callback_failed' | 'redelivered';

/** Hooks the async-call ingress and worker call. */
export interface AsyncMetrics {
  /** Calls waiting in the durable queue for a function. */
  queueDepth(a: { namespace: string; service: string; depth: number }): void;
  /**
   * A call changed state; for succeeded / failed, `latencyMs` is from
   * acceptance to the function's answer.
   */
  outcome(a: { namespace: string; service: string; outcome: AsyncOutcome; latencyMs?: number }): void;
}

/**
 * A minimal prom-client metric that reads the revisions' plain-number
 * recorders at scrape time (Registry only calls name, type and get()).
 */
class RequestCollector {
  readonly aggregator = 'sum' as const;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
    private readonly revisions: () => Iterable<RevisionMetrics>,
  ) {}

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: { value: number; labels: Record<string, string | number>; metricName?: string }[] }> {
    const values: { value: number; labels: Record<string, string | number>; metricName?: string }[] = [];
    for (const r of this.revisions()) {
      const base = revisionLabelValues(r.labels);
      for (let c = 0; c < 5; c++) {
        const count = r.counts[c]!;
        if (count === 0) continue;
        const labels = { ...base, response_code_class: STATUS_CLASSES[c]! };
        if (this.type === 'counter') {
          values.push({ value: count, labels });
          continue;
        }
        const nb = LATENCY_BUCKETS_MS.length;
        let cum = 0;
        for (let b = 0; b <= nb; b++) {
          cum += r.buckets[c * (nb + 1) + b]!;
          values.push({ metricName: `${this.name}_bucket`, value: cum, labels: { ...labels, le: b < nb ? LATENCY_BUCKETS_MS[b]! : '+Inf' } });
        }
        values.push({ metricName: `${this.name}_sum`, value: r.sums[c]!, labels });
        values.push({ metricName: `${this.name}_count`, value: count, labels });
      }
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

/**
 * The platform's metrics: one Registry (not prom-client's global one, so
 * two platforms in one test process do not collide).
 */
export class ZenoMetrics {
  readonly registry = new Registry();
  private readonly revisions = new Map<string, RevisionMetrics>();
  private servingSource: () => Iterable<ServingSnapshot> = () => [];
  private readonly listeners = new Set<(a: Activity) => void>();

  private readonly coldStarts: Counter<RevisionLabelName>;
  private readonly coldStartLatency: Histogram<RevisionLabelName>;
  private readonly podStartLatency: Histogram<RevisionLabelName>;
  private readonly decisionGauges: Record<'desired' | 'panic' | 'stableConcurrency' | 'panicConcurrency' | 'stableRps' | 'panicRps' | 'excessBurst', Gauge<RevisionLabelName>>;

  readonly eventing: EventingMetrics;
  readonly async: AsyncMetrics;

  constructor() {
    const reg = this.registry;
    const name = (n: string) => `${METRIC_PREFIX}${n}`;
    const labelNames = [...REVISION_LABELS];
    const all = () => this.revisions.values();

    // ---- serving: gateway and activator ----
    reg.registerMetric(new RequestCollector(name('request_count'), 'Requests routed to a revision, by response code class (Knative activator request_count)', 'counter', all) as unknown as Metric);
    reg.registerMetric(new RequestCollector(name('request_latencies'), 'Time from the request reaching the gateway to the end of the response, in ms (Knative request_latencies)', 'histogram', all) as unknown as Metric);

    const snapshotGauge = (n: string, help: string, pick: (s: ServingSnapshot) => number): void => {
      const gauge: Gauge<RevisionLabelName> = new Gauge({
        name: name(n),
        help,
        labelNames,
        registers: [reg],
        collect: () => {
          gauge.reset();
          for (const s of this.servingSource()) gauge.set(revisionLabelValues(s.labels), pick(s));
        },
      });
    };
    snapshotGauge('activator_queue_depth', 'Requests waiting in the activator for a pod of the revision', (s) => s.queueDepth);
    snapshotGauge('request_concurrency', 'Requests in flight to the revision\'s pods now (Knative activator request_concurrency)', (s) => s.inFlight);
    snapshotGauge('actual_pods', 'Ready pods of the revision (Knative autoscaler actual_pods)', (s) => s.readyPods);
    snapshotGauge('requested_pods', 'Pods the runtime was asked for (Knative autoscaler requested_pods)', (s) => s.requestedPods);

    this.coldStarts = new Counter({ name: name('cold_start_count'), help: 'Requests that found no ready pod and waited for one to start', labelNames, registers: [reg] });
    this.coldStartLatency = new Histogram({ name: name('cold_start_latencies'), help: 'How long such a request waited for a pod, in ms', labelNames, buckets: [...LATENCY_BUCKETS_MS], registers: [reg] });
    this.podStartLatency = new Histogram({ name: name('pod_start_latencies'), help: 'Time from starting a pod\'s process to its passing readiness, in ms', labelNames, buckets: [...LATENCY_BUCKETS_MS], registers: [reg] });

    // ---- autoscaler (Knative's autoscaler metric names) ----
    const g = (n: string, help: string) => new Gauge({ name: name(n), help, labelNames, registers: [reg] });
    this.decisionGauges = {
      desired: g('desired_pods', 'Pods the autoscaler\'s last decision wants (Knative desired_pods)'),
      panic: g('panic_mode', '1 while the autoscaler is in panic mode, else 0 (Knative panic_mode)'),
      stableConcurrency: g('stable_request_concurrency', 'Average concurrency over the stable window, all pods together (Knative stable_request_concurrency)'),
      panicConcurrency: g('panic_request_concurrency', 'Average concurrency over the panic window, all pods together (Knative panic_request_concurrency)'),
      stableRps: g('stable_requests_per_second', 'Average requests per second over the stable window (Knative stable_requests_per_second)'),
      panicRps: g('panic_requests_per_second', 'Average requests per second over the panic window (Knative panic_requests_per_second)'),
      excessBurst: g('excess_burst_capacity', 'Excess burst capacity over the stable window (Knative excess_burst_capacity)'),
    };

    // ---- eventing (Knative Eventing's broker and trigger metric names) ----
    const brokerLabels = ['namespace_name', 'broker_name', 'event_type', 'response_code_class'] as const;
    const triggerLabels = ['namespace_name', 'broker_name', 'trigger_name'] as const;
    const brokerCount = new Counter({ name: name('broker_event_count'), help: 'Events a broker ingress answered, by response code class (202 = accepted)', labelNames: brokerLabels, registers: [reg] });
    const brokerLatency = new Histogram({ name: name('broker_event_dispatch_latencies'), help: 'Broker ingress time from request to answer (durable append included), in ms', labelNames: brokerLabels, buckets: [...LATENCY_BUCKETS_MS], registers: [reg] });
    const triggerCount = new Counter({ name: name('trigger_event_count'), help: 'Delivery attempts to a trigger\'s subscriber, by response code class', labelNames: [...triggerLabels, 'response_code_class'], registers: [reg] });
    const triggerLatency = new Histogram({ name: name('trigger_event_dispatch_latencies'), help: 'Time of one delivery attempt to a trigger\'s subscriber, in ms', labelNames: [...triggerLabels, 'response_code_class'], buckets: [...LATENCY_BUCKETS_MS], registers: [reg] });
    const retries = new Counter({ name: name('trigger_event_retry_count'), help: 'Failed delivery attempts that will be retried', labelNames: triggerLabels, registers: [reg] });
    const delivered = new Counter({ name: name('trigger_event_delivered_count'), help: 'Events the subscriber accepted (after any retries)', labelNames: triggerLabels, registers: [reg] });
    const deadLettered = new Counter({ name: name('trigger_event_dead_letter_count'), help: 'Events sent to the dead letter sink after retries ran out', labelNames: triggerLabels, registers: [reg] });
    const dropped = new Counter({ name: name('trigger_event_dropped_count'), help: 'Events given up on with no (working) dead letter sink', labelNames: triggerLabels, registers: [reg] });
    const redelivered = new Counter({ name: name('trigger_event_redelivery_count'), help: 'Events this instance got again after another holder\'s lease ran out (a crashed or stalled instance) or another instance scheduled their retry: possible duplicate deliveries', labelNames: triggerLabels, registers: [reg] });
    const tl = (a: { namespace: string; broker: string; trigger: string }) => ({ namespace_name: a.namespace, broker_name: a.broker, trigger_name: a.trigger });
    this.eventing = {
      brokerEvent(a) {
        const labels = { namespace_name: a.namespace, broker_name: a.broker, event_type: a.eventType, response_code_class: statusClass(a.code) };
        brokerCount.inc(labels);
        brokerLatency.observe(labels, a.latencyMs);
      },
      triggerDispatch(a) {
        const labels = { ...tl(a), response_code_class: statusClass(a.code) };
        triggerCount.inc(labels);
        triggerLatency.observe(labels, a.latencyMs);
      },
      triggerRetry: (a) => retries.inc(tl(a)),
      triggerDelivered: (a) => delivered.inc(tl(a)),
      triggerDeadLettered: (a) => deadLettered.inc(tl(a)),
      triggerDropped: (a) => dropped.inc(tl(a)),
      triggerRedelivered: (a) => redelivered.inc(tl(a)),
    };

    // ---- async calls ----
    const asyncDepth = new Gauge({ name: name('async_queue_depth'), help: 'Async calls waiting in the durable queue', labelNames: ['namespace_name', 'service_name'], registers: [reg] });
    const asyncCount = new Counter({ name: name('async_call_count'), help: 'Async calls by outcome (accepted, succeeded, failed, retried, callback_failed; redelivered: an attempt handed out again after another holder\'s lease ran out, a possible duplicate run)', labelNames: ['namespace_name', 'service_name', 'outcome'], registers: [reg] });
    const asyncLatency = new Histogram({ name: name('async_call_latencies'), help: 'Async call time from acceptance to the function\'s answer, in ms', labelNames: ['namespace_name', 'service_name', 'outcome'], buckets: [...LATENCY_BUCKETS_MS], registers: [reg] });
    this.async = {
      queueDepth: (a) => asyncDepth.set({ namespace_name: a.namespace, service_name: a.service }, a.depth),
      outcome(a) {
        const labels = { namespace_name: a.namespace, service_name: a.service, outcome: a.outcome };
        asyncCount.inc(labels);
        if (a.latencyMs !== undefined) asyncLatency.observe(labels, a.latencyMs);
      },
    };
  }

  /** The pre-bound recorder of a revision, created once and cached. */
  revision(labels: RevisionLabels): RevisionMetrics {
    const key = `${labels.namespace}/${labels.revision}`;
    let r = this.revisions.get(key);
    if (!r) {
      r = new RevisionMetrics({ ...labels }, this);
      this.revisions.set(key, r);
    }
    return r;
  }

  /** Requests the revision has answered so far, all classes (0 if none). */
  requestTotal(namespace: string, revision: string): number {
    const r = this.revisions.get(`${namespace}/${revision}`);
    if (!r) return 0;
    let n = 0;
    for (const c of r.counts) n += c;
    return n;
  }

  /** The recorder of a revision, if it has one (for windowed views such as `zeno top`). */
  revisionMetrics(namespace: string, revision: string): RevisionMetrics | undefined {
    return this.revisions.get(`${namespace}/${revision}`);
  }

  /** The live per-revision numbers (queue depth, in flight, pods), as /metrics reads them. */
  servingSnapshot(): ServingSnapshot[] {
    return [...this.servingSource()];
  }

  /** Drops every series of a deleted revision. */
  forget(labels: RevisionLabels): void {
    this.revisions.delete(`${labels.namespace}/${labels.revision}`);
    const l = revisionLabelValues(labels);
    for (const m of [this.coldStarts, this.coldStartLatency, this.podStartLatency, ...Object.values(this.decisionGauges)]) {
      try {
        m.remove(l);
      } catch {
        // never recorded
      }
    }
  }

  /** Where the live gauges (queue depth, in flight, ready and requested pods) come from at scrape time. */
  setServingSource(source: () => Iterable<ServingSnapshot>): void {
    this.servingSource = source;
  }

  recordColdStart(labels: RevisionLabels, ms: number): void {
    const l = revisionLabelValues(labels);
    this.coldStarts.inc(l);
    this.coldStartLatency.observe(l, ms);
    this.emit({ kind: 'cold-start', labels, waitMs: ms });
  }

  /** Listens for cold starts and server errors; returns the unsubscribe. */
  onActivity(listener: (a: Activity) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(a: Activity): void {
    for (const l of this.listeners) l(a);
  }

  /** A pod passed readiness `ms` after its process started. */
  recordPodStart(labels: RevisionLabels, ms: number): void {
    this.podStartLatency.observe(revisionLabelValues(labels), ms);
  }

  /** One autoscaler decision (called every tick, 2 s, per revision). */
  recordDecision(labels: RevisionLabels, d: DecisionMetrics): void {
    const l = revisionLabelValues(labels);
    const g = this.decisionGauges;
    g.desired.set(l, d.desired);
    g.panic.set(l, d.inPanic ? 1 : 0);
    g.excessBurst.set(l, d.excessBurstCapacity);
    if (d.metric === 'rps') {
      g.stableRps.set(l, d.stableAverage);
      g.panicRps.set(l, d.panicAverage);
    } else {
      g.stableConcurrency.set(l, d.stableAverage);
      g.panicConcurrency.set(l, d.panicAverage);
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition of every metric. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}

export function createMetrics(): ZenoMetrics {
  return new ZenoMetrics();
}
