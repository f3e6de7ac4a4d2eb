// nvidia-smi's CSV (--format=csv,noheader,nounits) read into GPU samples: MiB to bytes, percent to
// a fraction, "[N/A]" and "[Not Supported]" as no reading, a name with a comma kept whole,
// malformed lines skipped; per-process memory summed per GPU; CUDA_VISIBLE_DEVICES narrowing the
// devices CUDA numbers. The monitor samples on its timer and keeps the last good sample.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GpuMonitor } from '../../src/observability/gpu-monitor.js';
import { Metrics } from '../../src/observability/metrics.js';
import { cudaDeviceCount, NvidiaSmi, parseComputeAppsCsv, parseGpuCsv } from '../../src/observability/nvidia-smi.js';
import { fakeNvidiaSmi } from '../helpers/fake-nvidia-smi.js';
import path from 'node:path';

const MIB = 1024 * 1024;

describe('nvidia-smi readings', () => {
  it('reads every GPU line, with units converted and missing readings left out', () => {
    const samples = parseGpuCsv(
      [
        '0, GPU-aaa, NVIDIA H100 80GB HBM3, 81559, 1024, 37, 71.52',
        '1, GPU-bbb, Tesla T4, Rev. B, 15360, 0, [N/A], [Not Supported]',
        'garbage',
        '',
      ].join('\n'),
    );
    assert.deepEqual(samples, [
      {
        index: 0,
        uuid: 'GPU-aaa',
        name: 'NVIDIA H100 80GB HBM3',
        memoryTotalBytes: 81559 * MIB,
        memoryUsedBytes: 1024 * MIB,
        utilization: 0.37,
        powerWatts: 71.52,
      },
      {
        index: 1,
        uuid: 'GPU-bbb',
        name: 'Tesla T4, Rev. B',
        memoryTotalBytes: 15360 * MIB,
        memoryUsedBytes: 0,
        utilization: undefined,
        powerWatts: undefined,
      },
    ]);
  });

  it('reads per-process device memory', () => {
    assert.deepEqual(parseComputeAppsCsv('4242, GPU-aaa, 512\n7, GPU-bbb, [N/A]\n'), [
      { pid: 4242, gpuUuid: 'GPU-aaa', usedBytes: 512 * MIB },
    ]);
  });

  it('counts the GPUs CUDA numbers under CUDA_VISIBLE_DEVICES', () => {
    assert.equal(cudaDeviceCount(4, {}), 4);
    assert.equal(cudaDeviceCount(4, { CUDA_VISIBLE_DEVICES: '2,3' }), 2);
    assert.equal(cudaDeviceCount(4, { CUDA_VISIBLE_DEVICES: '' }), 0);
  });

  it('finds nvidia-smi on PATH only', async () => {
    const fake = await fakeNvidiaSmi([]);
    try {
      assert.equal(
        NvidiaSmi.find({ PATH: ['/nonexistent', fake.dir].join(path.delimiter) })?.executable,
        path.join(fake.dir, 'nvidia-smi'),
      );
      assert.equal(NvidiaSmi.find({ PATH: '/nonexistent' }), undefined);
    } finally {
      await fake.remove();
    }
  });
});

describe('the GPU monitor', () => {
  const gpu = {
    uuid: 'GPU-aaa',
    name: 'NVIDIA H100',
    totalMiB: 100,
    usedMiB: 10,
    utilizationPercent: 50,
    powerWatts: 60,
  };

  it('samples on its timer and serves the latest sample', async () => {
    const fake = await fakeNvidiaSmi([gpu]);
    let tick: (() => void) | undefined;
    let stopped = false;
    try {
      const monitor = await GpuMonitor.start(new NvidiaSmi(path.join(fake.dir, 'nvidia-smi')), new Metrics(), {
        timer: (t) => {
          tick = t;
          return () => (stopped = true);
        },
      });
      assert.ok(monitor !== undefined);
      assert.equal(monitor.devices[0]?.memoryUsedBytes, 10 * MIB);
      assert.ok(tick !== undefined);
      monitor.stop();
      assert.equal(stopped, true);
    } finally {
      await fake.remove();
    }
  });

  it('keeps the last good sample when nvidia-smi fails', async () => {
    const fake = await fakeNvidiaSmi([gpu]);
    const smi = new NvidiaSmi(path.join(fake.dir, 'nvidia-smi'));
    const monitor = await GpuMonitor.start(smi, new Metrics(), { timer: () => () => undefined });
    assert.ok(monitor !== undefined);
    await fake.remove();
    await monitor.sample();
    assert.equal(monitor.devices[0]?.uuid, 'GPU-aaa');
  });

  it('registers nothing when nvidia-smi lists no GPU', async () => {
    const fake = await fakeNvidiaSmi([]);
    try {
      const metrics = new Metrics();
      const monitor = await GpuMonitor.start(new NvidiaSmi(path.join(fake.dir, 'nvidia-smi')), metrics, {
        timer: () => () => undefined,
      });
      assert.equal(monitor, undefined);
      assert.doesNotMatch(await metrics.registry.metrics(), /nv_gpu_/);
    } finally {
      await fake.remove();
    }
  });
});
