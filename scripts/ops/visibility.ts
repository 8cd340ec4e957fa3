/** Visibility rows for operator scripts, page by page (raw rows: no payload, no codec key). */
import type { Connection } from '@temporalio/client';

type ExecutionInfo = NonNullable<
  Awaited<ReturnType<Connection['workflowService']['listWorkflowExecutions']>>['executions']
>[number];

/** Every workflow execution the visibility `query` matches in `namespace`, all pages. */
export async function* listExecutions(
  connection: Connection,
  namespace: string,
  query: string,
): AsyncGenerator<ExecutionInfo> {
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await connection.workflowService.listWorkflowExecutions({
      namespace,
      query,
      pageSize: 1000,
      nextPageToken,
    });
    yield* page.executions ?? [];
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
}
