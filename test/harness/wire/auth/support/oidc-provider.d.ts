// The few parts of oidc-provider (a devDependency without bundled types) the token-server fixture uses.
declare module 'oidc-provider' {
  import type { Server } from 'node:http';
  interface KoaContext {
    path: string;
    method: string;
  }
  export const errors: { InvalidTarget: new (description?: string) => Error };
  export default class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    listen(port: number, host: string, callback?: () => void): Server;
    use(middleware: (ctx: KoaContext, next: () => Promise<void>) => Promise<void>): void;
    on(event: string, listener: (...args: unknown[]) => void): void;
  }
}
