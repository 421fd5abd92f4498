import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { SampleApi } from '../../apps/demo/src/api';
import { Cluster, ClusterOptions } from '../../apps/demo/src/cluster';
import { DemoContext } from '../../apps/demo/src/scenarios';
import { DemoUi } from '../../apps/demo/src/ui';

/** A sample cluster on the test server (or `adminUrl`), with its demo output kept for failure messages. */
export async function startCluster(adminUrl: string, options: Partial<ClusterOptions> = {}): Promise<DemoContext & { output: string[]; prefix: string }> {
  const output: string[] = [];
  const prefix = `e2e_${randomBytes(3).toString('hex')}`;
  const cluster = await Cluster.start({ adminUrl, prefix, ...options });
  return { cluster, api: new SampleApi(cluster), ui: new DemoUi((line) => output.push(line)), output, prefix };
}

/** Drops the cluster's four databases. */
export async function dropCluster(adminUrl: string, prefix: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    for (const name of ['order', 'inventory', 'logistics', 'broker']) await client.query(`DROP DATABASE IF EXISTS ${prefix}_${name} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

export async function count(url: string, sql: string): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM (${sql}) q`)).rows[0].n);
  } finally {
    await client.end();
  }
}
