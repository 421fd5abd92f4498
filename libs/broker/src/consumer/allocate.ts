/**
 * RocketMQ's "averagely" allocation: the sorted queues of a topic are cut into
 * contiguous ranges, one per sorted member, the first `queues % members` members
 * taking one more. Every member computes the same answer from the same inputs.
 */
export function allocateAveragely(queueCount: number, members: readonly string[], me: string): number[] {
  const index = members.indexOf(me);
  if (index < 0 || queueCount === 0) return [];
  const memberCount = members.length;
  const mod = queueCount % memberCount;
  const size = queueCount <= memberCount ? 1 : mod > 0 && index < mod ? Math.floor(queueCount / memberCount) + 1 : Math.floor(queueCount / memberCount);
  const start = mod > 0 && index < mod ? index * size : index * size + mod;
  const range = Math.min(size, queueCount - start);
  const result: number[] = [];
  for (let i = 0; i < range; i += 1) result.push((start + i) % queueCount);
  return result;
}
