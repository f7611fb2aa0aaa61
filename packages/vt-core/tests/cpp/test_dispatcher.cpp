// dispatch/dispatcher.h: definition, kernels typed and boxed, wrapper layers, call errors.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "dispatch/dispatcher.h"
#include "ops/ops.h"

namespace vt {
namespace {

template <typename F>
void expect_error(F&& f, vt_status_t status, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "expected an error containing '" << fragment << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), status) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

Tensor vec(std::vector<float> values) {
  Tensor t = Tensor::empty(std::vector<int64_t>{int64_t(values.size())}, ScalarType::Float32);
  for (size_t i = 0; i < values.size(); ++i) t.data_as<float>()[i] = values[i];
  return t;
}

std::vector<float> values(const Tensor& t) {
  Tensor c = contiguous(t);
  return std::vector<float>(c.data_as<float>(), c.data_as<float>() + c.numel());
}

vt_value_t boxed(const Tensor& t) { return Boxer<Tensor>::box(t); }

TEST(Dispatcher, DefineIsIdempotentAndRejectsAConflictingSchema) {
  Op& a = define_op("test::idem(Tensor x) -> Tensor");
  Op& b = define_op("test::idem(Tensor x) -> Tensor");
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(find_op("test::idem"), &a);
  expect_error([] { define_op("test::idem(Tensor x, int k) -> Tensor"); }, VT_ERROR_VALUE,
               "already defined");
  EXPECT_EQ(find_op("test::nope"), nullptr);
  expect_error([] { get_op("test::nope"); }, VT_ERROR_VALUE, "no op named 'test::nope'");
}

// self + a * other, computed by the core's add; counts its calls.
vt_status_t axpy_boxed(void* context, vt_op_t, const vt_value_t* args, int64_t nargs,
                       vt_value_t* outs, int64_t nouts) {
  ++*static_cast<int*>(context);
  if (nargs != 3 || nouts != 1) return VT_ERROR_INTERNAL;
  double a = args[2].tag == VT_VALUE_INT ? double(args[2].u.i) : args[2].u.d;
  Tensor r = add(Boxer<Tensor>::unbox(args[0]), Boxer<Tensor>::unbox(args[1]), Scalar(a));
  ResultBoxer<Tensor>::box(std::move(r), outs);
  return VT_OK;
}

TEST(Dispatcher, BoxedKernelServesBoxedAndTypedCalls) {
  static int calls = 0;
  Op& op = define_op("test::axpy(Tensor x, Tensor y, *, float a=2.0) -> Tensor");
  op.set_kernel(VT_DEVICE_CPU, {&axpy_boxed, &calls, nullptr, nullptr});
  Tensor x = vec({1, 2, 3}), y = vec({10, 20, 30});

  vt_value_t args[2] = {boxed(x), boxed(y)};  // a comes from the schema default
  vt_value_t out[1];
  call_boxed(op, args, 2, out, 1);
  EXPECT_EQ(values(ResultBoxer<Tensor>::unbox(out)), (std::vector<float>{21, 42, 63}));

  OpHandle<Tensor(const Tensor&, const Tensor&, double)> typed("test::axpy");
  EXPECT_EQ(values(typed(x, y, 0.5)), (std::vector<float>{6, 12, 18}));
  EXPECT_EQ(calls, 2);
}

Tensor twice_kernel(const Tensor& x) { return add(x, x); }

TEST(Dispatcher, TypedKernelServesBoxedCallsThroughTheAdapter) {
  define_op("test::twice(Tensor x) -> Tensor");
  register_kernel("test::twice", VT_DEVICE_CPU, &twice_kernel);
  Tensor x = vec({1, -2});
  vt_value_t args[1] = {boxed(x)};
  vt_value_t out[1];
  call_boxed(get_op("test::twice"), args, 1, out, 1);
  EXPECT_EQ(values(ResultBoxer<Tensor>::unbox(out)), (std::vector<float>{2, -4}));
  OpHandle<Tensor(const Tensor&)> typed("test::twice");
  EXPECT_EQ(values(typed(x)), (std::vector<float>{2, -4}));
  // A typed signature that does not fit the schema is refused up front.
  expect_error([] { OpHandle<Tensor(const Tensor&, int64_t)> bad("test::twice"); },
               VT_ERROR_INTERNAL, "does not match the schema");
}

TEST(Dispatcher, BoxedCallsValidateArguments) {
  static int calls = 0;
  Op& op = define_op("test::axpy(Tensor x, Tensor y, *, float a=2.0) -> Tensor");
  op.set_kernel(VT_DEVICE_CPU, {&axpy_boxed, &calls, nullptr, nullptr});
  Tensor x = vec({1});
  vt_value_t out[1];
  vt_value_t too_few[1] = {boxed(x)};
  expect_error([&] { call_boxed(op, too_few, 1, out, 1); }, VT_ERROR_TYPE,
               "missing required argument 'y'");
  vt_value_t wrong[2] = {boxed(x), Boxer<int64_t>::box(3)};
  expect_error([&] { call_boxed(op, wrong, 2, out, 1); }, VT_ERROR_TYPE,
               "argument 'y' must be Tensor");
  vt_value_t args[2] = {boxed(x), boxed(x)};
  vt_value_t outs2[2];
  expect_error([&] { call_boxed(op, args, 2, outs2, 2); }, VT_ERROR_TYPE, "returns 1 values");
  vt_value_t too_many[4] = {boxed(x), boxed(x), Boxer<double>::box(1.0), Boxer<double>::box(1.0)};
  expect_error([&] { call_boxed(op, too_many, 4, out, 1); }, VT_ERROR_TYPE,
               "takes 3 arguments but 4 were given");
  EXPECT_EQ(calls, 0);  // validation happens before any kernel runs
}

TEST(Dispatcher, OpWithoutReturns) {
  static int calls = 0;
  Op& op = define_op("test::sink(Tensor x) -> ()");
  EXPECT_TRUE(op.schema().returns.empty());
  op.set_kernel(VT_DEVICE_CPU, {[](void* c, vt_op_t, const vt_value_t*, int64_t, vt_value_t*,
                                   int64_t nouts) {
                                  ++*static_cast<int*>(c);
                                  return nouts == 0 ? VT_OK : VT_ERROR_INTERNAL;
                                }, &calls, nullptr, nullptr});
  Tensor x = vec({1});
  vt_value_t args[1] = {boxed(x)};
  call_boxed(op, args, 1, nullptr, 0);
  EXPECT_EQ(calls, 1);
}

TEST(Dispatcher, MissingKernelIsNotImplemented) {
  Op& op = define_op("test::no_kernel(Tensor x) -> Tensor");
  Tensor x = vec({1});
  vt_value_t args[1] = {boxed(x)};
  vt_value_t out[1];
  expect_error([&] { call_boxed(op, args, 1, out, 1); }, VT_ERROR_NOT_IMPLEMENTED,
               "Could not run 'test::no_kernel' with arguments from the 'cpu' device");
  EXPECT_EQ(vt_op_call(op.to_c(), args, 1, out, 1), VT_ERROR_NOT_IMPLEMENTED);  // same via C
  EXPECT_EQ(out[0].tag, VT_VALUE_NONE);
}

TEST(Dispatcher, KernelFailureAndWrongResultKindSurface) {
  Op& op = define_op("test::fails(Tensor x) -> Tensor");
  op.set_kernel(VT_DEVICE_CPU, {[](void*, vt_op_t, const vt_value_t*, int64_t, vt_value_t*,
                                   int64_t) {
                                  vt_set_last_error(VT_ERROR_INDEX, "test::fails: index 7");
                                  return VT_ERROR_INDEX;
                                }, nullptr, nullptr, nullptr});
  Tensor x = vec({1});
  vt_value_t args[1] = {boxed(x)};
  vt_value_t out[1];
  expect_error([&] { call_boxed(op, args, 1, out, 1); }, VT_ERROR_INDEX, "index 7");

  Op& liar = define_op("test::liar(Tensor x) -> Tensor");
  liar.set_kernel(VT_DEVICE_CPU, {[](void*, vt_op_t, const vt_value_t*, int64_t, vt_value_t* o,
                                     int64_t) {
                                    o[0].tag = VT_VALUE_INT;
                                    o[0].u.i = 1;
                                    return VT_OK;
                                  }, nullptr, nullptr, nullptr});
  expect_error([&] { call_boxed(liar, args, 1, out, 1); }, VT_ERROR_INTERNAL,
               "wrong kind for return 0");
}

TEST(Dispatcher, DeviceMismatchIsRejected) {
  register_device_type(VT_DEVICE_EXT, "fakedev");
  static float host[2] = {1, 2};
  int64_t size = 2;
  vt_tensor_t handle = nullptr;
  ASSERT_EQ(vt_tensor_from_blob(host, &size, nullptr, 1, VT_DTYPE_FLOAT32,
                                vt_device_t{VT_DEVICE_EXT, 0}, nullptr, nullptr, &handle), VT_OK);
  Tensor on_ext = Tensor::from_c_owned(handle);
  Tensor on_cpu = vec({1, 2});
  expect_error([&] { add(on_cpu, on_ext); }, VT_ERROR_INVALID_ARGUMENT,
               "Expected all tensors to be on the same device, but found at least two devices, "
               "cpu and fakedev:0");
  // A 0-dim CPU tensor may join another device (as a Python scalar would); the call then
  // resolves to that device, which has no add kernel here.
  Tensor scalar = full({}, Scalar(1.0), ScalarType::Float32);
  expect_error([&] { add(scalar, on_ext); }, VT_ERROR_NOT_IMPLEMENTED, "'fakedev:0' device");
}

// Layers record their name, then redispatch below themselves.
struct Trace {
  std::vector<std::string> events;
};
thread_local Trace* t_trace = nullptr;

template <int Layer>
vt_status_t recording_layer(void* context, vt_op_t op, const vt_value_t* args, int64_t nargs,
                            vt_value_t* outs, int64_t nouts) {
  if (t_trace) t_trace->events.push_back(static_cast<const char*>(context));
  return vt_op_call_below(op, Layer, args, nargs, outs, nouts);
}

vt_status_t recording_kernel(void*, vt_op_t, const vt_value_t* args, int64_t, vt_value_t* outs,
                             int64_t) {
  if (t_trace) t_trace->events.push_back("kernel");
  // Negates by hand: a nested op call would meet the input's layers again.
  Tensor x = Boxer<Tensor>::unbox(args[0]);
  Tensor r = Tensor::empty(x.sizes(), ScalarType::Float32);
  for (int64_t i = 0; i < x.numel(); ++i) r.data_as<float>()[i] = -x.data_as<float>()[i];
  ResultBoxer<Tensor>::box(std::move(r), outs);
  return VT_OK;
}

Op& layered_op() {
  static Op& op = [] () -> Op& {
    Op& o = define_op("test::layered(Tensor x) -> Tensor");
    o.set_kernel(VT_DEVICE_CPU, {&recording_kernel, nullptr, nullptr, nullptr});
    o.set_layer(VT_LAYER_TRACE, {&recording_layer<VT_LAYER_TRACE>, (void*)"trace", nullptr, nullptr});
    o.set_layer(VT_LAYER_AUTOGRAD,
                {&recording_layer<VT_LAYER_AUTOGRAD>, (void*)"autograd", nullptr, nullptr});
    return o;
  }();
  return op;
}

std::vector<std::string> run_layered(const Tensor& x) {
  Trace trace;
  t_trace = &trace;
  vt_value_t args[1] = {boxed(x)};
  vt_value_t out[1];
  call_boxed(layered_op(), args, 1, out, 1);
  t_trace = nullptr;
  EXPECT_EQ(values(ResultBoxer<Tensor>::unbox(out)), (std::vector<float>{-3}));  // kernel ran
  return trace.events;
}

using Events = std::vector<std::string>;

TEST(Dispatcher, TensorLayerMaskActivatesLayers) {
  Tensor x = vec({3});
  EXPECT_EQ(run_layered(x), (Events{"kernel"}));
  x.impl()->set_layer_mask(1u << VT_LAYER_TRACE);
  EXPECT_EQ(run_layered(x), (Events{"trace", "kernel"}));
  // The highest active layer runs first and each redispatches below itself.
  x.impl()->set_layer_mask((1u << VT_LAYER_TRACE) | (1u << VT_LAYER_AUTOGRAD));
  EXPECT_EQ(run_layered(x), (Events{"trace", "autograd", "kernel"}));
}

TEST(Dispatcher, ThreadLocalIncludedAndExcludedMasks) {
  Tensor x = vec({3});
  uint32_t prev_included = vt_layers_set_included(1u << VT_LAYER_AUTOGRAD);
  EXPECT_EQ(run_layered(x), (Events{"autograd", "kernel"}));
  Events other;
  std::thread([&] { other = run_layered(x); }).join();  // another thread has its own state
  EXPECT_EQ(other, (Events{"kernel"}));
  vt_layers_set_included(prev_included);

  x.impl()->set_layer_mask(1u << VT_LAYER_TRACE);
  uint32_t prev_excluded = vt_layers_set_excluded(1u << VT_LAYER_TRACE);
  EXPECT_EQ(run_layered(x), (Events{"kernel"}));
  vt_layers_set_excluded(prev_excluded);
  EXPECT_EQ(run_layered(x), (Events{"trace", "kernel"}));
}

TEST(Dispatcher, FallbackLayerWrapsEveryOp) {
  // Through the C ABI, as vt-autograd or the Python bindings would register it.
  ASSERT_EQ(vt_op_register_layer(nullptr, VT_LAYER_PYTHON, &recording_layer<VT_LAYER_PYTHON>,
                                 (void*)"python"), VT_OK);
  EXPECT_EQ(vt_op_register_layer(nullptr, VT_LAYER_COUNT, &recording_layer<VT_LAYER_PYTHON>,
                                 nullptr), VT_ERROR_VALUE);
  Tensor x = vec({3});
  Trace trace;
  t_trace = &trace;
  Tensor plain = neg(x);  // no mask bit: the fallback stays out of the way
  x.impl()->set_layer_mask(1u << VT_LAYER_PYTHON);
  Tensor wrapped = neg(x);  // a core op, through its typed handle
  t_trace = nullptr;
  EXPECT_EQ(trace.events, (Events{"python"}));
  EXPECT_EQ(values(wrapped), (std::vector<float>{-3}));
  EXPECT_EQ(values(plain), (std::vector<float>{-3}));
  // An op's own layer and the fallback at another level compose.
  x.impl()->set_layer_mask((1u << VT_LAYER_PYTHON) | (1u << VT_LAYER_TRACE));
  EXPECT_EQ(run_layered(x), (Events{"trace", "python", "kernel"}));
  set_fallback_layer(VT_LAYER_PYTHON, KernelSlot{});  // later tests see no fallback
  EXPECT_EQ(fallback_layer_bits(), 0u);
}

}  // namespace
}  // namespace vt
