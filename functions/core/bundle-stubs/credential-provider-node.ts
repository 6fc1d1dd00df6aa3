/**
 * Bundle stand-in for `@aws-sdk/credential-provider-node` (see tools/bundling.ts). The
 * default credential chain brings STS, SSO and SSO-OIDC clients; the functions pass
 * `fromEnv()` to every client (Lambda's credentials are environment variables), so the
 * chain is never asked. If it ever is, the call fails loudly instead of guessing.
 */
export const defaultProvider = () => async (): Promise<never> => {
  throw new Error(
    'the default credential chain is not bundled: pass credentials to the client (functions/core/aws.ts)',
  );
};
