// The suite waits the way users' tests can: with @herald/testing's waitFor.
export { waitFor } from '@herald/testing';
