import {
  ApiMapping,
  CfnApiMapping,
  DomainName,
  SecurityPolicy,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { AaaaRecord, ARecord, RecordTarget } from 'aws-cdk-lib/aws-route53';
import { ApiGatewayv2DomainProperties } from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';
import type { CustomDomainProps, WebhookIngress } from './webhook-ingress.js';

/**
 * The custom domain in front of the ingress: the domain name, its mapping to the HTTP API
 * stage (or the REST API's with edge protection) and, with a hosted zone, the alias records.
 */
export function addCustomDomain(ingress: WebhookIngress, domain: CustomDomainProps): DomainName {
  const domainName = new DomainName(ingress, 'CustomDomain', {
    domainName: domain.domainName,
    certificate: domain.certificate,
    securityPolicy: SecurityPolicy.TLS_1_2,
  });
  const mappingPath = domain.mappingPath?.replace(/^\/+|\/+$/g, '');
  if (ingress.api && ingress.apiStage) {
    new ApiMapping(ingress, 'CustomDomainMapping', {
      api: ingress.api,
      domainName,
      stage: ingress.apiStage,
      ...(mappingPath ? { apiMappingKey: mappingPath } : {}),
    });
  } else if (ingress.edge) {
    // The same domain maps the REST API's stage (a regional domain takes REST and HTTP
    // APIs alike). The same construct path as the HTTP API's mapping keeps its logical id,
    // so switching edge protection on or off updates the mapping in place.
    new CfnApiMapping(new Construct(ingress, 'CustomDomainMapping'), 'Resource', {
      apiId: ingress.edge.api.restApiId,
      domainName: domainName.name,
      stage: ingress.edge.stage.stageName,
      ...(mappingPath ? { apiMappingKey: mappingPath } : {}),
    });
  }
  if (domain.hostedZone) {
    const target = RecordTarget.fromAlias(
      new ApiGatewayv2DomainProperties(
        domainName.regionalDomainName,
        domainName.regionalHostedZoneId,
      ),
    );
    const zone = domain.hostedZone;
    new ARecord(ingress, 'CustomDomainAliasRecord', {
      zone,
      recordName: domain.domainName,
      target,
    });
    new AaaaRecord(ingress, 'CustomDomainAliasRecordIpv6', {
      zone,
      recordName: domain.domainName,
      target,
    });
  }
  return domainName;
}
