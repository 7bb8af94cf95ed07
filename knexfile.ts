import { loadConfig } from './src/config';
import { knexConfig, withoutStatementTimeout } from './src/db/knex';

/**
 * Knex CLI configuration, built from the same validated config the service uses; migrations
 * run without the service's statement timeout (an index build may take longer).
 */
const { db } = loadConfig();
module.exports = knexConfig(withoutStatementTimeout(db));
