/**
 * What a declared provider's name and scheme imply, with no runtime dependency: the
 * construct (infra/) and `npm start` import it to check the `providers` list, the
 * functions to serve it.
 */

/** Five minutes, the Standard Webhooks and Stripe default: the tolerance unless configured. */
export const DEFAULT_TOLERANCE_SECONDS = 300;
/** The largest tolerance configuration accepts: a wider window is a replay window. */
export const MAX_TOLERANCE_SECONDS = 3600;

/** The Secrets Manager JSON of the schemes whose secret is a list of strings. */
export const SECRET_LIST_SHAPE = '{"secrets":["…"]}';

/** The route of a declared provider: `POST /webhooks/<name>`. */
export function webhookPath(name: string): string {
  return `/webhooks/${name}`;
}

/** `<NAME>_WEBHOOK_SECRET`: the name upper-cased, `-` as `_` (the contract's local variable). */
export function secretEnvName(name: string): string {
  return `${name.toUpperCase().replaceAll('-', '_')}_WEBHOOK_SECRET`;
}
