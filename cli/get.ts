/** `zeno get` and `zeno describe`. */
import { ZenoError } from '../core/errors.js';
import { bool, str, UsageError, type ParsedValues } from './args.js';
import type { EventItem } from './client.js';
import { connect, type CliContext } from './context.js';
import { unknownKind, resolveKind, type KindInfo } from './kinds.js';
import { parseOutputFormat, renderDescribe, renderDescribeData, renderObjects, renderTable } from './output.js';

function kindArg(name: string): KindInfo {
  const kind = resolveKind(name);
  if (!kind) throw new UsageError(unknownKind(name));
  return kind;
}

function notFound(kind: KindInfo, name: string, namespace: string): ZenoError {
  return new ZenoError('ZENO_ERR_RESOURCE_NOT_FOUND', `${kind.singular} "${name}" not found in namespace "${namespace}" (list them with "zeno get ${kind.plural} -A")`);
}

export async function runGet(ctx: CliContext, values: ParsedValues, args: string[]): Promise<number> {
  const kind = kindArg(args[0]!);
  const name = args[1];
  const format = parseOutputFormat(str(values, 'output'));
  if (!format) throw new UsageError(`flag -o: "${str(values, 'output')}" is not one of json, yaml, wide`);
  const all = bool(values, 'all-namespaces');
  if (all && name) throw new UsageError('a resource cannot be fetched by name across all namespaces; use -n NS instead of -A');
  const namespace = all ? undefined : (str(values, 'namespace') ?? kind.defaultNamespace);
  const { client } = await connect(ctx, values);

  if (name) {
    const obj = await client.getObject(kind, namespace!, name);
    if (!obj) throw notFound(kind, name, namespace!);
    ctx.out(format === 'json' || format === 'yaml' ? renderObjects(kind, obj, format) : renderTable(kind, [obj], { nowMs: ctx.clock.now(), wide: format === 'wide' }));
    return 0;
  }
  const items = await client.list(kind, namespace);
  if (format === 'json' || format === 'yaml') {
    ctx.out(renderObjects(kind, items, format));
  } else if (!items.length) {
    ctx.err(`No ${kind.plural} found${namespace ? ` in namespace ${namespace}` : ''}.\n`);
  } else {
    ctx.out(renderTable(kind, items, { nowMs: ctx.clock.now(), wide: format === 'wide', allNamespaces: all }));
  }
  return 0;
}

export async function runDescribe(ctx: CliContext, values: ParsedValues, args: string[]): Promise<number> {
  const kind = kindArg(args[0]!);
  const name = args[1]!;
  const format = parseOutputFormat(str(values, 'output'));
  if (format !== 'table' && format !== 'json' && format !== 'yaml') throw new UsageError(`flag -o: "${str(values, 'output')}" is not one of json, yaml`);
  const namespace = str(values, 'namespace') ?? kind.defaultNamespace;
  const { client } = await connect(ctx, values);
  const obj = await client.getObject(kind, namespace, name);
  if (!obj) throw notFound(kind, name, namespace);
  // Events are a nice-to-have: describe still shows the object when they cannot be read.
  const events: EventItem[] | string = await client.events(namespace, kind.kind, name).catch((e: Error) => e.message);
  ctx.out(format === 'table' ? renderDescribe(kind, obj, events, ctx.clock.now()) : renderDescribeData(kind, obj, events, format));
  return 0;
}
