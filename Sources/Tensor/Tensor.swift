// Tensor: affectd's neural runtime — float32 tensors, kernels on OpenBLAS, safetensors loading and
// manifest-declared networks.
