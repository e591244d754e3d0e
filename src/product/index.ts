/**
 * @qwickapps/server/product: a whole product from one short definition. `defineProduct` gives
 * the gateway (frontend, traffic slots per service, control panel, sign-in, users, roles, API
 * keys) and each service's app; `createService` is one API service behind any gateway.
 */
export { defineProduct, SERVICE_ROLE_ENV } from './product.js';
export type { GatewaySettings, Product, ProductDefinition, ProductService } from './product.js';
export { createService, databaseUrlOf } from './service.js';
export type { DatabaseDefault, ServiceDefinition, ServiceSettings } from './service.js';
export { GATEWAY_ENV, SERVICE_ENV, SIGN_IN_ENV } from './env.js';
export type { SignInChoice } from './env.js';
export { DEV_ISSUER, signInProviders } from './sign-in.js';
export { runApp } from './run.js';
