/// The sequence blocks in the op registry (listed in OpRegistry.tables). Tensor names and
/// parameters: the doc comments of each kernel and docs/engine.md ("Sequence blocks").
let sequenceOps: [String: OpFactory] = [
    "lstm": { try LSTMKernel($0.prefixed()) },
    "tcn_block": { try TemporalBlockKernel($0.prefixed()) },
    "mamba": { try MambaKernel($0.prefixed()) },
]
