import fs from 'node:fs';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { COMMANDS } from '../cli/commands.js';
import { parseCommand } from '../cli/args.js';
import { KINDS } from '../core/kinds.js';
import { configsFromConfigMaps, KNOWN_CONFIG_MAPS, validateConfigMap } from '../controller/validation/configmap.js';
import type { KObject } from '../core/types.js';
import { CONTROL_SERVICE, crdKinds, GATEWAY_APP, GATEWAY_SERVICE_ACCOUNT, installFiles, NAMESPACE_RULES, NAMESPACE, renderFile, RUNTIME_RULES, TOKEN_SECRET, type K8sObject, type PolicyRule } from '../deploy/kubernetes/install.js';
import { gatewayRoleConflict } from '../cli/up.js';
import { RUNTIME_BUNDLE_FILE } from '../functions/node/bundle.js';
import { createKubernetesRuntime } from '../functions/kubernetes/kube-runtime.js';
import { watchClusterConfigMaps } from '../functions/kubernetes/config-watch.js';
import { LeaderElector } from '../functions/kubernetes/leader.js';
import type { PodTemplate } from '../functions/runtime.js';
import { startFakeKube, type FakeKubeServer, type RequestRecord } from './support/fake-kube/server.js';
import { unknownFields } from './support/fake-kube/validate.js';
import { waitFor } from './support/wait.js';

// Every file in deploy/kubernetes/ against the official Kubernetes schemas
// (kubernetes-models; CRDs through apiextensions.k8s.io's), the CRDs against
// core/kinds.ts and the structural-schema rules, the ConfigMaps against
// core/config's parsers, and the RBAC rules against what the code calls:
// statically (every client-node call in the source) and dynamically (the
// fake API server's request log while the runtime and leader election run).

const ROOT = path.resolve(import.meta.dirname, '..');
const DIR = path.join(ROOT, 'deploy', 'kubernetes');

interface Doc {
  file: string;
  object: K8sObject;
}

function loadDir(): Doc[] {
  const out: Doc[] = [];
  for (const f of fs.readdirSync(DIR).filter((n) => /\.ya?ml$/.test(n)).sort()) {
    for (const d of parseAllDocuments(fs.readFileSync(path.join(DIR, f), 'utf8'))) {
      expect(d.errors, `${f}: YAML errors`).toEqual([]);
      const object = d.toJS() as K8sObject | null;
      if (object) out.push({ file: f, object });
    }
  }
  return out;
}

/** The kubernetes-models class for an apiVersion and kind, e.g. apps/v1 Deployment → kubernetes-models/apps/v1/Deployment. */
async function modelOf(apiVersion: string, kind: string): Promise<(new (data: unknown) => { validate(): void }) | undefined> {
  try {
    const mod = (await import(`kubernetes-models/${apiVersion}/${kind}`)) as Record<string, unknown>;
    return mod[kind] as new (data: unknown) => { validate(): void };
  } catch {
    return undefined;
  }
}

describe('deploy/kubernetes/', () => {
  const docs = loadDir();
  const byKind = (kind: string) => docs.filter((d) => d.object.kind === kind).map((d) => d.object);

  it('holds exactly what install.ts generates (npm run deploy:manifests)', () => {
    const generated = installFiles();
    expect(fs.readdirSync(DIR).filter((n) => /\.ya?ml$/.test(n)).sort()).toEqual(generated.map((f) => f.name).sort());
    for (const f of generated) expect(fs.readFileSync(path.join(DIR, f.name), 'utf8'), f.name).toBe(renderFile(f));
  });

  it('every document is valid against the official Kubernetes schemas, with no unknown fields', async () => {
    expect(docs.length).toBeGreaterThan(20);
    const problems: string[] = [];
    for (const { file, object } of docs) {
      const ref = `${file}: ${object.kind} ${object.metadata?.name}`;
      const Model = await modelOf(object.apiVersion, object.kind);
      if (!Model) {
        problems.push(`${ref}: no schema for ${object.apiVersion} ${object.kind}`);
        continue;
      }
      try {
        new Model(object).validate();
      } catch (e) {
        problems.push(`${ref}: ${(e as Error).message}`);
      }
      for (const p of unknownFields(object.kind, object)) problems.push(`${ref}: unknown field ${p}`);
    }
    expect(problems).toEqual([]);
  });

  it('namespaced objects live in the platform namespace, which is created first', () => {
    expect(docs[0]!.object).toMatchObject({ kind: 'Namespace', metadata: { name: NAMESPACE } });
    const clusterScoped = new Set(['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding']);
    for (const { object } of docs) {
      if (clusterScoped.has(object.kind)) expect(object.metadata.namespace, object.metadata.name).toBeUndefined();
      else expect(object.metadata.namespace, `${object.kind} ${object.metadata.name}`).toBe(NAMESPACE);
    }
  });

  describe('CRDs', () => {
    const crds = byKind('CustomResourceDefinition');

    it('one per kind of core/kinds.ts outside the core group, with its names, a status subresource and Ready columns', () => {
      const want = KINDS.filter((k) => k.group !== '');
      expect(want.length).toBe(crdKinds().length);
      expect(crds.map((c) => c.metadata.name).sort()).toEqual(want.map((k) => `${k.plural}.${k.group}`).sort());
      for (const k of want) {
        const c = crds.find((x) => x.metadata.name === `${k.plural}.${k.group}`)!;
        expect(c.spec.group).toBe(k.group);
        expect(c.spec.scope).toBe('Namespaced');
        expect(c.spec.names).toMatchObject({ kind: k.kind, plural: k.plural, singular: k.singular, listKind: `${k.kind}List` });
        // Short names from the table, minus those kubectl gives built-ins (Knative's ksvc has no "svc").
        for (const s of c.spec.names.shortNames ?? []) expect(k.shortNames).toContain(s);
        expect(c.spec.names.shortNames ?? []).not.toContain('svc');
        const [v] = c.spec.versions;
        expect(c.spec.versions).toHaveLength(1);
        expect(`${k.group}/${v.name}`).toBe(k.apiVersion);
        expect(v).toMatchObject({ served: true, storage: true, subresources: { status: {} } });
        expect(v.additionalPrinterColumns.map((col: { name: string }) => col.name)).toEqual(expect.arrayContaining(['Ready', 'Reason']));
      }
    });

    it('schemas are structural: a type on every node but those that keep unknown fields, only structural keywords', () => {
      const allowed = new Set(['type', 'description', 'format', 'properties', 'additionalProperties', 'items', 'required', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string']);
      const problems: string[] = [];
      const walk = (node: Record<string, any>, at: string): void => { // eslint-disable-line @typescript-eslint/no-explicit-any
        for (const key of Object.keys(node)) if (!allowed.has(key)) problems.push(`${at}: keyword ${key}`);
        if (!node.type && !node['x-kubernetes-preserve-unknown-fields'] && !node['x-kubernetes-int-or-string']) problems.push(`${at}: no type`);
        if (node.type === 'object' && !node.properties && !node.additionalProperties && !node['x-kubernetes-preserve-unknown-fields'] && at.split('.').pop() !== 'metadata') problems.push(`${at}: an object with no properties drops every field (prune)`);
        if (node.properties && node.additionalProperties) problems.push(`${at}: properties and additionalProperties together`);
        for (const [k, v] of Object.entries(node.properties ?? {})) walk(v as Record<string, unknown>, `${at}.${k}`);
        if (node.additionalProperties) walk(node.additionalProperties, `${at}{}`);
        if (node.items) walk(node.items, `${at}[]`);
        for (const r of node.required ?? []) if (!node.properties?.[r]) problems.push(`${at}: requires ${r}, which it does not define`);
      };
      for (const c of crds) {
        const s = c.spec.versions[0].schema.openAPIV3Schema;
        walk(s, c.metadata.name);
        // metadata may only be {type: object} at the root (the API server fills in ObjectMeta).
        expect(s.properties.metadata, c.metadata.name).toEqual({ type: 'object' });
        expect(s.properties.spec['x-kubernetes-preserve-unknown-fields'], c.metadata.name).toBe(true);
        expect(s.properties.status['x-kubernetes-preserve-unknown-fields'], c.metadata.name).toBe(true);
      }
      expect(problems).toEqual([]);
    });
    it("accept the YAML this project documents and ships (README, docs/, examples, templates): Knative's shapes", () => {
      const texts: { where: string; text: string }[] = [];
      for (const f of ['README.md', ...fs.readdirSync(path.join(ROOT, 'docs')).filter((n) => n.endsWith('.md')).map((n) => `docs/${n}`)]) {
        const md = fs.readFileSync(path.join(ROOT, f), 'utf8');
        for (const m of md.matchAll(/```ya?ml\n([\s\S]*?)```/g)) texts.push({ where: f, text: m[1]! });
      }
      for (const dir of fs.readdirSync(path.join(ROOT, 'functions', 'examples'))) {
        const f = path.join(ROOT, 'functions', 'examples', dir, 'service.yaml');
        if (fs.existsSync(f)) texts.push({ where: path.relative(ROOT, f), text: fs.readFileSync(f, 'utf8') });
      }
      for (const dir of fs.readdirSync(path.join(ROOT, 'templates'))) {
        for (const n of fs.readdirSync(path.join(ROOT, 'templates', dir)).filter((x) => x.endsWith('.yaml'))) {
          texts.push({ where: `templates/${dir}/${n}`, text: fs.readFileSync(path.join(ROOT, 'templates', dir, n), 'utf8').replaceAll('{{name}}', 'example') });
        }
      }
      const schemaOf = new Map(crds.map((c) => [`${c.spec.group}/${c.spec.versions[0].name}/${c.spec.names.kind}`, c.spec.versions[0].schema.openAPIV3Schema]));
      const problems: string[] = [];
      let checked = 0;
      for (const { where, text } of texts) {
        let objects: unknown[];
        try {
          objects = parseAllDocuments(text).map((d) => d.toJS());
        } catch {
          continue; // a fragment, not a manifest
        }
        for (const o of objects as { apiVersion?: string; kind?: string; metadata?: unknown }[]) {
          const schema = o && typeof o === 'object' ? schemaOf.get(`${o.apiVersion}/${o.kind}`) : undefined;
          if (!schema || !o.metadata) continue;
          checked++;
          problems.push(...schemaProblems(schema, o, `${where}: ${o.kind}`));
        }
      }
      expect(checked).toBeGreaterThan(10);
      expect(problems).toEqual([]);
    });
  });

  describe('ConfigMaps', () => {
    const cms = byKind('ConfigMap') as unknown as KObject[];

    it('every ConfigMap Zeno reads, each valid for the platform (zeno apply would take it)', () => {
      expect(cms.map((c) => c.metadata.name).sort()).toEqual([...KNOWN_CONFIG_MAPS].sort());
      for (const cm of cms) expect(validateConfigMap(cm), cm.metadata.name).toEqual([]);
    });

    it("every key at Zeno's default: they parse to exactly the defaults (core/config)", () => {
      expect(configsFromConfigMaps(cms)).toEqual(configsFromConfigMaps([]));
      // And they are not empty: each one spells its defaults out.
      for (const cm of cms) expect(Object.keys(cm.data ?? {}).length, cm.metadata.name).toBeGreaterThan(0);
    });
  });

  describe('the platform Deployment and Services', () => {
    const [deploy] = byKind('Deployment');
    const pod = deploy!.spec.template;
    const container = pod.spec.containers[0];

    it("runs `zeno up` with flags the CLI accepts, in cluster mode on the platform's Lease", () => {
      const up = COMMANDS.find((c) => c.name === 'up')!;
      const [cmd, ...rest] = container.args as string[];
      expect(cmd).toBe('up');
      const { values } = parseCommand(up, rest);
      expect(values).toMatchObject({ runtime: 'kubernetes', host: '0.0.0.0', lease: `${NAMESPACE}/zeno-controller` });
      expect(pod.spec.serviceAccountName).toBe(byKind('ServiceAccount')[0]!.metadata.name);
      // What it advertises (Broker addresses, Service URLs) is its gateway Service, on port 80.
      const gw = byKind('Service').find((x) => x.metadata.name === 'zeno-gateway')!;
      expect(values['gateway-url']).toBe(`http://${gw.metadata.name}.${NAMESPACE}.svc.cluster.local`);
      expect(gw.spec.ports[0].port).toBe(80);
      // Function pods get the sidecar from the platform image, which builds it (dist/functions/sidecar/main.js).
      expect(values['sidecar-image']).toBe(container.image);
      expect(fs.existsSync(path.join(ROOT, 'functions', 'sidecar', 'main.ts'))).toBe(true);
      // The data dir is the mounted volume, and the root filesystem is read-only.
      const dataDir = values['data-dir'];
      expect(container.volumeMounts.map((m: { mountPath: string }) => m.mountPath)).toContain(dataDir);
      expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    });

    it("every Service selects exactly one Deployment's pods and targets one of their named ports", () => {
      const services = byKind('Service');
      expect(services.map((s) => s.metadata.name).sort()).toEqual(['broker-ingress', CONTROL_SERVICE, 'zeno-admin', 'zeno-gateway'].sort());
      const pods = byKind('Deployment').map((d) => d.spec.template);
      const selected = (s: any, p: any) => Object.entries(s.spec.selector as Record<string, string>).every(([k, v]) => p.metadata.labels[k] === v); // eslint-disable-line @typescript-eslint/no-explicit-any
      for (const s of services) {
        const matching = pods.filter((p) => selected(s, p));
        expect(matching.length, `${s.metadata.name} selects one Deployment`).toBe(1);
        const ports = new Set((matching[0].spec.containers[0].ports as { name: string }[]).map((p) => p.name));
        for (const p of s.spec.ports) expect(ports.has(p.targetPort), `${s.metadata.name} → ${p.targetPort}`).toBe(true);
      }
      // Clients reach functions through the data plane; the replicas reach the control plane.
      const gw = services.find((s) => s.metadata.name === 'zeno-gateway')!;
      expect(selected(gw, pods.find((p) => p.metadata.labels['app.kubernetes.io/name'] === GATEWAY_APP))).toBe(true);
      for (const name of ['zeno-admin', CONTROL_SERVICE, 'broker-ingress']) expect(selected(services.find((s) => s.metadata.name === name), pod), name).toBe(true);
    });
  });

  describe('the data-plane Deployment (zeno up --role gateway)', () => {
    const deploy = byKind('Deployment').find((d) => d.metadata.name === GATEWAY_APP)!;
    const pod = deploy.spec.template;
    const container = pod.spec.containers[0];

    it('runs several replicas of `zeno up --role gateway` with flags the CLI accepts, following the control plane Service', () => {
      expect(deploy.spec.replicas).toBeGreaterThanOrEqual(2);
      const up = COMMANDS.find((c) => c.name === 'up')!;
      const [cmd, ...rest] = container.args as string[];
      expect(cmd).toBe('up');
      const { values } = parseCommand(up, rest);
      expect(values).toMatchObject({ role: 'gateway', host: '0.0.0.0' });
      expect(gatewayRoleConflict(values)).toBeUndefined();
      const control = byKind('Service').find((s) => s.metadata.name === CONTROL_SERVICE)!;
      const adminPort = control.spec.ports.find((p: { name: string }) => p.name === 'admin').port;
      expect(values['control-url']).toBe(`http://${CONTROL_SERVICE}.${NAMESPACE}.svc.cluster.local:${adminPort}`);
      // Forwarded broker/async calls go to the control URL's host on the control plane's gateway port: the Service must expose it.
      const controlPod = byKind('Deployment').find((d) => d.metadata.name !== GATEWAY_APP)!.spec.template;
      const cpArgs = parseCommand(up, (controlPod.spec.containers[0].args as string[]).slice(1)).values;
      expect(control.spec.ports.map((p: { port: number }) => p.port)).toContain(Number(cpArgs.port));
      expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    });

    it('is spread over nodes and kept at most one replica short by disruptions', () => {
      const pdb = byKind('PodDisruptionBudget').find((p) => p.metadata.name === GATEWAY_APP)!;
      expect(pdb.spec.maxUnavailable).toBe(1);
      expect(pdb.spec.selector.matchLabels).toEqual(deploy.spec.selector.matchLabels);
      expect(pod.spec.topologySpreadConstraints[0].labelSelector.matchLabels).toEqual(deploy.spec.selector.matchLabels);
    });

    it('has no Kubernetes API rights at all: its own ServiceAccount, bound to nothing, no token mounted', () => {
      expect(pod.spec.serviceAccountName).toBe(GATEWAY_SERVICE_ACCOUNT);
      expect(pod.spec.automountServiceAccountToken).toBe(false);
      const sa = byKind('ServiceAccount').find((s) => s.metadata.name === GATEWAY_SERVICE_ACCOUNT)!;
      expect(sa.automountServiceAccountToken).toBe(false);
      for (const b of [...byKind('RoleBinding'), ...byKind('ClusterRoleBinding')]) {
        expect((b.subjects as { name: string }[]).map((x) => x.name), b.metadata.name).not.toContain(GATEWAY_SERVICE_ACCOUNT);
      }
    });

    it('reads the same admin token Secret as the control plane, through --token-file', () => {
      const up = COMMANDS.find((c) => c.name === 'up')!;
      for (const d of byKind('Deployment')) {
        const c = d.spec.template.spec.containers[0];
        const file = parseCommand(up, (c.args as string[]).slice(1)).values['token-file'] as string;
        const mount = (c.volumeMounts as { name: string; mountPath: string }[]).find((m) => file.startsWith(`${m.mountPath}/`))!;
        expect(mount, `${d.metadata.name} mounts ${file}`).toBeDefined();
        const vol = (d.spec.template.spec.volumes as { name: string; secret?: { secretName: string } }[]).find((v) => v.name === mount.name)!;
        expect(vol.secret?.secretName, d.metadata.name).toBe(TOKEN_SECRET);
      }
    });
  });
});

/**
 * What the API server's structural validation would say about an object
 * (types and required fields), and fields it would prune: the subset of
 * OpenAPI these CRDs use.
 */
function schemaProblems(schema: Record<string, any>, value: unknown, at: string): string[] { // eslint-disable-line @typescript-eslint/no-explicit-any
  if (value === null || value === undefined) return [];
  const t = schema.type as string | undefined;
  const kindOf = (v: unknown) => (Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v === 'number' ? 'number' : typeof v);
  if (t && !(kindOf(value) === t || (t === 'number' && kindOf(value) === 'integer'))) return [`${at}: ${kindOf(value)}, the schema says ${t}`];
  const out: string[] = [];
  if (t === 'array' && schema.items) (value as unknown[]).forEach((v, i) => out.push(...schemaProblems(schema.items, v, `${at}[${i}]`)));
  if (t === 'object' || (!t && typeof value === 'object' && !Array.isArray(value))) {
    const obj = value as Record<string, unknown>;
    for (const r of schema.required ?? []) if (obj[r] === undefined) out.push(`${at}.${r}: required`);
    for (const [k, v] of Object.entries(obj)) {
      if (schema.properties?.[k]) out.push(...schemaProblems(schema.properties[k], v, `${at}.${k}`));
      else if (schema.additionalProperties) out.push(...schemaProblems(schema.additionalProperties, v, `${at}.${k}`));
      else if (!schema['x-kubernetes-preserve-unknown-fields'] && !(at.endsWith('.metadata') || schema === undefined)) out.push(`${at}.${k}: would be pruned`);
    }
  }
  return out;
}

// ---------------------------------------------------------------- RBAC

interface Access {
  verb: string;
  group: string;
  /** `deployments`, or with a subresource `deployments/scale`. */
  resource: string;
  namespace?: string;
  name?: string;
  where: string;
}

function allows(rule: PolicyRule, a: Access): boolean {
  return rule.apiGroups.includes(a.group) && rule.resources.includes(a.resource) && rule.verbs.includes(a.verb) && (!rule.resourceNames || (a.name !== undefined && rule.resourceNames.includes(a.name)));
}

/** Granted by the ClusterRole (anywhere) or by the Role in the platform namespace. */
function covered(a: Access): boolean {
  return RUNTIME_RULES.some((r) => allows(r, a)) || (a.namespace === NAMESPACE && NAMESPACE_RULES.some((r) => allows(r, a)));
}

/** client-node's method names: verb prefix → RBAC verb. */
const METHOD_VERBS: Record<string, string> = { list: 'list', read: 'get', create: 'create', replace: 'update', patch: 'patch', delete: 'delete' };
/** client-node's type names → API group and resource. A new one must be added here (and to the RBAC rules). */
const METHOD_RESOURCES: Record<string, [string, string]> = {
  Pod: ['', 'pods'],
  PodLog: ['', 'pods/log'],
  Service: ['', 'services'],
  ConfigMap: ['', 'configmaps'],
  Deployment: ['apps', 'deployments'],
  DeploymentScale: ['apps', 'deployments/scale'],
  DeploymentStatus: ['apps', 'deployments/status'],
  EndpointSlice: ['discovery.k8s.io', 'endpointslices'],
  Lease: ['coordination.k8s.io', 'leases'],
  HorizontalPodAutoscaler: ['autoscaling', 'horizontalpodautoscalers'],
};

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'dist' || e.name === 'test' || e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

/**
 * Source files that reach the API through client-node's generic
 * KubernetesObjectApi, whose resources are only known at run time: the
 * install cannot grant them in advance, so each is listed here with who does.
 */
const GENERIC_ACCESS: Record<string, string> = {
  'functions/kubernetes/apiserver-client.ts': "ApiServerSource: get/list/watch on what each source names; the operator grants it to zeno-controller (docs/kubernetes.md, 'RBAC the platform needs')",
};

/** Every Kubernetes API call in the platform's source that talks to the cluster through @kubernetes/client-node. */
function staticAccesses(): { accesses: Access[]; unknown: string[] } {
  const accesses: Access[] = [];
  const unknown: string[] = [];
  for (const file of sourceFiles(ROOT)) {
    const text = fs.readFileSync(file, 'utf8');
    if (!/from '@kubernetes\/client-node'/.test(text) || /import type \* as k8s/.test(text)) continue;
    const rel = path.relative(ROOT, file);
    for (const m of text.matchAll(/\.(list|read|create|replace|patch|delete)(Namespaced|Cluster)?([A-Z][A-Za-z]*?)(ForAllNamespaces)?\(/g)) {
      const res = METHOD_RESOURCES[m[3]!];
      if (!res) unknown.push(`${rel}: ${m[0]}`);
      else accesses.push({ verb: METHOD_VERBS[m[1]!]!, group: res[0], resource: res[1], where: `${rel}: ${m[0]}` });
    }
    // Watches by path (k8s.Watch): each path literal in a file that watches.
    if (/new k8s\.Watch\(/.test(text)) {
      for (const m of text.matchAll(/`\/api\/v1\/namespaces\/\$\{[^}]+\}\/([a-z]+)`|`\/apis\/([a-z0-9.]+)\/v[0-9a-z]+\/namespaces\/\$\{[^}]+\}\/([a-z]+)`/g)) {
        accesses.push({ verb: 'watch', group: m[2] ?? '', resource: m[1] ?? m[3]!, where: `${rel}: watch ${m[0]}` });
      }
    }
    // Logs (k8s.Log): pods/log.
    if (/new k8s\.Log\(/.test(text)) accesses.push({ verb: 'get', group: '', resource: 'pods/log', where: `${rel}: k8s.Log` });
  }
  return { accesses, unknown };
}

/** A request of the fake API server's log as an RBAC attribute set; undefined for non-resource paths (/version). */
function accessOf(r: RequestRecord): Access | undefined {
  const m = r.path.match(/^\/(?:api\/v1|apis\/([^/]+)\/[^/]+)(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?(?:\/([^/]+))?$/);
  if (!m) return undefined;
  const [, group = '', namespace, plural, name, sub] = m;
  const watch = /[?&]watch=(1|true)/.test(r.query);
  const verb = r.method === 'GET' ? (name ? 'get' : watch ? 'watch' : 'list') : r.method === 'POST' ? 'create' : r.method === 'PUT' ? 'update' : r.method === 'PATCH' ? 'patch' : name ? 'delete' : 'deletecollection';
  return { verb, group, resource: sub ? `${plural}/${sub}` : plural!, ...(namespace ? { namespace } : {}), ...(name ? { name } : {}), where: `${r.method} ${r.path}${r.query}` };
}

describe('RBAC covers what functions/kubernetes does, and nothing more', () => {
  // Runs the runtime through a revision's life on the fake API server: slower than the rest.
  let kube: FakeKubeServer;
  let dynamic: Access[] = [];

  beforeAll(async () => {
    // The runtime through a revision's life, and leader election through acquire, renew and release.
    kube = await startFakeKube();
    const kc = new k8s.KubeConfig();
    kc.loadFromString(kube.kubeconfig());
    const runtime = createKubernetesRuntime({ kubeConfig: kc });
    const t: PodTemplate = {
      id: 'team-a/rbac-00001', namespace: 'team-a', service: 'rbac', configuration: 'rbac', revision: 'rbac-00001',
      image: 'example.com/rbac:1', command: [], args: [], workingDir: '/unused', env: {}, containerPort: 8080, timeoutSeconds: 2,
    };
    runtime.deploy(t);
    const stop = runtime.followLogs(t.id, () => undefined);
    runtime.scale(t.id, 1);
    await waitFor(() => runtime.readyPods(t.id).length === 1, 10_000, { message: 'a ready pod' });
    await waitFor(() => kube.requests.some((r) => r.path.endsWith('/log')), 10_000, { message: 'logs followed' });
    runtime.scale(t.id, 0);
    await waitFor(() => kube.get('deployments', 'team-a', 'rbac-00001-deployment')?.spec.replicas === 0, 10_000, { message: 'scaled to 0' });
    stop();
    await runtime.remove(t.id);
    await runtime.close();
    // Knative's ConfigMaps followed in the platform namespace (functions/kubernetes/config-watch.ts).
    const seen: string[] = [];
    const cw = watchClusterConfigMaps({ kubeConfig: kc, namespace: NAMESPACE, names: KNOWN_CONFIG_MAPS, sink: { put: (cm) => seen.push(cm.metadata.name), delete: () => undefined } });
    await cw.start();
    await kc.makeApiClient(k8s.CoreV1Api).createNamespacedConfigMap({ namespace: NAMESPACE, body: { metadata: { name: 'config-gc' }, data: { 'min-non-active-revisions': '5' } } });
    await waitFor(() => seen.includes('config-gc'), 10_000, { message: 'config-gc followed' });
    cw.stop();
    const elector = new LeaderElector({ kubeConfig: kc, namespace: NAMESPACE, name: 'zeno-controller', identity: 'rbac-test' });
    await elector.step();
    await elector.step();
    expect(elector.isLeader()).toBe(true);
    await elector.stop();
    // The ConfigMap this test created stands for the operator's kubectl apply, not for the platform.
    dynamic = kube.requests
      .filter((r) => !(r.method === 'POST' && r.path === `/api/v1/namespaces/${NAMESPACE}/configmaps`))
      .map(accessOf)
      .filter((a): a is Access => a !== undefined);
  });
  afterAll(async () => {
    await kube?.close();
  });

  it('every request the runtime and leader election made is allowed', () => {
    expect(dynamic.length).toBeGreaterThan(8);
    expect(dynamic.filter((a) => !covered(a)).map((a) => `${a.verb} ${a.group}/${a.resource}: ${a.where}`)).toEqual([]);
  });

  it('every client-node call in the source is allowed (found by reading the code, so paths the run above missed count too)', () => {
    const { accesses, unknown } = staticAccesses();
    expect(unknown, 'a Kubernetes call of a type this test does not know: add it to METHOD_RESOURCES and the RBAC rules').toEqual([]);
    expect(accesses.length).toBeGreaterThan(8);
    // Static calls carry no namespace or name: Leases and ConfigMaps are read in the platform's own namespace.
    const asDeployed = accesses.map((a) => (a.resource === 'leases' || a.resource === 'configmaps' ? { ...a, namespace: NAMESPACE, name: 'zeno-controller' } : a));
    expect(asDeployed.filter((a) => !covered(a)).map((a) => `${a.verb} ${a.group}/${a.resource}: ${a.where}`)).toEqual([]);
  });

  it('generic access (resources known only at run time) is only where the docs say who grants it', () => {
    const generic = sourceFiles(ROOT)
      .filter((f) => /KubernetesObjectApi/.test(fs.readFileSync(f, 'utf8')))
      .map((f) => path.relative(ROOT, f))
      .sort();
    expect(generic).toEqual(Object.keys(GENERIC_ACCESS).sort());
  });

  it('every verb granted is used (least privilege)', () => {
    const used = [...dynamic, ...staticAccesses().accesses];
    const unused: string[] = [];
    for (const r of [...RUNTIME_RULES, ...NAMESPACE_RULES]) {
      for (const g of r.apiGroups) for (const res of r.resources) for (const v of r.verbs) {
        if (!used.some((a) => a.group === g && a.resource === res && a.verb === v)) unused.push(`${v} ${g}/${res}`);
      }
    }
    expect(unused).toEqual([]);
  });
});

// No docker in CI (nor a daemon on the dev machines): the Dockerfiles are
// checked for what can go stale without building them.
describe('deploy/docker/', () => {
  const files = ['platform.Dockerfile', 'node-runtime.Dockerfile'];
  const text = (f: string) => fs.readFileSync(path.join(ROOT, 'deploy', 'docker', f), 'utf8');

  it.each(files)('%s: every COPY from the build context and every file it deletes exists', (f) => {
    const t = text(f);
    const copies = [...t.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.trim().split(/\s+/));
    expect(copies.length).toBeGreaterThan(0);
    for (const src of copies) expect(fs.existsSync(path.join(ROOT, src)), `${f}: COPY ${src}`).toBe(true);
    for (const m of t.matchAll(/\brm (?:-f )?((?:functions|eventing)\/[\w/.-]+\.ts(?: [\w/.-]+\.ts)*)/g)) {
      for (const file of m[1]!.split(' ')) if (!file.includes('*')) expect(fs.existsSync(path.join(ROOT, file)), `${f}: rm ${file}`).toBe(true);
    }
  });

  it('the entry points are what the build emits, and the platform image runs what the Deployment asks for', () => {
    expect(text('platform.Dockerfile')).toContain('ENTRYPOINT ["node", "/zeno/dist/cli/main.js"]');
    expect(fs.existsSync(path.join(ROOT, 'cli', 'main.ts'))).toBe(true);
    // The Node runtime's image runs the one-file bundle `npm run build` writes (functions/node/bundle.ts, from runtime-main.ts).
    expect(text('node-runtime.Dockerfile')).toContain(`ENTRYPOINT ["node", "/zeno/dist/functions/node/${RUNTIME_BUNDLE_FILE}"]`);
    expect(fs.existsSync(path.join(ROOT, 'functions', 'node', 'runtime-main.ts'))).toBe(true);
    expect(fs.existsSync(path.join(ROOT, 'dist', 'functions', 'node', RUNTIME_BUNDLE_FILE)), 'npm run build writes the bundle').toBe(true);
    const deployment = installFiles().flatMap((f) => f.objects).find((o) => o.kind === 'Deployment')!;
    expect(deployment.spec.template.spec.containers[0].image).toMatch(/^ghcr\.io\/zeno\/platform:/);
    // The image's user is the Deployment's runAsUser (node:20's "node" is uid 1000).
    expect(text('platform.Dockerfile')).toMatch(/^USER node$/m);
    expect(deployment.spec.template.spec.securityContext.runAsUser).toBe(1000);
  });

  it('the node runtime imports nothing of the platform, so its image can leave the platform out', () => {
    for (const f of fs.readdirSync(path.join(ROOT, 'functions', 'node')).filter((n) => n.endsWith('.ts') && !n.endsWith('.test.ts') && n !== 'measure.ts')) {
      const src = fs.readFileSync(path.join(ROOT, 'functions', 'node', f), 'utf8');
      const imports = [...src.matchAll(/from '([^']+)'|import\('([^']+)'\)/g)].map((m) => m[1] ?? m[2]!);
      for (const i of imports) expect(i.startsWith('node:') || i.startsWith('./') || ['cloudevents', 'esbuild'].includes(i), `${f} imports ${i}`).toBe(true);
    }
  });
});
