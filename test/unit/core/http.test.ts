import { describe, expect, it } from 'vitest';
import { InvalidPayloadError } from '../../../functions/core/errors.js';
import { normaliseEvent } from '../../../functions/core/http.js';
import {
  documentedFunctionUrlEvent,
  documentedHttpApiV2Event,
  documentedRestApiV1Event,
} from '../../fixtures/events.js';

describe('core: normaliseEvent', () => {
  it('reads the documented HTTP API payload 2.0 event', () => {
    const request = normaliseEvent(documentedHttpApiV2Event());
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/my/path');
    expect(request.headers.header1).toBe('value1');
    expect(request.headers.header2).toBe('value1,value2');
    expect(request.headers.cookie).toBe('cookie1; cookie2');
    expect(request.body.toString('utf8')).toBe('Hello from Lambda');
    expect(request.sourceIp).toBe('192.0.2.1');
    expect(request.requestId).toBe('id');
  });

  it('reads the documented REST API payload 1.0 event, merging multi-value headers', () => {
    const request = normaliseEvent(documentedRestApiV1Event());
    expect(request.method).toBe('GET');
    expect(request.path).toBe('/my/path');
    expect(request.headers).toEqual({ header1: 'value1', header2: 'value1,value2' });
    expect(request.body.toString('utf8')).toBe('Hello from Lambda!');
    expect(request.sourceIp).toBe('192.0.2.2');
    expect(request.requestId).toBe('id=');
  });

  it('reads the documented Lambda function URL event', () => {
    const request = normaliseEvent(documentedFunctionUrlEvent());
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/my/path');
    expect(request.headers.header2).toBe('value1,value2');
    expect(request.body.toString('utf8')).toBe('Hello from client!');
    expect(request.sourceIp).toBe('123.123.123.123');
  });

  it('decodes isBase64Encoded bodies to the exact bytes', () => {
    const bytes = Buffer.from([0x7b, 0x22, 0xff, 0x00, 0x22, 0x7d]);
    const event = documentedHttpApiV2Event();
    event.body = bytes.toString('base64');
    event.isBase64Encoded = true;
    expect(normaliseEvent(event).body.equals(bytes)).toBe(true);
  });

  it('lower-cases header names of every shape and joins a header repeated in two cases', () => {
    const event = documentedRestApiV1Event();
    event.headers = { 'X-Sigmate-Signature': 'a' };
    event.multiValueHeaders = { 'X-Sigmate-Signature': ['a'], 'x-sigmate-signature': ['b'] };
    expect(normaliseEvent(event).headers['x-sigmate-signature']).toBe('a,b');
  });

  it('strips a named stage from the HTTP API raw path', () => {
    const event = documentedHttpApiV2Event();
    event.rawPath = '/prod/webhooks/sigmate';
    event.requestContext.stage = 'prod';
    expect(normaliseEvent(event).path).toBe('/webhooks/sigmate');
  });

  it('treats a missing body as empty', () => {
    const event = documentedHttpApiV2Event();
    delete event.body;
    expect(normaliseEvent(event).body.length).toBe(0);
  });

  it('refuses shapes it does not know', () => {
    expect(() => normaliseEvent({ Records: [] })).toThrow(InvalidPayloadError);
    expect(() => normaliseEvent(null)).toThrow(InvalidPayloadError);
  });

  it('takes a custom domain mapping path off the raw path before routing', () => {
    const event = documentedHttpApiV2Event();
    event.rawPath = '/ingress/webhooks/sigma/aml';
    expect(normaliseEvent(event, { pathPrefix: '/ingress' }).path).toBe('/webhooks/sigma/aml');
    event.rawPath = '/ingressx/webhooks/sigma/aml';
    expect(normaliseEvent(event, { pathPrefix: '/ingress' }).path).toBe(
      '/ingressx/webhooks/sigma/aml',
    );
  });

  it('reads header names that shadow Object.prototype as plain headers', () => {
    const event = documentedRestApiV1Event();
    event.headers = { toString: 'a', constructor: 'b' };
    event.multiValueHeaders = {};
    const request = normaliseEvent(event);
    expect(request.headers.tostring).toBe('a');
    expect(request.headers.constructor).toBe('b');
  });
});
