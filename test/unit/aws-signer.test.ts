import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import {
  canonicalRequest,
  SigV4Signer,
  sha256Hex,
  stringToSign,
  uriEncode,
} from '../../functions/core/aws/signer.js';

// The worked example of AWS's SigV4 documentation ("Examples of the complete Signature
// Version 4 signing process", IAM ListUsers), with its published figures.
const DOC = {
  credentials: {
    accessKeyId: 'AKIDEXAMPLE',
    secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  },
  date: new Date(Date.UTC(2015, 7, 30, 12, 36, 0)),
  request: {
    method: 'GET',
    host: 'iam.amazonaws.com',
    path: '/',
    query: { Action: 'ListUsers', Version: '2010-05-08' },
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: '',
  },
  canonicalRequestSha256: 'f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59',
  signingKeyHex: 'c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9',
  signature: '5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7',
};

/** A node:crypto hash with the shape @smithy/signature-v4 expects of its `sha256`. */
type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytes = (data: SourceData) =>
  typeof data === 'string'
    ? Buffer.from(data, 'utf8')
    : ArrayBuffer.isView(data)
      ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
      : Buffer.from(data);

class NodeSha256 {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

describe('aws: SigV4 signer', () => {
  it('reproduces the canonical request, signing key and signature of the AWS documentation example', () => {
    const signer = new SigV4Signer(DOC.credentials, 'us-east-1', 'iam');
    const headers = signer.sign(DOC.request, DOC.date);
    expect(headers['x-amz-date']).toBe('20150830T123600Z');
    expect(headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, ' +
        `SignedHeaders=content-type;host;x-amz-date, Signature=${DOC.signature}`,
    );
    const canonical = canonicalRequest(
      DOC.request,
      { ...DOC.request.headers, host: DOC.request.host, 'x-amz-date': '20150830T123600Z' },
      sha256Hex(''),
    );
    expect(sha256Hex(canonical.text)).toBe(DOC.canonicalRequestSha256);
    expect(signer.signingKey('20150830').toString('hex')).toBe(DOC.signingKeyHex);
    expect(
      stringToSign('20150830T123600Z', '20150830/us-east-1/iam/aws4_request', canonical.text),
    ).toBe(
      `AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n${DOC.canonicalRequestSha256}`,
    );
  });

  const posts = [
    {
      name: 'DynamoDB PutItem with a session token',
      service: 'dynamodb',
      region: 'us-east-1',
      host: 'dynamodb.us-east-1.amazonaws.com',
      target: 'DynamoDB_20120810.PutItem',
      contentType: 'application/x-amz-json-1.0',
      body: JSON.stringify({ TableName: 't', Item: { id: { S: 'sigmate#ü€😀' } } }),
      sessionToken: 'IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ==',
    },
    {
      name: 'SQS SendMessage without a session token',
      service: 'sqs',
      region: 'eu-west-1',
      host: 'sqs.eu-west-1.amazonaws.com',
      target: 'AmazonSQS.SendMessage',
      contentType: 'application/x-amz-json-1.0',
      body: JSON.stringify({
        QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/q',
        MessageBody: 'x',
      }),
    },
    {
      name: 'Secrets Manager GetSecretValue on a local endpoint with a port',
      service: 'secretsmanager',
      region: 'ap-southeast-2',
      host: '127.0.0.1:4566',
      target: 'secretsmanager.GetSecretValue',
      contentType: 'application/x-amz-json-1.1',
      body: JSON.stringify({ SecretId: 'webhook/sigmate' }),
      sessionToken: 'token',
    },
    {
      name: 'an empty body with padded header values',
      service: 'dynamodb',
      region: 'us-west-2',
      host: 'dynamodb.us-west-2.amazonaws.com',
      target: '  DynamoDB_20120810.DescribeTable  ',
      contentType: 'application/x-amz-json-1.0',
      body: '',
    },
  ];

  for (const post of posts) {
    it(`signs ${post.name} exactly as @smithy/signature-v4 does`, async () => {
      const credentials = {
        accessKeyId: 'AKIDORACLE',
        secretAccessKey: 'oracle/secret+key',
        ...(post.sessionToken ? { sessionToken: post.sessionToken } : {}),
      };
      const date = new Date(Date.UTC(2026, 10, 23, 1, 2, 3));
      const headers = { 'content-type': post.contentType, 'x-amz-target': post.target };
      const ours = new SigV4Signer(credentials, post.region, post.service).sign(
        { method: 'POST', host: post.host, path: '/', headers, body: post.body },
        date,
      );
      const oracle = new SignatureV4({
        credentials,
        region: post.region,
        service: post.service,
        sha256: NodeSha256,
        applyChecksum: false,
      });
      const [hostname, port] = post.host.split(':');
      const signed = await oracle.sign(
        {
          method: 'POST',
          protocol: 'https:',
          hostname: hostname ?? '',
          ...(port ? { port: Number(port) } : {}),
          path: '/',
          query: {},
          headers: { ...headers, host: post.host },
          body: post.body,
        },
        { signingDate: date },
      );
      expect(ours.authorization).toBe(signed.headers.authorization);
      expect(ours['x-amz-date']).toBe(signed.headers['x-amz-date']);
      expect(ours['x-amz-security-token']).toBe(signed.headers['x-amz-security-token']);
    });
  }

  it('derives the signing key once per day and again on the next day', () => {
    const signer = new SigV4Signer(DOC.credentials, 'us-east-1', 'iam');
    const first = signer.signingKey('20150830');
    expect(signer.signingKey('20150830')).toBe(first);
    const next = signer.signingKey('20150831');
    expect(next).not.toEqual(first);
    expect(signer.signingKey('20150830').toString('hex')).toBe(DOC.signingKeyHex);
  });

  it('percent-encodes everything but unreserved characters', () => {
    expect(uriEncode("a-z_A.Z~0 !'()*/+=")).toBe('a-z_A.Z~0%20%21%27%28%29%2A%2F%2B%3D');
  });
});
