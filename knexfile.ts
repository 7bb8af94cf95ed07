import { loadConfig } from './src/config';
import { knexConfig } from './src/db/knex';

/** Knex CLI configuration, built from the same validated config the service uses. */
module.exports = knexConfig(loadConfig().db);
