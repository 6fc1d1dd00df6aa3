/**
 * AWS Signature Version 4 on node:crypto, for the few JSON POSTs the ingress makes.
 * Follows the published algorithm: canonical request → string to sign → HMAC chain.
 */
import { createHash, createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import type { AwsCredentials } from './credentials.js';

export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';

/** What is signed: the request as it goes on the wire. */
export interface SignableRequest {
  readonly method: string;
  /** `hostname` or `hostname:port`, exactly as sent in the Host header. */
  readonly host: string;
  /** Percent-encoded path as sent, e.g. `/`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  /** Headers to sign besides `host`, `x-amz-date` and `x-amz-security-token`. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | Buffer;
}

/** RFC 3986 encoding as SigV4 wants it: only unreserved characters stay as they are. */
export function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** `20150830T123600Z` and `20150830` for a date. */
export function amzDate(date: Date): { long: string; short: string } {
  const long = date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  return { long, short: long.slice(0, 8) };
}

function canonicalPath(path: string): string {
  // Every service but S3 encodes each segment of the (already encoded) path once more.
  return path
    .split('/')
    .map((segment) => uriEncode(segment))
    .join('/');
}

function canonicalQuery(query: Readonly<Record<string, string>> | undefined): string {
  if (query === undefined) return '';
  return Object.entries(query)
    .map(([key, value]) => [uriEncode(key), uriEncode(value)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
}

/** Lower-cased, sorted names and trimmed values (inner runs of spaces collapsed). */
function canonicalHeaders(headers: Readonly<Record<string, string>>): {
  text: string;
  signed: string;
} {
  const entries = Object.entries(headers)
    .map(([name, value]) => [name.toLowerCase(), value.trim().replace(/\s+/g, ' ')] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    text: entries.map(([name, value]) => `${name}:${value}\n`).join(''),
    signed: entries.map(([name]) => name).join(';'),
  };
}

/** The canonical request of SigV4 task 1, and the signed header list it names. */
export function canonicalRequest(
  request: SignableRequest,
  headers: Readonly<Record<string, string>>,
  payloadHash: string,
): { text: string; signedHeaders: string } {
  const { text, signed } = canonicalHeaders(headers);
  return {
    text: [
      request.method.toUpperCase(),
      canonicalPath(request.path),
      canonicalQuery(request.query),
      text,
      signed,
      payloadHash,
    ].join('\n'),
    signedHeaders: signed,
  };
}

/** The string to sign of SigV4 task 2. */
export function stringToSign(longDate: string, scope: string, canonical: string): string {
  return [SIGV4_ALGORITHM, longDate, scope, sha256Hex(canonical)].join('\n');
}

/**
 * Signs requests for one service in one region with one set of credentials. The derived
 * signing key depends only on the day, so it is computed once per day, not per request.
 */
export class SigV4Signer {
  private cachedKey: { day: string; key: Buffer; keyObject: KeyObject } | undefined;

  constructor(
    private readonly credentials: AwsCredentials,
    readonly region: string,
    readonly service: string,
  ) {}

  /** The signing key of a day (`YYYYMMDD`), from the cache when it is the same day. */
  signingKey(day: string): Buffer {
    return this.cached(day).key;
  }

  private cached(day: string): { key: Buffer; keyObject: KeyObject } {
    if (this.cachedKey?.day === day) return this.cachedKey;
    const dateKey = hmac(`AWS4${this.credentials.secretAccessKey}`, day);
    const key = hmac(hmac(hmac(dateKey, this.region), this.service), 'aws4_request');
    // Node 24 checks a Buffer key far more slowly than a KeyObject: about 6x per HMAC.
    this.cachedKey = { day, key, keyObject: createSecretKey(key) };
    return this.cachedKey;
  }

  /**
   * Every header the request must carry: the caller's, plus `host`, `x-amz-date`,
   * `x-amz-security-token` (temporary credentials) and `authorization`.
   */
  sign(request: SignableRequest, date: Date = new Date()): Record<string, string> {
    const { long, short } = amzDate(date);
    const headers: Record<string, string> = {
      ...request.headers,
      host: request.host,
      'x-amz-date': long,
    };
    if (this.credentials.sessionToken) {
      headers['x-amz-security-token'] = this.credentials.sessionToken;
    }
    const scope = `${short}/${this.region}/${this.service}/aws4_request`;
    const canonical = canonicalRequest(request, headers, sha256Hex(request.body));
    const signature = createHmac('sha256', this.cached(short).keyObject)
      .update(stringToSign(long, scope, canonical.text), 'utf8')
      .digest('hex');
    headers.authorization = `${SIGV4_ALGORITHM} Credential=${this.credentials.accessKeyId}/${scope}, SignedHeaders=${canonical.signedHeaders}, Signature=${signature}`;
    return headers;
  }
}
