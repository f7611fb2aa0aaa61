// Kernel registration entry points of the op families, called once by register_core_ops().
#pragma once

namespace vt {
void define_core_schemas();
void register_view_ops();
void register_copy_ops();
void register_factory_ops();
void register_binary_ops();
void register_unary_ops();
void register_reduce_ops();
}  // namespace vt
