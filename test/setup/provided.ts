/** What the global setups hand to tests through vitest's provide/inject. */
declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    redisUrl: string;
    redisPrefix: string;
    services: 'local' | 'testcontainers' | 'env';
    asterisk: {
      ariUrl: string;
      ariUser: string;
      ariPassword: string;
      ariApp: string;
      agentPassword: string;
      sipPort: number;
      logFile: string;
      /** Lab instance name and environment, for tests that stop and restart Asterisk. */
      labName: string;
      labEnv: Record<string, string>;
    };
  }
}
export {};
