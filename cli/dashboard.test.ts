import { describe, expect, it } from 'vitest';
import { dashboardUrl, openerFor } from './dashboard.js';

describe('zeno dashboard', () => {
  it('builds the login URL on the admin port, token encoded', () => {
    expect(dashboardUrl('http://127.0.0.1:8081/', 'ab12')).toBe('http://127.0.0.1:8081/ui/?token=ab12');
    expect(dashboardUrl('http://[::1]:8081', 'a b&c')).toBe('http://[::1]:8081/ui/?token=a%20b%26c');
  });

  it.each([
    ['linux', 'xdg-open'],
    ['darwin', 'open'],
    ['win32', 'cmd'],
  ] as const)('opens a browser on %s with %s', (platform, command) => {
    expect(openerFor(platform).command).toBe(command);
  });
});
