/** Signifyd's environment names shared with infra/ (no runtime dependency). */

/** Forward team-key-signed `cases/test` deliveries to the queue, marked `test`. */
export const SIGNIFYD_FORWARD_TEST_EVENTS_ENV = 'SIGNIFYD_FORWARD_TEST_EVENTS';
