/**
 * Bundle stand-in for `@aws-sdk/endpoint-cache` (see tools/bundling.ts). DynamoDB's
 * client builds one at construction, but endpoint discovery is off
 * (`endpointDiscoveryEnabled: false` in functions/core/aws.ts), so it is only ever
 * asked for endpoints it does not have.
 */
export class EndpointCache {
  getEndpoint(_key: string): string | undefined {
    return undefined;
  }
  get(_key: string): undefined {
    return undefined;
  }
  set(_key: string, _endpoints: unknown): void {}
  delete(_key: string): void {}
  has(_key: string): boolean {
    return false;
  }
  clear(): void {}
}
