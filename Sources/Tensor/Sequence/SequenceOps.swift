/// The sequence blocks in the op registry (listed in OpRegistry.tables).
let sequenceOps: [String: OpFactory] = [
    "lstm": { try LSTMKernel($0) },
    "tcn_block": { try TemporalBlockKernel($0) },
    "mamba": { try MambaKernel($0) },
]
