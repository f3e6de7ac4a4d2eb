// Public surface of the error taxonomy.
export * from './inferd-error.js';
export * from './error-reply.js';
export * from './retry-policy.js';
