/**
 * Every command's flags and help text, in one place so `zeno --help`,
 * `zeno COMMAND --help` and docs/cli.md stay in step.
 */
import { PLATFORM_DEFAULTS } from '../core/config/platform.js';
import { COMMON_OPTIONS, type CommandSpec, type OptionSpec } from './args.js';
import { kindNames } from './kinds.js';

const namespace: OptionSpec = { type: 'string', short: 'n', arg: 'NS', default: 'default (knative-serving for configmaps)', help: 'namespace' };
const noWait: OptionSpec = { type: 'boolean', help: 'return at once instead of waiting' };
const wait: OptionSpec = { type: 'boolean', help: 'wait (the default; progress goes to stderr)' };
const timeout: OptionSpec = { type: 'string', arg: 'DURATION', default: `${PLATFORM_DEFAULTS.applyWaitMs / 1000}s`, help: 'how long to wait (Go duration: 90s, 2m)' };
const filename: OptionSpec = { type: 'string', short: 'f', multiple: true, arg: 'FILE|DIR', help: 'manifest file, or folder searched recursively for *.yaml/*.yml (repeatable)' };

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'up',
    summary: 'Start the platform in the foreground',
    usage: 'up [flags]',
    minArgs: 0,
    maxArgs: 0,
    description:
      'Starts the gateway, the admin API, the autoscaler and the activator in this process and\n' +
      'writes the admin URL, token and gateway URL into the data dir. Ctrl-C or SIGTERM stops it\n' +
      'gracefully (requests in flight finish, function processes get SIGTERM).',
    options: {
      port: { type: 'string', arg: 'PORT', default: String(PLATFORM_DEFAULTS.gatewayPort), help: 'gateway port; 0 picks a free one' },
      'admin-port': { type: 'string', arg: 'PORT', default: String(PLATFORM_DEFAULTS.adminPort), help: 'admin API port; 0 picks a free one' },
      host: { type: 'string', arg: 'HOST', default: PLATFORM_DEFAULTS.host, help: 'address to listen on' },
      'gateway-url': { type: 'string', arg: 'URL', default: 'http://HOST:PORT', help: 'the URL clients reach the gateway at (e.g. its Kubernetes Service), when not HOST:PORT: used in Broker and Channel addresses and Service URLs' },
      config: { type: 'string', multiple: true, arg: 'FILE', help: 'YAML file of ConfigMaps (config-autoscaler, config-defaults, ...) to apply at start (repeatable)' },
      examples: { type: 'boolean', help: 'deploy functions/examples/*/service.yaml once started and print how to call them' },
      'warm-pool': { type: 'string', arg: 'N', default: String(PLATFORM_DEFAULTS.warmPoolSize), help: 'generic Node runtime processes kept warm for Functions; 0 turns the pool off' },
      runtime: { type: 'string', arg: 'RUNTIME', default: 'local', help: 'where functions run: "local" (child processes) or "kubernetes" (a Deployment per revision, through the kubeconfig)' },
      kubeconfig: { type: 'string', arg: 'FILE', help: 'with --runtime kubernetes: the kubeconfig (default $KUBECONFIG, then ~/.kube/config); its current context is used' },
      lease: { type: 'string', arg: 'NAMESPACE/NAME', default: `the context's namespace/${PLATFORM_DEFAULTS.leaseName}`, help: 'with --runtime kubernetes: the Lease instances campaign for; only its holder runs the reconciler and autoscaler' },
      'no-leader-election': { type: 'boolean', help: 'with --runtime kubernetes: lead without a Lease (only when no other instance runs against the cluster)' },
      'sidecar-image': { type: 'string', arg: 'IMAGE', help: "with --runtime kubernetes: put Zeno's queue-proxy-style sidecar (from this image, e.g. the platform image) in every function pod, holding each pod to containerConcurrency when several gateways share it" },
      nats: { type: 'string', arg: 'URL', help: 'keep the durable event log in NATS JetStream at URL (nats://HOST:PORT) instead of the data dir; instances on one NATS share the work' },
      'nats-prefix': { type: 'string', arg: 'NAME', default: 'zeno', help: 'names the JetStream stream (NAME-events) and subjects, so several deployments can share one NATS' },
      'access-log': { type: 'boolean', help: 'print one JSON line per gateway request on stdout (request id, trace id, status, duration, revision)' },
      'headers-timeout': { type: 'string', arg: 'DURATION', default: `${PLATFORM_DEFAULTS.headersTimeoutMs / 1000}s`, help: 'a client must send its whole request head within this (slowloris protection; 408 after it)' },
      'lean-server': { type: 'string', arg: 'on|off', default: 'on', help: "serve plain GET/HEAD requests to warm functions on the gateway's lean server (less CPU per request); off: Node's HTTP server for every request" },
      role: { type: 'string', arg: 'ROLE', default: 'all', help: '"all": the whole platform in this process; "gateway": a stateless data-plane replica (gateway and activator only) that routes by --control-url and reports its stats there' },
      'control-url': { type: 'string', arg: 'URL', help: "with --role gateway: the control plane's admin API (e.g. http://zeno-control.zeno-system.svc:8081)" },
      'token-file': { type: 'string', arg: 'FILE', default: '$ZENO_TOKEN, else random (role all)', help: "the admin API's bearer token: role all serves with it, role gateway presents it to --control-url" },
    },
    examples: ['zeno up', 'zeno up --role gateway --port 8090 --control-url http://127.0.0.1:8081 --token-file .zeno/token', 'zeno up --port 9080 --admin-port 9081 --data-dir /tmp/zeno', 'zeno up --config deploy/config-autoscaler.yaml', 'zeno up --nats nats://127.0.0.1:4222', 'zeno up --runtime kubernetes --kubeconfig ~/.kube/config'],
  },
  {
    name: 'apply',
    summary: 'Create or update resources from YAML files',
    usage: 'apply -f FILE|DIR [-f ...] [flags]',
    minArgs: 0,
    maxArgs: 0,
    description:
      'Validates every document locally first (nothing is sent if one is invalid), then applies\n' +
      'all of them in one transaction and waits until each Service is Ready.',
    options: {
      filename,
      namespace: { ...namespace, help: 'namespace for objects whose manifest names none' },
      wait,
      'no-wait': noWait,
      timeout,
      'dry-run': { type: 'boolean', help: 'let the platform validate without storing anything' },
    },
    examples: ['zeno apply -f hello/service.yaml', 'zeno apply -f functions/examples --no-wait'],
  },
  {
    name: 'delete',
    summary: 'Delete resources by file or by kind and name',
    usage: 'delete (-f FILE|DIR | KIND NAME) [flags]',
    minArgs: 0,
    maxArgs: 2,
    options: {
      filename,
      namespace,
      wait,
      'no-wait': noWait,
      timeout,
      'ignore-not-found': { type: 'boolean', help: 'do not fail when a resource does not exist' },
    },
    examples: ['zeno delete -f hello/service.yaml', 'zeno delete service hello', 'zeno delete ksvc hello -n team-a --no-wait'],
  },
  {
    name: 'scale',
    summary: "Set a service's scale bounds and wait for its replicas",
    usage: 'scale NAME (--replicas N | --min N | --max N) [flags]',
    minArgs: 1,
    maxArgs: 1,
    description:
      'Sets autoscaling.knative.dev/min-scale and max-scale on the Service\'s revision template (as\n' +
      'kn service update --scale-min/--scale-max/--scale do: a new Revision is created), then waits\n' +
      'until the Service is Ready and its new Revision has that many ready replicas. --max 0 means\n' +
      'no upper bound, --min 0 lets it scale to zero. Services of a Function are scaled in the\n' +
      'Function\'s manifest instead.',
    options: {
      namespace,
      replicas: { type: 'string', arg: 'N', help: 'exactly N replicas (min-scale = max-scale = N, N ≥ 1)' },
      min: { type: 'string', arg: 'N', help: 'at least N replicas (autoscaling.knative.dev/min-scale)' },
      max: { type: 'string', arg: 'N', help: 'at most N replicas, 0 for no limit (autoscaling.knative.dev/max-scale)' },
      wait,
      'no-wait': noWait,
      timeout,
    },
    examples: ['zeno scale hello --replicas 3', 'zeno scale hello --min 0 --max 10', 'zeno scale hello --min 1 --no-wait'],
  },
  {
    name: 'get',
    summary: 'List resources, or show one',
    usage: 'get KIND [NAME] [flags]',
    minArgs: 1,
    maxArgs: 2,
    description: `KIND is one of: ${kindNames()}.`,
    options: {
      namespace,
      'all-namespaces': { type: 'boolean', short: 'A', help: 'list across all namespaces' },
      output: { type: 'string', short: 'o', arg: 'FORMAT', help: 'json, yaml or wide (default: a table)' },
    },
    examples: ['zeno get ksvc', 'zeno get revisions -A', 'zeno get service hello -o yaml'],
  },
  {
    name: 'describe',
    summary: 'Show a resource in detail, with conditions and events',
    usage: 'describe KIND NAME [flags]',
    minArgs: 2,
    maxArgs: 2,
    description: `KIND is one of: ${kindNames()}.`,
    options: {
      namespace,
      output: { type: 'string', short: 'o', arg: 'FORMAT', help: 'json or yaml: {object, conditions, events} (default: text)' },
    },
    examples: ['zeno describe service hello', 'zeno describe rev hello-00001', 'zeno describe trigger orders -o yaml'],
  },
  {
    name: 'top',
    summary: 'Show live replicas, requests per second and latency per service',
    usage: 'top [flags]',
    minArgs: 0,
    maxArgs: 0,
    description:
      'Per Service: READY, REPLICAS (ready/desired pods), RPS, P50 and P99 latency over the last\n' +
      `${PLATFORM_DEFAULTS.topWindowMs / 1000} seconds, and requests IN FLIGHT and QUEUED in the activator now. On a terminal\n` +
      'the table is redrawn every second until Ctrl-C; with --once, -o, or when the output is not a\n' +
      'terminal, it is printed once.',
    options: {
      namespace,
      'all-namespaces': { type: 'boolean', short: 'A', help: 'services of every namespace' },
      once: { type: 'boolean', help: 'print one table and exit' },
      output: { type: 'string', short: 'o', arg: 'FORMAT', help: 'json or yaml (implies --once)' },
    },
    examples: ['zeno top', 'zeno top --once -A', 'zeno top -o json'],
  },
  {
    name: 'invoke',
    summary: 'Call a function through the gateway',
    usage: 'invoke NAME [flags]',
    minArgs: 1,
    maxArgs: 1,
    description:
      'Sends the request to /function/NAME.NS/PATH on the gateway (POST when there is data,\n' +
      'GET otherwise) and prints the response body. Exits 1 when the status is 400 or above.\n' +
      'With --async it POSTs to /async-function/NAME.NS/PATH instead and prints the call id\n' +
      '(X-Call-Id); the result goes to --callback, if given (docs/async.md).',
    options: {
      namespace,
      data: { type: 'string', short: 'd', arg: 'DATA', help: 'request body; @FILE reads it from a file' },
      method: { type: 'string', short: 'X', arg: 'METHOD', help: 'HTTP method (default: POST with --data, else GET)' },
      path: { type: 'string', arg: 'PATH', default: '/', help: 'path (and query) inside the function' },
      header: { type: 'string', short: 'H', multiple: true, arg: "'NAME: VALUE'", help: 'request header (repeatable)' },
      async: { type: 'boolean', help: 'queue the call (/async-function/) and print its call id' },
      callback: { type: 'string', arg: 'URL', help: 'with --async: where the result is POSTed (X-Callback-Url)' },
    },
    examples: ['zeno invoke hello', 'zeno invoke slow --async --callback http://127.0.0.1:9000/done', `zeno invoke echo --data '{"a":1}' -H 'Content-Type: application/json'`, 'zeno invoke hello --path /greet?name=ada'],
  },
  {
    name: 'events',
    summary: 'Send a CloudEvent to a Broker',
    usage: 'events send --broker NAME --type TYPE --source SOURCE [flags]',
    minArgs: 1,
    maxArgs: 1,
    description:
      'POSTs one CloudEvent (binary content mode) to the Broker\'s ingress on the gateway,\n' +
      '/brokers/NS/NAME, and prints its id once the broker accepted it (202: it is on disk and\n' +
      'will reach every matching Trigger). Data that parses as JSON is sent as application/json.',
    options: {
      namespace,
      broker: { type: 'string', short: 'b', arg: 'NAME', help: 'the Broker (required)' },
      type: { type: 'string', short: 't', arg: 'TYPE', help: 'the event\'s type attribute (required)' },
      source: { type: 'string', short: 's', arg: 'SOURCE', help: 'the event\'s source attribute, a URI-reference (required)' },
      id: { type: 'string', arg: 'ID', default: 'a random UUID', help: 'the event\'s id attribute' },
      subject: { type: 'string', arg: 'SUBJECT', help: 'the event\'s subject attribute' },
      data: { type: 'string', short: 'd', arg: 'DATA', help: 'the event\'s data (JSON or text)' },
      'data-file': { type: 'string', arg: 'FILE', help: 'read the data from a file' },
      'content-type': { type: 'string', arg: 'TYPE', help: 'datacontenttype (default: guessed from the data)' },
      extension: { type: 'string', short: 'e', multiple: true, arg: 'NAME=VALUE', help: 'an extension attribute (repeatable)' },
    },
    examples: [
      `zeno events send --broker default --type com.example.order --source /shop --data '{"id":1}'`,
      'zeno events send -b default -t com.example.ping -s /cli -e priority=high --data-file ./event.json',
    ],
  },
  {
    name: 'logs',
    summary: "Print a service's function logs",
    usage: 'logs NAME [flags]',
    minArgs: 1,
    maxArgs: 1,
    options: {
      namespace,
      follow: { type: 'boolean', short: 'f', help: 'keep streaming new lines' },
      tail: { type: 'string', arg: 'N', help: 'only the last N lines' },
    },
    examples: ['zeno logs hello', 'zeno logs hello -f --tail 20'],
  },
  {
    name: 'dashboard',
    summary: 'Print the dashboard URL (with --open, open it in a browser)',
    usage: 'dashboard [--open]',
    minArgs: 0,
    maxArgs: 0,
    description:
      'Prints the URL of the dashboard on the admin port, with the admin token in it. Opening it\n' +
      'once sets a browser cookie (HttpOnly, SameSite=Strict, for /ui only) and drops the token\n' +
      'from the address; keep the printed URL private, as you would the token.',
    options: {
      open: { type: 'boolean', help: 'also open it with the desktop browser (xdg-open, open or start)' },
    },
    examples: ['zeno dashboard', 'zeno dashboard --open'],
  },
  {
    name: 'new',
    summary: 'Create a function folder from a template',
    usage: 'new NAME [--template http|cloudevent|typescript|python] [--dir PARENT]',
    minArgs: 1,
    maxArgs: 1,
    description:
      'Writes PARENT/NAME/ with function.yaml (a zeno.dev/v1 Function), the handler, a test for it\n' +
      'and a README. "zeno apply -f NAME" deploys it as it is. Refuses a folder that is not empty.',
    options: {
      template: { type: 'string', short: 't', arg: 'TEMPLATE', default: 'http', help: 'http, cloudevent, typescript or python' },
      dir: { type: 'string', arg: 'PARENT', default: '.', help: 'folder to create NAME/ in' },
    },
    examples: ['zeno new hello', 'zeno new greeter --template typescript', 'zeno new worker --template python --dir functions'],
  },
  {
    name: 'completion',
    summary: 'Print a shell completion script (bash, zsh or fish)',
    usage: 'completion bash|zsh|fish',
    minArgs: 1,
    maxArgs: 1,
    description:
      'Completes commands, flags, kinds, flag values and the names of resources of the running\n' +
      'platform (asked through the admin API, so the data dir must point at it). The script calls\n' +
      '"zeno", which must be on PATH (e.g. after "npm link" or "npm install -g").',
    options: {},
    examples: ['source <(zeno completion bash)', 'zeno completion zsh > "${fpath[1]}/_zeno"', 'zeno completion fish > ~/.config/fish/completions/zeno.fish'],
  },
  {
    name: 'version',
    summary: 'Print the CLI version',
    usage: 'version',
    minArgs: 0,
    maxArgs: 0,
    options: {},
  },
  {
    name: 'help',
    summary: 'Show help for a command',
    usage: 'help [COMMAND]',
    minArgs: 0,
    maxArgs: 1,
    options: {},
  },
];

export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}

export function renderMainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'zeno: Knative-style scale-to-zero functions on one machine',
    '',
    'Usage: zeno COMMAND [flags]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}   ${c.summary}`),
    '',
    'Flags for every command:',
    ...renderOptions(COMMON_OPTIONS),
    '',
    'The CLI finds a running platform through --data-dir or ZENO_DATA_DIR (default: .zeno).',
    'Run "zeno COMMAND --help" for the flags of a command.',
    '',
  ].join('\n');
}

export function renderCommandHelp(spec: CommandSpec): string {
  const lines = [`${spec.summary}.`, '', `Usage: zeno ${spec.usage}`];
  if (spec.description) lines.push('', spec.description);
  if (Object.keys(spec.options).length) lines.push('', 'Flags:', ...renderOptions(spec.options));
  lines.push('', 'Common flags:', ...renderOptions(COMMON_OPTIONS));
  if (spec.examples?.length) lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  lines.push('');
  return lines.join('\n');
}

function renderOptions(options: Record<string, OptionSpec>): string[] {
  const left = Object.entries(options).map(([name, o]) => {
    const short = o.short ? `-${o.short}, ` : '    ';
    const arg = o.type === 'string' ? ` ${o.arg ?? 'VALUE'}` : '';
    return `  ${short}--${name}${arg}`;
  });
  const width = Math.max(...left.map((l) => l.length));
  return Object.values(options).map((o, i) => {
    const notes = [o.multiple && !o.help.includes('repeatable') ? 'repeatable' : '', o.default !== undefined ? `default ${o.default}` : ''].filter(Boolean);
    return `${left[i]!.padEnd(width)}   ${o.help}${notes.length ? ` (${notes.join(', ')})` : ''}`;
  });
}
