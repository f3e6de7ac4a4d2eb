// Query parameters of the list endpoints (GET /v1/files, GET /v1/batches): `limit`, `after` (the
// id of the last object of the previous page) and `order`, with OpenAI's list envelope
// {object: "list", data, first_id, last_id, has_more}.

import { badRequest } from './batch-api-error.js';

export type Query = Readonly<Record<string, string | string[] | undefined>>;

export function queryString(query: Query, name: string): string | undefined {
  const v = query[name];
  if (Array.isArray(v)) throw badRequest(`query parameter "${name}" is given more than once`, name);
  return v;
}

export function queryLimit(query: Query, fallback: number, max: number): number {
  const text = queryString(query, 'limit');
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > max) {
    throw badRequest(`"limit" must be an integer from 1 to ${max}, got '${text}'`, 'limit');
  }
  return n;
}

export interface ListPage<T> {
  readonly object: 'list';
  readonly data: T[];
  readonly first_id: string | null;
  readonly last_id: string | null;
  readonly has_more: boolean;
}

/** The page after the object named by `after` (or the first page), of at most `limit` objects. */
export function page<T extends { readonly id: string }>(
  all: readonly T[],
  after: string | undefined,
  limit: number,
): ListPage<T> {
  let start = 0;
  if (after !== undefined) {
    const i = all.findIndex((o) => o.id === after);
    if (i < 0) throw badRequest(`"after" names no object in this list: '${after}'`, 'after');
    start = i + 1;
  }
  const data = all.slice(start, start + limit);
  return {
    object: 'list',
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: start + limit < all.length,
  };
}
