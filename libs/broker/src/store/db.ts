/** What the store's statements run on. */
import type { Pool, QueryConfig, QueryResult, QueryResultRow } from 'pg';

export type Db = Pick<Pool, 'query'>;

/** Anything that runs a parameterised query config: the pool, or the pipelined append connection. */
export interface ConfigQueryable {
  query<R extends QueryResultRow>(config: QueryConfig): Promise<QueryResult<R>>;
}
