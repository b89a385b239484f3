/**
 * The dashboard in a real headless Chromium (Debian's /usr/bin/chromium,
 * driven by playwright-core) against a real `zeno up`: log in with the
 * token link, see a deployed service, send it traffic and watch its replica
 * count change on the page. Keeps a screenshot in test-artifacts/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, httpCall, runCli, serviceYaml, startZeno, tempDir, writeYaml, type RunningZeno } from './support/zeno.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(ROOT, 'test-artifacts');

let zeno: RunningZeno;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: the dashboard test needs Debian's chromium (apt-get update && apt-get install -y chromium; .ci/run installs it)`);
  }
  const work = tempDir('zeno-dash-');
  zeno = await startZeno({ dataDir: path.join(work, 'data') });
  const f = writeYaml(work, 'svc.yaml', [
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-autoscaler\ndata:\n  allow-zero-initial-scale: "true"\n',
    serviceYaml('dash', {
      command: ['node', 'echo.js'],
      workingDir: path.join(ROOT, 'test/fixtures/functions'),
      annotations: { 'autoscaling.knative.dev/initial-scale': '0' },
    }),
  ].join('---\n'));
  const r = await runCli(['apply', '-f', f], zeno.dataDir);
  expect(r.code, r.stderr).toBe(0);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
});

afterAll(async () => {
  await browser?.close();
  await zeno?.stop();
});

describe('dashboard in Chromium', () => {
  it('logs in with the link from `zeno dashboard` and drops the token from the address', async () => {
    const cli = await runCli(['dashboard'], zeno.dataDir);
    expect(cli.code, cli.stderr).toBe(0);
    const url = cli.stdout.trim();
    expect(url).toBe(`${zeno.adminUrl}/ui/?token=${zeno.token}`);
    await page.goto(url);
    expect(page.url()).toBe(`${zeno.adminUrl}/ui/`);
    const cookies = await page.context().cookies();
    expect(cookies).toEqual([expect.objectContaining({ name: 'zeno_ui', httpOnly: true, sameSite: 'Strict', path: '/ui' })]);
    expect(cookies[0]!.value).not.toContain(zeno.token);
  });

  it('shows the service and its replica count change when traffic arrives', async () => {
    const ready = page.getByTestId('ready-default-dash');
    await ready.waitFor({ timeout: 10_000 });
    await expect.poll(() => ready.textContent(), { timeout: 10_000 }).toBe('0');
    await expect.poll(() => page.locator('#conn').textContent(), { timeout: 10_000 }).toBe('live');

    // A cold start: the first request starts the pod.
    const r = await httpCall(`${zeno.gatewayUrl}/`, { host: 'dash.default.localhost' });
    expect(r.status).toBe(200);
    // Live updates (SSE) bring the new count without a reload.
    await expect.poll(() => ready.textContent(), { timeout: 10_000 }).toBe('1');
    await expect.poll(() => page.getByTestId('desired-default-dash').textContent(), { timeout: 10_000 }).toBe('1');
    await expect.poll(() => page.locator('#cold-starts tbody tr').count(), { timeout: 10_000 }).toBe(1);
    expect(await page.locator('#cold-starts tbody tr').first().textContent()).toContain('default/dash-00001');
    // The chart has drawn the replica line.
    await expect.poll(() => page.locator('[data-chart="default/dash"] svg path').count(), { timeout: 10_000 }).toBe(3);

    // The pod's logs, chosen from the list.
    await page.selectOption('#log-service', 'default/dash');
    await expect.poll(async () => (await page.locator('#log-pod option').count()) > 1, { timeout: 10_000 }).toBe(true);

    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    expect(fs.statSync(path.join(ARTIFACTS, 'dashboard.png')).size).toBeGreaterThan(1000);
  });

  it('shows an empty state for brokers when there are none', async () => {
    await expect.poll(() => page.locator('#eventing').textContent(), { timeout: 10_000 }).toContain('No brokers');
  });
});
