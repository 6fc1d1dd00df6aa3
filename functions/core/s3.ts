import { S3Client } from '@aws-sdk/client-s3';
import { type AwsClientOptions, commonSettings, configuredEndpoint } from './aws.js';
import type { Env } from './config.js';

/**
 * The archiver's S3 client, on the settings every client of the project shares
 * (functions/core/aws.ts). Kept out of `aws.ts` so the provider functions' bundles do not
 * carry S3. An endpoint set in the environment (an emulator on a loopback address) is
 * addressed path-style; AWS's own endpoints keep virtual-hosted style.
 *
 * It keeps the S3 client's own signer: S3 alone signs the path escaped once
 * (`uriEscapePath: false`), and the shared `cachedSigner` escapes it twice as every
 * other service expects — S3 would refuse every key holding `=` (`provider=…/date=…`)
 * with `SignatureDoesNotMatch`. The archiver signs a few requests per batch, so the
 * per-request signer costs nothing worth keeping.
 */
export function createS3Client(env: Env, options: AwsClientOptions = {}): S3Client {
  const { settings } = commonSettings(env, options);
  const endpoint = configuredEndpoint(env, 's3');
  return new S3Client({
    ...settings,
    ...(endpoint === undefined ? {} : { endpoint, forcePathStyle: true }),
  });
}
