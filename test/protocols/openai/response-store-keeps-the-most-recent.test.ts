// The store behind previous_response_id and GET /v1/responses/{id}: bounded by a count, the least
// recently used response evicted first (reading one keeps it), and each response seen only by the
// caller that created it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResponseObject } from '../../../src/protocols/openai/response-objects.js';
import { ResponseStore, type StoredResponse } from '../../../src/protocols/openai/response-store.js';

function entry(id: string, owner = 'anonymous'): StoredResponse {
  const response = { id, object: 'response', status: 'completed', output: [] } as unknown as ResponseObject;
  return { owner, response, inputItems: [], conversation: [] };
}

const ids = (store: ResponseStore, owner = 'anonymous'): string[] =>
  ['a', 'b', 'c', 'd', 'e'].filter((id) => store.get(id, owner) !== undefined);

describe('ResponseStore', () => {
  it('keeps at most maxEntries, evicting the oldest first', () => {
    const store = new ResponseStore(3);
    for (const id of ['a', 'b', 'c', 'd']) store.put(entry(id));
    assert.equal(store.size, 3);
    assert.equal(store.get('a', 'anonymous'), undefined);
    assert.equal(store.get('d', 'anonymous')?.response.id, 'd');
  });

  it('evicts the least recently used: a response read since is kept', () => {
    const store = new ResponseStore(3);
    for (const id of ['a', 'b', 'c']) store.put(entry(id));
    assert.ok(store.get('a', 'anonymous'));
    store.put(entry('d'));
    assert.equal(store.size, 3);
    assert.equal(store.get('b', 'anonymous'), undefined, 'b was the least recently used');
    store.put(entry('e'));
    assert.deepEqual(ids(store), ['a', 'd', 'e']);
  });

  it('shows a response only to its owner, who alone may delete it', () => {
    const store = new ResponseStore(10);
    store.put(entry('a', 'key-1'));
    assert.equal(store.get('a', 'key-2'), undefined);
    assert.equal(store.delete('a', 'key-2'), false);
    assert.equal(store.get('a', 'key-1')?.owner, 'key-1');
    assert.equal(store.delete('a', 'key-1'), true);
    assert.equal(store.get('a', 'key-1'), undefined);
    assert.equal(store.delete('a', 'key-1'), false);
  });

  it('keeps nothing with maxEntries 0', () => {
    const store = new ResponseStore(0);
    store.put(entry('a'));
    assert.equal(store.size, 0);
    assert.equal(store.get('a', 'anonymous'), undefined);
  });

  it('refuses a bound that is not a whole number of at least 0', () => {
    assert.throws(() => new ResponseStore(-1), RangeError);
    assert.throws(() => new ResponseStore(1.5), RangeError);
  });
});
