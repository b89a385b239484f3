/**
 * Checks Kubernetes objects against the official OpenAPI schemas, as compiled
 * by the `kubernetes-models` packages (types, required fields, enums,
 * formats), plus what those schemas cannot say: unknown fields (through
 * @kubernetes/client-node's generated models, which list every field of
 * every type) and Lease MicroTimes, which the API server parses with exactly
 * six fractional digits (layout 2006-01-02T15:04:05.000000Z07:00).
 */
import * as k8s from '@kubernetes/client-node';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { EndpointSlice } from 'kubernetes-models/discovery.k8s.io/v1/EndpointSlice';
import { Lease } from 'kubernetes-models/coordination.k8s.io/v1/Lease';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';

type Validatable = { validate(): void };
const MODELS: Record<string, new (data: never) => Validatable> = {
  ConfigMap: ConfigMap as never,
  Pod: Pod as never,
  Service: Service as never,
  Deployment: Deployment as never,
  EndpointSlice: EndpointSlice as never,
  Lease: Lease as never,
  HorizontalPodAutoscaler: HorizontalPodAutoscaler as never,
};

/** client-node's model prefix per kind (V1 unless the kind is served here at another version). */
const MODEL_VERSION: Record<string, string> = { HorizontalPodAutoscaler: 'V2' };

const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;

/** Schema problems of one object (empty when valid). Kinds without a schema here are not checked. */
export function validateObject(kind: string, obj: unknown): string[] {
  const Model = MODELS[kind];
  if (!Model) return [];
  const problems: string[] = [];
  try {
    new Model(obj as never).validate();
  } catch (e) {
    problems.push((e as Error).message);
  }
  if (kind === 'Lease') {
    const spec = (obj as { spec?: Record<string, unknown> }).spec ?? {};
    for (const f of ['acquireTime', 'renewTime']) {
      const v = spec[f];
      if (v !== undefined && v !== null && (typeof v !== 'string' || !MICRO_TIME.test(v))) {
        problems.push(`spec.${f}: parsing time ${JSON.stringify(v)} as "2006-01-02T15:04:05.000000Z07:00"`);
      }
    }
  }
  return problems;
}

interface Attr {
  baseName: string;
  type: string;
}

const models = k8s as unknown as Record<string, { getAttributeTypeMap?: () => Attr[] } | undefined>;

/** Fields the schema does not know, as paths (e.g. `spec.template.spec.containers[0].readinesProbe`). */
export function unknownFields(kind: string, obj: unknown): string[] {
  const out: string[] = [];
  walk(obj, `${MODEL_VERSION[kind] ?? 'V1'}${kind}`, '', out);
  return out;
}

function walk(value: unknown, type: string, path: string, out: string[]): void {
  if (value === null || value === undefined) return;
  const arr = type.match(/^Array<(.+)>$/);
  if (arr) {
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, arr[1]!, `${path}[${i}]`, out));
    return;
  }
  const map = type.match(/^\{ \[key: string\]: (.+); \}$/);
  if (map) {
    if (typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, map[1]!, `${path}.${k}`, out);
    return;
  }
  const model = models[type];
  const attrs = model?.getAttributeTypeMap?.();
  if (!attrs || typeof value !== 'object' || Array.isArray(value)) return;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const a = attrs.find((x) => x.baseName === k);
    const p = path ? `${path}.${k}` : k;
    if (!a) out.push(p);
    else walk(v, a.type, p, out);
  }
}

/** Both checks together, for tests of generated manifests. */
export function manifestProblems(obj: { kind: string }): string[] {
  return [...validateObject(obj.kind, obj), ...unknownFields(obj.kind, obj).map((p) => `unknown field ${p}`)];
}
