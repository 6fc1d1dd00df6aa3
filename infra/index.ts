/**
 * The package's public entry (`import { WebhookIngress } from 'webhook-ingress'`): the
 * ingress as an L3 construct for your own CDK app, and the pieces of the shipped app.
 */
export { ProviderDeclarationError } from '../functions/core/errors.js';
export type { ProviderName } from '../functions/provider-names.js';
export type { ProviderDeclaration } from '../functions/providers.js';
export type { SchemeName } from '../functions/schemes.js';
export {
  ContextKeys,
  type CustomDomainSettings,
  DefaultSettings,
  type EdgeRateWindow,
  EdgeRateWindows,
  type IngressSettings,
  type RouteThrottle,
  SettingsError,
  strictestRetention,
  type ThrottledRoute,
  UnknownSettingError,
} from './config.js';
export { readSettings, settingsFromContext } from './context.js';
export { type EdgeRoute, IngressEdge } from './edge.js';
export { ALARMS_NOTIFY_NOBODY, ProviderAlarms } from './monitoring.js';
export { SavedQueries } from './queries.js';
export { propsFromSettings, WebhookIngressStack, type WebhookIngressStackProps } from './stack.js';
export {
  type CustomDomainProps,
  DEAD_LETTER_RETENTION,
  MAX_RECEIVE_COUNT,
  type ProviderEntry,
  type ProviderResources,
  QUEUE_VISIBILITY_TIMEOUT,
  WebhookIngress,
  type WebhookIngressProps,
  type WebhookUrlOutput,
} from './webhook-ingress.js';
