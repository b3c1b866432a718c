/// The image/general kernels by op name. Parameters per op: docs/model-package.md ("Blocks").
let kernelOps: [String: OpFactory] = [
    "conv2d": { try Conv2DKernel(spec: $0) },
    "linear": { try LinearKernel(spec: $0) },
    "maxpool": { try PoolKernel(spec: $0, mode: .max) },
    "avgpool": { try PoolKernel(spec: $0, mode: .average) },
    "global_avg_pool": { _ in GlobalAveragePoolKernel() },
    "batchnorm": { spec in
        let c = try spec.int("channels", default: nil)
        guard let bn = try BatchNormParams(spec: spec, prefix: "bn", channels: c) else {
            throw TensorError.missing("batchnorm: bn.mean and bn.var")
        }
        return ChannelAffineKernel(
            scale: bn.scale, shift: bn.shift,
            activation: try Activation(name: spec.params["activation"]?.string))
    },
    "prelu": { PReLUKernel(slope: try $0.tensor("slope")) },
    "relu": { _ in ActivationKernel(.relu) },
    "relu6": { _ in ActivationKernel(.relu6) },
    "leaky_relu": { ActivationKernel(.leakyRelu(Float(try $0.double("alpha", default: 0.01)))) },
    "sigmoid": { _ in ActivationKernel(.sigmoid) },
    "tanh": { _ in ActivationKernel(.tanh) },
    "silu": { _ in ActivationKernel(.silu) },
    "softplus": { _ in ActivationKernel(.softplus) },
    "gelu": { _ in ActivationKernel(.gelu) },
    "softmax": { SoftmaxKernel(axis: try $0.int("axis", default: -1)) },
    "layer_norm": { try NormKernel(spec: $0, rms: false) },
    "rms_norm": { try NormKernel(spec: $0, rms: true) },
    "add": { BinaryKernel(.add, activation: try Activation(name: $0.params["activation"]?.string)) },
    "mul": { BinaryKernel(.mul, activation: try Activation(name: $0.params["activation"]?.string)) },
    "concat": { ConcatKernel(axis: try $0.int("axis", default: -1)) },
    "flatten": { spec in
        let o = try spec.string("order", default: "nhwc")
        guard let order = FlattenKernel.Order(rawValue: o) else { throw TensorError.invalid("flatten: order \(o)") }
        return FlattenKernel(order: order)
    },
]
