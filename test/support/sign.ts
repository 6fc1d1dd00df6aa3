import { createHmac } from 'node:crypto';

/** A correctly signed Sigmate delivery: body, headers and the path to post to. */
export function signedSigmate(
  body: string | Buffer,
  secret: string,
  event = 'signal.fired',
): { path: string; body: string | Buffer; headers: Record<string, string> } {
  const hex = createHmac('sha256', secret).update(body).digest('hex');
  return {
    path: '/webhooks/sigmate',
    body,
    headers: {
      'content-type': 'application/json',
      'x-sigmate-signature': `sha256=${hex}`,
      'x-sigmate-event': event,
      'user-agent': 'Sigmate-Webhook/1',
    },
  };
}
