/**
 * The floor: a handler that only verifies the HMAC and answers. No AWS calls, no
 * logging: what any correct webhook function must at least do.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';

const secret = process.env.SIGMATE_WEBHOOK_SECRET ?? '';

export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyResultV2> => {
  const rawBody = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
  const header = event.headers['x-sigmate-signature'] ?? '';
  const received = Buffer.from(header.slice(7), 'hex');
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  const ok = received.length === expected.length && timingSafeEqual(expected, received);
  return {
    statusCode: ok ? 200 : 401,
    body: ok ? '{"status":"accepted"}' : '{"status":"rejected"}',
  };
};
