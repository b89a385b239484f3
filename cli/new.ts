/**
 * `zeno new NAME --template T [--dir PARENT]`: writes a ready-to-deploy
 * function folder from templates/T (the Function YAML, the handler, a test
 * for it and a README), with `{{name}}` replaced by NAME everywhere.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { ZenoError } from '../core/errors.js';
import { isDns1035Label } from '../controller/validation/names.js';
import { str, UsageError, type ParsedValues } from './args.js';
import { packageRoot, type CliContext } from './context.js';

export const TEMPLATES = ['http', 'cloudevent', 'typescript', 'python'] as const;
export type TemplateName = (typeof TEMPLATES)[number];
export const DEFAULT_TEMPLATE: TemplateName = 'http';

/** How to run each template's tests, for the message after `zeno new`. */
const TEST_COMMAND: Record<TemplateName, string> = {
  http: 'npm test',
  cloudevent: 'npm test',
  typescript: 'npm install && npm test',
  python: 'python3 -m unittest',
};

/** The templates folder shipped with the package (`<root>/templates`). */
export function templatesDir(): string {
  const root = packageRoot();
  if (!root) throw new ZenoError('ZENO_ERR_INTERNAL', 'cannot find the zeno package folder, so no templates');
  return join(root, 'templates');
}

export function isTemplateName(t: string): t is TemplateName {
  return (TEMPLATES as readonly string[]).includes(t);
}

/** Replaces every `{{name}}`; templates have no other placeholder. */
export function renderTemplateText(text: string, name: string): string {
  return text.replaceAll('{{name}}', name);
}

/**
 * Writes `<parent>/<name>/` from `<templates>/<template>/` and returns the
 * files written, relative to the new folder. Refuses a folder that exists
 * and is not empty (nothing is overwritten) and a name that cannot be a
 * Function's (a DNS-1035 label: it becomes the host name).
 */
export function createFunctionFolder(opts: { name: string; template: TemplateName; parent: string; templates: string }): { dir: string; files: string[] } {
  const problems = isDns1035Label(opts.name);
  if (problems.length) throw new UsageError(`invalid function name ${JSON.stringify(opts.name)}: ${problems.join('; ')}`);
  const dir = resolve(opts.parent, opts.name);
  let existing: string[] | undefined;
  try {
    existing = statSync(dir).isDirectory() ? readdirSync(dir) : ['(a file)'];
  } catch {
    existing = undefined;
  }
  if (existing && existing.length) {
    throw new ZenoError('ZENO_ERR_BAD_REQUEST', `${dir} already exists and is not empty; choose another name or --dir`);
  }
  const src = join(opts.templates, opts.template);
  const files = listFiles(src);
  mkdirSync(dir, { recursive: true });
  for (const f of files) {
    const target = join(dir, f);
    mkdirSync(resolve(target, '..'), { recursive: true });
    writeFileSync(target, renderTemplateText(readFileSync(join(src, f), 'utf8'), opts.name));
  }
  return { dir, files };
}

function listFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(dir, prefix), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const rel = prefix ? join(prefix, e.name) : e.name;
    if (e.isDirectory()) out.push(...listFiles(dir, rel));
    else if (e.isFile()) out.push(rel);
  }
  return out;
}

export async function runNew(ctx: CliContext, values: ParsedValues, args: string[]): Promise<number> {
  const name = args[0]!;
  const template = str(values, 'template') ?? DEFAULT_TEMPLATE;
  if (!isTemplateName(template)) throw new UsageError(`unknown template "${template}"; use one of: ${TEMPLATES.join(', ')}`);
  const parent = resolve(ctx.cwd, str(values, 'dir') ?? '.');
  const { dir, files } = createFunctionFolder({ name, template, parent, templates: templatesDir() });
  const shown = relative(ctx.cwd, dir) || '.';
  for (const f of files) ctx.out(`created ${join(shown, f)}\n`);
  ctx.out(
    `\nNext:\n` +
      `  cd ${shown} && ${TEST_COMMAND[template]}   # run its tests\n` +
      `  zeno apply -f ${shown}                        # deploy it (with "zeno up" running)\n` +
      `  zeno invoke ${name}                           # call it\n`,
  );
  return 0;
}
