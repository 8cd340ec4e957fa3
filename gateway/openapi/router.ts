import { OpenAPIHono } from '@hono/zod-openapi';
import { problemResponse, validationProblem } from '../../lib/problem.js';
import type { GatewayEnv } from '../platform/request-context.js';

const WHERE: Record<string, string> = {
  json: 'body',
  form: 'body',
  query: 'query',
  param: 'path',
  header: 'header',
};

/**
 * A sub-app whose zod validation failures become `400 validation_failed` problems that name
 * the offending field without echoing the rejected value.
 */
export function createRouter(): OpenAPIHono<GatewayEnv> {
  return new OpenAPIHono<GatewayEnv>({
    defaultHook: (result, c) => {
      if (!result.success)
        return problemResponse(c, validationProblem(result.error, WHERE[result.target] ?? result.target));
      return undefined;
    },
  });
}

export const bearerSecurity = [{ bearerAuth: [] as string[] }];
