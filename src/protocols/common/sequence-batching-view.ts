// The resolved sequence_batching in Triton's model_config form, shared by the REST JSON view and
// the gRPC ModelConfig message (which use the same field names).

import type { ResolvedSequenceBatching } from '../../config/resolved-model-config.js';
import { configTypeName } from '../../tensor/datatype.js';

export function sequenceBatchingView(s: ResolvedSequenceBatching): Record<string, unknown> {
  return {
    max_sequence_idle_microseconds: s.maxSequenceIdleMicroseconds,
    control_input: s.controls.map((c) => ({
      name: c.name,
      control: [
        {
          kind: `CONTROL_SEQUENCE_${c.kind}`,
          ...(c.kind === 'CORRID'
            ? { data_type: configTypeName(c.datatype) }
            : c.datatype === 'FP32'
              ? { fp32_false_true: [...c.falseTrue] }
              : c.datatype === 'BOOL'
                ? { bool_false_true: c.falseTrue.map((v) => v !== 0) }
                : { int32_false_true: [...c.falseTrue] }),
        },
      ],
    })),
    state: s.states.map((st) => ({
      input_name: st.inputName,
      output_name: st.outputName,
      data_type: configTypeName(st.datatype),
      dims: [...st.dims],
      initial_state: [{ data_type: configTypeName(st.datatype), dims: [...st.dims], zero_data: true }],
    })),
    ...(s.strategy.kind === 'direct'
      ? { direct: { max_queue_delay_microseconds: s.strategy.maxQueueDelayMicroseconds } }
      : {
          oldest: {
            max_candidate_sequences: s.strategy.maxCandidateSequences,
            preferred_batch_size: [...s.strategy.preferredBatchSizes],
            max_queue_delay_microseconds: s.strategy.maxQueueDelayMicroseconds,
          },
        }),
  };
}
