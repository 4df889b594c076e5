/** The error types live on the ground floor (common/); the API and the renderer import them from here too. */
export * from '../common/errors.js';
