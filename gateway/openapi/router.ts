import { OpenAPIHono } from '@hono/zod-openapi';
import type { z } from 'zod';
import { problem, problemResponse, validationProblem } from '../../lib/problem.js';
import type { GatewayEnv } from '../http/request-context.js';
import { AMOUNT_TOO_LARGE, MAX_PUBLIC_AMOUNT } from './schemas.js';

const WHERE: Record<string, string> = {
  json: 'body',
  form: 'body',
  query: 'query',
  param: 'path',
  header: 'header',
};

/** True when the only thing wrong with the request is an amount above the public maximum. */
function onlyAmountTooLarge(error: z.ZodError): boolean {
  return error.issues.every((issue) => issue.code === 'custom' && issue.params?.code === AMOUNT_TOO_LARGE);
}

/**
 * A sub-app whose zod validation failures become `400 validation_failed` problems that name
 * the offending field without echoing the rejected value. A well-formed amount above the
 * public maximum is a business refusal instead: `422 amount_too_large`.
 */
export function createRouter(): OpenAPIHono<GatewayEnv> {
  return new OpenAPIHono<GatewayEnv>({
    defaultHook: (result, c) => {
      if (!result.success && onlyAmountTooLarge(result.error))
        return problemResponse(
          c,
          problem(422, AMOUNT_TOO_LARGE, `amounts are at most ${MAX_PUBLIC_AMOUNT} minor units`),
        );
      if (!result.success)
        return problemResponse(c, validationProblem(result.error, WHERE[result.target] ?? result.target));
      return undefined;
    },
  });
}

export const bearerSecurity = [{ bearerAuth: [] as string[] }];
