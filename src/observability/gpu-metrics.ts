// GPU metrics. Per device, under Triton's names and its `gpu_uuid` label (nv_gpu_utilization,
// nv_gpu_memory_total_bytes, nv_gpu_memory_used_bytes, nv_gpu_power_usage), from the latest
// nvidia-smi sample; per model version, the busy time of its GPU instances and the device memory
// its load took. Nothing is registered until there is something to show: a server without a GPU
// exports no GPU metric.

import { Counter, Gauge, type Registry } from 'prom-client';
import type { GpuSample } from './nvidia-smi.js';

/** Registers the per-device gauges; each scrape reads `latest()`. */
export function registerGpuDeviceGauges(registry: Registry, latest: () => readonly GpuSample[]): void {
  const gauge = (name: string, help: string, read: (s: GpuSample) => number | undefined): void => {
    new Gauge({
      name,
      help,
      labelNames: ['gpu_uuid'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const s of latest()) {
          const v = read(s);
          if (v !== undefined) this.set({ gpu_uuid: s.uuid }, v);
        }
      },
    });
  };
  gauge('nv_gpu_utilization', 'GPU utilization rate [0.0 - 1.0]', (s) => s.utilization);
  gauge('nv_gpu_memory_total_bytes', 'GPU total memory, in bytes', (s) => s.memoryTotalBytes);
  gauge('nv_gpu_memory_used_bytes', 'GPU used memory, in bytes', (s) => s.memoryUsedBytes);
  gauge('nv_gpu_power_usage', 'GPU power usage in watts', (s) => s.powerWatts);
}

/** What a model version's GPU instances move. */
export interface ModelGpuMetrics {
  /** Execution time of an instance whose session runs on a GPU provider. */
  addBusy(model: string, version: string, gpu: number, seconds: number): void;
  /** Device memory a version's load took on a GPU (nvidia-smi's per-process figure, after − before). */
  setMemory(model: string, version: string, gpuUuid: string, bytes: number): void;
  /** Drops a version's memory figures when it unloads (the memory is given back). */
  forgetMemory(model: string, version: string): void;
}

export function modelGpuMetrics(registry: Registry): ModelGpuMetrics {
  let busy: Counter<'model' | 'version' | 'gpu'> | undefined;
  let memory: Gauge<'model' | 'version' | 'gpu_uuid'> | undefined;
  const memoryLabels = new Map<string, { model: string; version: string; gpu_uuid: string }[]>();
  return {
    addBusy(model, version, gpu, seconds) {
      busy ??= new Counter({
        name: 'inferd_model_gpu_busy_seconds_total',
        help: 'Execution time of a model version on a GPU (sessions on a GPU provider), by device id',
        labelNames: ['model', 'version', 'gpu'] as const,
        registers: [registry],
      });
      busy.inc({ model, version, gpu: String(gpu) }, seconds);
    },
    setMemory(model, version, gpuUuid, bytes) {
      memory ??= new Gauge({
        name: 'inferd_model_gpu_memory_bytes',
        help: "Device memory a model version's load took on a GPU (the process's nvidia-smi figure after the load minus before)",
        labelNames: ['model', 'version', 'gpu_uuid'] as const,
        registers: [registry],
      });
      const labels = { model, version, gpu_uuid: gpuUuid };
      memory.set(labels, bytes);
      const key = `${model}\0${version}`;
      memoryLabels.set(key, [...(memoryLabels.get(key) ?? []), labels]);
    },
    forgetMemory(model, version) {
      const key = `${model}\0${version}`;
      for (const labels of memoryLabels.get(key) ?? []) memory?.remove(labels);
      memoryLabels.delete(key);
    },
  };
}
