import { z } from 'zod'

/** A request with no fields. */
export const Empty = z.object({}).strict()
/** A response that only says it worked. */
export const Ok = z.object({ ok: z.literal(true) })

/** A call's request and response schemas. */
export interface CallSpec {
  req: z.ZodType
  res: z.ZodType
}
