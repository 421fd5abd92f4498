/**
 * This process's environment without the `npm_*` variables an outer `npm test` sets: an npm
 * started with them (npm_config_local_prefix among them) would act on this repository
 * instead of the directory it runs in.
 */
export function npmFreeEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
}
