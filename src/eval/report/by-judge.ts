/**
 * Rows grouped by the judge that wrote them, in order of first appearance. FastChat keeps one
 * judgment file per judge; a file holding several judges' rows is reported per judge, never pooled.
 */
export function groupByJudge<T>(rows: readonly T[], judgeOf: (row: T) => string | undefined): Array<{ judge: string | undefined; rows: T[] }> {
  const groups = new Map<string | undefined, T[]>();
  for (const row of rows) {
    const judge = judgeOf(row);
    const group = groups.get(judge);
    if (group) group.push(row);
    else groups.set(judge, [row]);
  }
  return [...groups].map(([judge, grouped]) => ({ judge, rows: grouped }));
}
