// Op families: each defines its ops (schema next to kernel) in its register function, which
// register_core_ops() calls once.
#pragma once

namespace vt {
void register_core_ops();
void register_view_ops();
void register_copy_ops();
void register_factory_ops();
void register_binary_ops();
void register_unary_ops();
void register_reduce_ops();
void register_linalg_ops();
void register_shape_ops();
void register_index_ops();
void register_random_ops();
void register_nn_ops();
void register_optim_ops();
}  // namespace vt
