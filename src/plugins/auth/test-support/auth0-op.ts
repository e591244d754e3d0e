// The Auth0-shaped OP lives with the demo, which runs it as its development sign-in; the tests
// drive the very same module.
export * from '../../../../demo/dev-provider.js';
