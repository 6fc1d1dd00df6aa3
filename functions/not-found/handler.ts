/*
 * The `$default` route: every path that is not a webhook route. It answers the
 * contract's `404 not_found` — byte for byte what a provider function answers for an
 * unknown route (test/infra/not-found.test.ts compares them) — with no AWS client, no
 * secret, no permission and no log line: scanners cost 128 MB for a millisecond, and
 * the API access log already records each request.
 */
const NOT_FOUND = {
  statusCode: 404,
  headers: { 'content-type': 'application/json; charset=utf-8' },
  body: JSON.stringify({ status: 'not_found', reason: 'no such webhook route' }),
} as const;

export const handler = async (): Promise<typeof NOT_FOUND> => NOT_FOUND;
