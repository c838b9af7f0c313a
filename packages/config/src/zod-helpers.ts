import { z } from 'zod';

/** An integer variable within [min, max] (environment strings are coerced). */
export const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
