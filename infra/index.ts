/**
 * The package's public entry (`import { WebhookIngress } from 'webhook-ingress'`): the
 * ingress as an L3 construct for your own CDK app, and the pieces of the shipped app.
 */
export type { ProviderName } from '../functions/provider-names.js';
export {
  ContextKeys,
  type CustomDomainSettings,
  DefaultSettings,
  type IngressSettings,
  type RouteThrottle,
  readSettings,
  SettingsError,
  settingsFromContext,
  type ThrottledRoute,
  UnknownSettingError,
} from './config.js';
export { ALARMS_NOTIFY_NOBODY, ProviderAlarms } from './monitoring.js';
export { SavedQueries } from './queries.js';
export { propsFromSettings, WebhookIngressStack, type WebhookIngressStackProps } from './stack.js';
export {
  type CustomDomainProps,
  DEAD_LETTER_RETENTION,
  MAX_RECEIVE_COUNT,
  type ProviderResources,
  QUEUE_VISIBILITY_TIMEOUT,
  WebhookIngress,
  type WebhookIngressProps,
  type WebhookUrlOutput,
} from './webhook-ingress.js';
