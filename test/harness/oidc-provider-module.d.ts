// The few parts of oidc-provider 9 the test identity provider uses (the package ships no types).
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  interface GrantInstance {
    addOIDCScope(scope: string): void;
    save(): Promise<string>;
  }
  interface GrantClass {
    new (init: { clientId: string; accountId: string }): GrantInstance;
    find(id: string): Promise<GrantInstance | undefined>;
  }
  export interface KoaContextWithOIDC {
    oidc: {
      session?: { accountId?: string; grantIdFor(clientId: string): string | undefined };
      client?: { clientId: string };
      provider: { Grant: GrantClass };
    };
  }
  export interface Account { accountId: string; claims(): Record<string, unknown> }
  export interface Configuration {
    clients: Array<Record<string, unknown>>;
    findAccount(ctx: KoaContextWithOIDC, sub: string): Account | undefined | Promise<Account | undefined>;
    claims: Record<string, string[]>;
    scopes: string[];
    conformIdTokenClaims: boolean;
    issueRefreshToken(): boolean | Promise<boolean>;
    features: Record<string, unknown>;
    loadExistingGrant(ctx: KoaContextWithOIDC): Promise<GrantInstance | undefined>;
    cookies: { keys: string[] };
    ttl: Record<string, number>;
  }
  export default class Provider {
    constructor(issuer: string, configuration: Configuration);
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
  }
}
