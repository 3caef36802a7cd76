// The gateway's own origins: which Origin headers count as the gateway's page, and which do not
// (another port, a sibling subdomain, a lookalike, a header that is not an origin at all).
import { describe, expect, it } from 'vitest';
import { GatewayOrigins, isUnsafeMethod, normalizeOrigin, originOf } from '../../gateway/http/origins.js';

describe('normalizeOrigin', () => {
  it('takes an origin as browsers send it, lower-cased', () => {
    expect(normalizeOrigin('https://gw.example:8443')).toBe('https://gw.example:8443');
    expect(normalizeOrigin('https://GW.example')).toBe('https://gw.example');
    expect(normalizeOrigin('https://[::1]:8443')).toBe('https://[::1]:8443');
  });

  it('refuses what is not an origin', () => {
    for (const bad of ['null', '', 'gw.example', 'https://gw.example/', 'https://gw.example/x', 'https://u:p@gw.example',
      'https://gw.example?x', 'file:///etc', 'javascript:alert(1)', 'https://a.example https://b.example', 'https://gw.example:443',
      'https://' + 'a'.repeat(600) + '.example']) {
      expect(normalizeOrigin(bad), bad).toBeNull();
    }
  });

  it('cuts a configured URL down to its origin', () => {
    expect(originOf('https://gw.example:8443/console#x')).toBe('https://gw.example:8443');
    expect(originOf('ftp://gw.example')).toBeNull();
    expect(originOf('not a url')).toBeNull();
  });
});

describe('GatewayOrigins', () => {
  const own = new GatewayOrigins(() => ['https://127.0.0.1:8443', null, 'https://pam.example.com/', 'junk']);

  it('accepts the public URL, the configured extras and the address the browser reached', () => {
    expect(own.check('https://127.0.0.1:8443', '127.0.0.1:8443')).toEqual({ ok: true, origin: 'https://127.0.0.1:8443' });
    expect(own.check('https://pam.example.com', 'backend:8443').ok).toBe(true);
    // The console opened as https://localhost:8443: same origin as the listener under that name.
    expect(own.check('https://localhost:8443', 'localhost:8443').ok).toBe(true);
    expect(own.list()).toEqual(['https://127.0.0.1:8443', 'https://pam.example.com']);
  });

  it('refuses another port, a sibling subdomain, plain http and a missing Origin', () => {
    expect(own.check('https://127.0.0.1:9999', '127.0.0.1:8443')).toEqual({ ok: false, reason: 'foreign', origin: 'https://127.0.0.1:9999' });
    expect(own.check('https://evil.example.com', 'pam.example.com')).toMatchObject({ ok: false, reason: 'foreign' });
    expect(own.check('http://127.0.0.1:8443', '127.0.0.1:8443')).toMatchObject({ ok: false, reason: 'foreign' });
    expect(own.check(undefined, '127.0.0.1:8443')).toEqual({ ok: false, reason: 'missing', origin: null });
    expect(own.check('null', '127.0.0.1:8443')).toMatchObject({ ok: false, reason: 'malformed' });
    expect(own.check(['https://127.0.0.1:8443', 'https://127.0.0.1:8443'], '127.0.0.1:8443')).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('does not let a crafted Host header make a foreign origin its own', () => {
    expect(own.check('https://evil.example', 'evil.example@127.0.0.1').ok).toBe(false);
    expect(own.check('https://evil.example', 'evil.example/x').ok).toBe(false);
  });

  it('reads the fixed origins per check (serve binds its port after the API exists)', () => {
    let url = 'https://127.0.0.1:0';
    const late = new GatewayOrigins(() => [url]);
    expect(late.check('https://127.0.0.1:8443', undefined).ok).toBe(false);
    url = 'https://127.0.0.1:8443';
    expect(late.check('https://127.0.0.1:8443', undefined).ok).toBe(true);
  });

  it('counts every method but GET, HEAD and OPTIONS as a change', () => {
    expect(['POST', 'DELETE', 'PUT', 'PATCH', undefined].map(isUnsafeMethod)).toEqual([true, true, true, true, true]);
    expect(['GET', 'HEAD', 'OPTIONS'].map(isUnsafeMethod)).toEqual([false, false, false]);
  });
});
