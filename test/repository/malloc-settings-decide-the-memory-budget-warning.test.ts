// Under the memory budget the server warns when glibc's malloc adjusts its thresholds by itself
// (unloaded models' memory may stay resident), and stays quiet when one of the settings that fix
// them is in the environment, when another allocator is preloaded, or off glibc.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { freedModelMemoryMayStayResident, RECOMMENDED_MALLOC_SETTING } from '../../src/repository/malloc-settings.js';

const GLIBC = '2.36';

describe('freedModelMemoryMayStayResident', () => {
  it('is true on glibc with no malloc setting', () => {
    assert.equal(freedModelMemoryMayStayResident({ PATH: '/usr/bin' }, GLIBC), true);
    assert.equal(freedModelMemoryMayStayResident({ MALLOC_ARENA_MAX: '2' }, GLIBC), true, 'arenas do not fix it');
    assert.equal(freedModelMemoryMayStayResident({ MALLOC_TRIM_THRESHOLD_: '' }, GLIBC), true, 'empty is unset');
    assert.equal(freedModelMemoryMayStayResident({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, GLIBC), true);
  });

  it('is false with the recommended setting or another that fixes the thresholds', () => {
    const [name = '', value = ''] = RECOMMENDED_MALLOC_SETTING.split('=');
    assert.equal(freedModelMemoryMayStayResident({ [name]: value }, GLIBC), false);
    for (const variable of ['MALLOC_TRIM_THRESHOLD_', 'MALLOC_TOP_PAD_', 'MALLOC_MMAP_MAX_'])
      assert.equal(freedModelMemoryMayStayResident({ [variable]: '131072' }, GLIBC), false, variable);
    assert.equal(
      freedModelMemoryMayStayResident(
        { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=1048576' },
        GLIBC,
      ),
      false,
    );
  });

  it('is false with another allocator preloaded, and off glibc', () => {
    assert.equal(
      freedModelMemoryMayStayResident({ LD_PRELOAD: '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2' }, GLIBC),
      false,
    );
    assert.equal(freedModelMemoryMayStayResident({}, undefined), false);
  });
});
