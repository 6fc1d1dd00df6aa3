import { S3Client } from '@aws-sdk/client-s3';
import {
  type AwsClientOptions,
  cachedSigner,
  commonSettings,
  configuredEndpoint,
  SigningNames,
} from './aws.js';
import type { Env } from './config.js';

/**
 * The archiver's S3 client, on the settings every client of the project shares
 * (functions/core/aws.ts). Kept out of `aws.ts` so the provider functions' bundles do not
 * carry S3. An endpoint set in the environment (an emulator on a loopback address) is
 * addressed path-style; AWS's own endpoints keep virtual-hosted style.
 */
export function createS3Client(env: Env, options: AwsClientOptions = {}): S3Client {
  const { credentials, settings } = commonSettings(env, options);
  const endpoint = configuredEndpoint(env, 's3');
  return new S3Client({
    ...settings,
    ...(endpoint === undefined ? {} : { endpoint, forcePathStyle: true }),
    signer: cachedSigner(credentials, settings.region, SigningNames.s3),
  });
}
