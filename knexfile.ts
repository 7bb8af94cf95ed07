import { loadConfig } from './src/config';
import { holdDataDir, knexConfig, withoutStatementTimeout } from './src/db/knex';

/**
 * Knex CLI configuration, built from the same validated config the service uses; migrations
 * run without the service's statement timeout (an index build may take longer).
 */
const { db } = loadConfig();
// The embedded database is single-process: `npm run migrate` refuses while a server has it open.
holdDataDir(db);
module.exports = knexConfig(withoutStatementTimeout(db));
