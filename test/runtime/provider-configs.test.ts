// What onnxruntime-node is given per provider: the CUDA provider with the instance's device id
// (the binding reads `deviceId` into OrtCUDAProviderOptionsV2.device_id), the others by name,
// since its WebGPU provider refuses every option it does not know, `deviceId` included.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { providerConfigs } from '../../src/runtime/ort-session.js';

test('cuda gets the device id, webgpu and cpu go by name', () => {
  assert.deepEqual(providerConfigs(['cuda', 'webgpu', 'cpu'], 3), [{ name: 'cuda', deviceId: 3 }, 'webgpu', 'cpu']);
  assert.deepEqual(providerConfigs(['cuda', 'cpu'], undefined), ['cuda', 'cpu']);
});

test('the WebGPU provider of this onnxruntime-node refuses a deviceId option', async () => {
  // The fact that the placement rests on: a device id cannot reach the WebGPU provider.
  await assert.rejects(
    ort.InferenceSession.create('examples/models/simple/1/model.onnx', {
      executionProviders: [{ name: 'webgpu', deviceId: 1 } as ort.InferenceSession.ExecutionProviderOption],
    }),
    /WebGPU EP has an unrecognized option: 'deviceId'/,
  );
});
