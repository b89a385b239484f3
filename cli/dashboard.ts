/** `zeno dashboard`: the dashboard's login URL, optionally opened in a browser. */
import { spawn } from 'node:child_process';
import { bool, type ParsedValues } from './args.js';
import { readPlatformAddress } from './client.js';
import { dataDirOf, type CliContext } from './context.js';

/** The one-time login URL: /ui/?token= sets the dashboard cookie and redirects to /ui/. */
export function dashboardUrl(adminUrl: string, token: string): string {
  return `${adminUrl.replace(/\/+$/, '')}/ui/?token=${encodeURIComponent(token)}`;
}

/** The desktop's "open this URL" command for a platform. */
export function openerFor(platform: NodeJS.Platform): { command: string; args: string[] } {
  if (platform === 'darwin') return { command: 'open', args: [] };
  if (platform === 'win32') return { command: 'cmd', args: ['/c', 'start', '""'] };
  return { command: 'xdg-open', args: [] };
}

export async function runDashboard(ctx: CliContext, values: ParsedValues): Promise<number> {
  const address = await readPlatformAddress(dataDirOf(ctx, values));
  const url = dashboardUrl(address.adminUrl, address.token);
  ctx.out(`${url}\n`);
  if (!bool(values, 'open')) return 0;
  const { command, args } = openerFor(process.platform);
  const opened = await new Promise<boolean>((resolve) => {
    try {
      const p = spawn(command, [...args, url], { stdio: 'ignore', detached: true });
      p.once('error', () => resolve(false));
      p.once('spawn', () => {
        p.unref();
        resolve(true);
      });
    } catch {
      resolve(false);
    }
  });
  if (!opened) ctx.err(`could not run ${command}; open the URL above in a browser\n`);
  return 0;
}
