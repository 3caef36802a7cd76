// http.origins: extra web origins of the console, from the YAML file or PORTCULLIS_HTTP_ORIGINS;
// anything that is not a bare origin is refused before serve starts.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../gateway/config/config.js';

const dir = (): string => mkdtempSync(join(tmpdir(), 'pc-origins-'));

describe('http.origins', () => {
  it('defaults to none, and reads the file and the environment', () => {
    expect(loadConfig({ data: dir(), env: {} }).http).toEqual({ port: 8443, origins: [] });
    const d = dir();
    writeFileSync(join(d, 'portcullis.yaml'), 'http: { origins: ["https://pam.example.com", "https://pam.example.com:9443"] }\n');
    expect(loadConfig({ data: d, env: {} }).http.origins).toEqual(['https://pam.example.com', 'https://pam.example.com:9443']);
    expect(loadConfig({ data: dir(), env: { PORTCULLIS_HTTP_ORIGINS: 'https://a.example, https://b.example:8443' } }).http.origins)
      .toEqual(['https://a.example', 'https://b.example:8443']);
  });

  it('refuses what is not an origin', () => {
    for (const bad of ['pam.example.com', 'https://pam.example.com/console', 'ftp://pam.example.com', '*', 'null']) {
      expect(() => loadConfig({ data: dir(), env: { PORTCULLIS_HTTP_ORIGINS: bad } }), bad).toThrow(/http\.origins/);
    }
  });
});
