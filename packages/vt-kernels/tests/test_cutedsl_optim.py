"""The CuTeDSL backend of the fused AdamW and SGD steps.

Without a GPU (CI) every kernel variant is compiled for sm_90a, the launch arguments are checked
against the DSL's own marshalling and the per-group table is checked on CPU tensors; with a GPU
the steps are compared with torch.optim over several steps on lists of odd-sized tensors.
"""

import ctypes
import os

import pytest
import torch
from conftest import ON_GPU
from cutedsl_marshalling import assert_launch_arguments_match
from optim_reference import SGD_OPTIONS, make_grads, make_params, torch_run
from tolerances import assert_close

if not ON_GPU:
    os.environ.setdefault("CUTE_DSL_ARCH", "sm_90a")  # before cutlass is imported
pytest.importorskip("cutlass", reason="nvidia-cutlass-dsl is not installed")

import vt.kernels as vk
from vt.kernels import _registry, optim
from vt.kernels.cutedsl import optim as cuted  # registers the backend
from vt.kernels.optim import adamw_step, sgd_step

ARCH = None if ON_GPU else "sm_90a"


# ---------------------------------------------------------------------------------------------
# everywhere: compilation, launch arguments, the table, registration


def test_every_float32_variant_compiles_for_sm90():
    # step number / tensor / per-tensor tensors, maximize; SGD with and without momentum,
    # first step, Nesterov, weight decay
    assert cuted.compile_all("float32", False, ARCH) == 14


@pytest.mark.parametrize("param, master", [("bfloat16", True), ("float16", True),
                                           ("bfloat16", False), ("float16", False)])
def test_low_precision_params_compile_with_and_without_master_weights(param, master):
    state = "float32" if master else param
    arrays = cuted.Arrays(param, param, state, master, cuted._widest(param, param, state, master))
    assert arrays.vec == (4 if master else 8)
    cuted._compiled_adamw(arrays, 2 if master else 1, master, ARCH)
    no_state = cuted.Arrays(param, param, None, master, arrays.vec)
    cuted._compiled_sgd(arrays, True, True, False, True, not master, ARCH)
    cuted._compiled_sgd(no_state, master, False, False, False, False, ARCH)


def test_mixed_dtypes_and_narrow_vectors_compile():
    # float32 grads of bfloat16 params; misaligned bases: 2-element and 1-element accesses
    cuted._compiled_adamw(cuted.Arrays("bfloat16", "float32", "bfloat16", False, 2), 0, False,
                          ARCH)
    cuted._compiled_sgd(cuted.Arrays("float32", "float32", "float32", False, 1), False, True,
                        True, False, False, ARCH)


F32 = cuted.Arrays("float32", "float32", "float32", False, 4)


@pytest.mark.parametrize("build", [
    lambda: cuted._compiled_adamw(F32, 0, False, ARCH),
    lambda: cuted._compiled_adamw(F32, 1, True, ARCH),
    lambda: cuted._compiled_adamw(F32, 2, False, ARCH),
    lambda: cuted._compiled_sgd(F32, True, True, False, True, False, ARCH),
], ids=["adamw_step_number", "adamw_step_tensor", "adamw_step_per_tensor", "sgd"])
def test_fast_launch_arguments_match_the_dsl_marshalling(build):
    kernel = build()
    assert_launch_arguments_match(kernel)


def test_adamw_launch_arguments_follow_the_compiled_signature():
    # the launcher passes: table, step pointer (mode 1 only), 2 ints, 11 floats, stream
    for mode in (0, 1, 2):
        kernel = cuted._compiled_adamw(F32, mode, False, ARCH)
        slots = [s for s in kernel.slots if s is not None]
        assert slots == [ctypes.c_void_p] * (2 if mode == 1 else 1) + [ctypes.c_int32] * 2 + \
            [ctypes.c_float] * 11 + [ctypes.c_void_p]


def test_chunk_views_cover_every_element_once():
    # the index math of _vectors: element j of unrolled vector u of thread t in group k
    for vec in (1, 2, 4, 8):
        groups = cuted._CHUNK // (vec * cuted._THREADS * cuted._UNROLL)
        seen = sorted(j + u * vec * cuted._THREADS + t * vec + k * vec * cuted._THREADS *
                      cuted._UNROLL for j in range(vec) for u in range(cuted._UNROLL)
                      for t in range(cuted._THREADS) for k in range(groups))
        assert seen == list(range(cuted._CHUNK))


def _cpu_group(numels, dtypes=("float32", "float32", "float32", False)):
    return optim._Group(list(range(len(numels))), dtypes, list(numels), True)


def test_table_rows_and_chunk_entries():
    numels = [1, 8192, 8193, 20000]
    params = [torch.zeros(n) for n in numels]
    grads = [torch.zeros(n) for n in numels]
    avgs = [torch.zeros(n) for n in numels]
    table = cuted._Table(_cpu_group(numels), {cuted._PARAM: params, cuted._GRAD: grads,
                                              cuted._STATE1: avgs}, params[0])
    values = table.values.tolist()
    rows = [values[i * cuted._FIELDS:(i + 1) * cuted._FIELDS] for i in range(4)]
    chunks = values[4 * cuted._FIELDS:]
    assert chunks == [0, 1, 2, 2, 3, 3, 3] and table.num_chunks == 7 and table.num_tensors == 4
    for k, row in enumerate(rows):
        assert row[cuted._PARAM] == params[k].data_ptr()
        assert row[cuted._GRAD] == grads[k].data_ptr()
        assert row[cuted._STATE1] == avgs[k].data_ptr()
        assert row[cuted._STATE2] == row[cuted._MASTER] == row[cuted._STEP] == 0
        assert row[cuted._NUMEL] == numels[k]
        assert chunks[row[cuted._FIRST_CHUNK]] == k
        assert row[cuted._FIRST_CHUNK] == 0 or chunks[row[cuted._FIRST_CHUNK] - 1] == k - 1
    assert table.arrays == cuted.Arrays("float32", "float32", "float32", False, 4)


def test_table_vector_width_follows_every_base_address():
    base = torch.zeros(64, dtype=torch.bfloat16)
    group = _cpu_group([16], ("bfloat16", "bfloat16", "bfloat16", False))
    aligned = cuted._Table(group, {cuted._PARAM: [base[:16]], cuted._GRAD: [base[32:48]]}, base)
    assert aligned.arrays.vec == 8 and aligned.arrays.state is None
    off = cuted._Table(group, {cuted._PARAM: [base[:16]], cuted._GRAD: [base[34:50]]}, base)
    assert off.arrays.vec == 2  # 4-byte aligned grads
    master = _cpu_group([16], ("bfloat16", "bfloat16", "float32", True))
    m = torch.zeros(16)
    mixed = cuted._Table(master, {cuted._PARAM: [base[:16]], cuted._GRAD: [base[16:32]],
                                  cuted._STATE1: [m], cuted._STATE2: [m], cuted._MASTER: [m]},
                         base)
    assert mixed.arrays == cuted.Arrays("bfloat16", "bfloat16", "float32", True, 4)


def test_tables_are_cached_per_group_and_fields():
    params = [torch.zeros(10), torch.zeros(3)]
    group = _cpu_group([10, 3])
    fields = {cuted._PARAM: params, cuted._GRAD: params}
    first = cuted._table(group, fields, params[0])
    assert cuted._table(group, dict(fields), params[0]) is first
    assert cuted._table(group, {**fields, cuted._STATE1: params}, params[0]) is not first
    count = len(cuted._tables)
    del group  # dropped from optim.py's plan cache: its tables go too
    assert len(cuted._tables) == count - 1


def test_backend_is_registered_and_declines_what_it_cannot_run():
    for kernel in ("adamw", "sgd"):
        assert "cutedsl" in vk.implementations(kernel)
    params = [torch.zeros(4)]
    group = _cpu_group([4])
    args = (group, params, params, params, params, None, 1.0, 1e-3, 0.9, 0.999, 1e-8, 0.0, False)
    assert "CUDA" in cuted._adamw_supports(*args)
    assert "CUDA" in dict(_registry.explain("adamw", *args))["cutedsl"]
    assert "CUDA" in cuted._sgd_supports(group, params, params, None, None, 0.1, 0.0, 0.0, 0.0,
                                         False, False, False)
    strided = optim._Group([0], ("float32",) * 3 + (False,), [4], False)
    assert "non-contiguous" in cuted._sgd_supports(strided, params, params, None, None, 0.1, 0.0,
                                                   0.0, 0.0, False, False, False)


# ---------------------------------------------------------------------------------------------
# on a GPU: several steps against torch.optim (float32 math on the same values)

SHAPES = [(1,), (7, 3), (1000,), (33, 65), (9000,), (3 * 8192 + 5,), (8192,)]
STEPS = 6
FP32 = {"atol": 1e-6, "rtol": 1e-5}


def _selects_cutedsl(kernel, *args):
    with vk.use_impl("cutedsl"):
        impl = _registry.select(kernel, *args)
    assert impl.backend == "cutedsl", _registry.explain(kernel, *args)


ADAMW_OPTIONS = [{"weight_decay": 0.0}, {"weight_decay": 0.1},
                 {"weight_decay": 0.1, "maximize": True},
                 {"weight_decay": 0.01, "betas": (0.8, 0.95), "eps": 1e-6, "lr": 1e-2},
                 {"weight_decay": 0.01, "betas": (0.0, 0.99)}]


@pytest.mark.cuda
@pytest.mark.parametrize("options, step_kind", [(o, "int") for o in ADAMW_OPTIONS] + [
    (ADAMW_OPTIONS[1], "tensor"), (ADAMW_OPTIONS[2], "tensor"), (ADAMW_OPTIONS[3], "per_tensor"),
    (ADAMW_OPTIONS[4], "per_tensor")])
def test_adamw_matches_torch(options, step_kind):
    params = make_params("cuda", shapes=SHAPES)
    expected, _ = torch_run(torch.optim.AdamW, params, STEPS, **options)
    lr = options.get("lr", 1e-3)
    beta1, beta2 = options.get("betas", (0.9, 0.999))
    avgs = [torch.zeros_like(p) for p in params]
    avg_sqs = [torch.zeros_like(p) for p in params]
    steps = [torch.zeros((), device="cuda") for _ in params]
    with vk.use_impl("cutedsl"):
        for step in range(1, STEPS + 1):
            if step_kind == "int":
                s = step
            elif step_kind == "tensor":
                s = torch.tensor(float(step), device="cuda")
            else:
                torch._foreach_add_(steps, 1.0)
                s = steps
            grads = make_grads(params, step - 1)
            if step == 1:
                group, = optim._plan("adamw_step", params, grads,
                                     {"exp_avg": avgs, "exp_avg_sq": avg_sqs}, None,
                                     s if step_kind == "per_tensor" else None)
                _selects_cutedsl("adamw", group, params, grads, avgs, avg_sqs, None, s, lr,
                                 beta1, beta2, 1e-8, 0.0, False)
            adamw_step(params, grads, avgs, avg_sqs, s, lr, beta1, beta2,
                       options.get("eps", 1e-8), options["weight_decay"],
                       maximize=options.get("maximize", False))
    for p, e in zip(params, expected):
        assert_close(p, e, **FP32)


@pytest.mark.cuda
@pytest.mark.parametrize("options", SGD_OPTIONS)
def test_sgd_matches_torch(options):
    params = make_params("cuda", shapes=SHAPES)
    expected, _ = torch_run(torch.optim.SGD, params, STEPS, lr=0.05, **options)
    momentum = options["momentum"]
    bufs = [torch.empty_like(p) for p in params] if momentum else None
    with vk.use_impl("cutedsl"):
        for step in range(STEPS):
            sgd_step(params, make_grads(params, step), bufs, 0.05, momentum,
                     options.get("dampening", 0.0), options.get("weight_decay", 0.0),
                     options.get("nesterov", False), maximize=options.get("maximize", False),
                     first_step=step == 0)
    for p, e in zip(params, expected):
        assert_close(p, e, **FP32)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("kind", ["adamw", "sgd"])
def test_master_weights_follow_a_float32_torch_run(kind, dtype):
    params = make_params("cuda", dtype, shapes=SHAPES)
    if kind == "adamw":
        expected, _ = torch_run(torch.optim.AdamW, params, STEPS, lr=1e-2, weight_decay=0.1)
    else:
        expected, _ = torch_run(torch.optim.SGD, params, STEPS, lr=0.05, momentum=0.9,
                                nesterov=True)
    leaves = [p.clone().requires_grad_(True) for p in params]
    with vk.use_impl("cutedsl"):
        if kind == "adamw":
            opt = optim.AdamW(leaves, lr=1e-2, weight_decay=0.1, master_weights=True)
        else:
            opt = optim.SGD(leaves, lr=0.05, momentum=0.9, nesterov=True, master_weights=True)
        for step in range(STEPS):
            for leaf, g in zip(leaves, make_grads(params, step)):
                leaf.grad = g
            opt.step()
    for leaf, e in zip(leaves, expected):
        master = opt.state[leaf]["master_param"]
        assert leaf.dtype == dtype and master.dtype == torch.float32
        assert_close(master, e, **FP32)
        assert torch.equal(leaf.detach(), master.to(dtype))  # the master rounded once


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_low_precision_params_without_master_agree_with_triton(dtype):
    params = (make_params("cuda", dtype, shapes=SHAPES)
              + make_params("cuda", torch.float32, shapes=[(5,), (300,)]))
    results = {}
    for backend in ("triton", "cutedsl"):
        ps = [p.clone() for p in params]
        avgs = [torch.zeros_like(p) for p in ps]
        avg_sqs = [torch.zeros_like(p) for p in ps]
        bufs = [torch.empty_like(p) for p in ps]
        with vk.use_impl(backend):
            for step in range(1, 4):
                grads = make_grads(ps, step)
                adamw_step(ps, grads, avgs, avg_sqs, step, 1e-2, 0.9, 0.999, 1e-8, 0.1)
                sgd_step(ps, grads, bufs, 0.01, 0.9, 0.0, 0.0, False, first_step=step == 1)
        results[backend] = (ps, avgs, avg_sqs, bufs)
    for got, want in zip(results["cutedsl"], results["triton"]):
        for a, b in zip(got, want):
            assert a.dtype == b.dtype
            assert_close(a, b, b.dtype)


@pytest.mark.cuda
def test_misaligned_tensors_take_narrower_vectors():
    storage = make_params("cuda", shapes=[(20001,)])[0]
    params = [storage[1:10001], storage[10001:20001]]  # 4-byte aligned bases: 1-element access
    expected, _ = torch_run(torch.optim.AdamW, params, STEPS, weight_decay=0.1)
    avgs = [torch.zeros_like(p) for p in params]
    avg_sqs = [torch.zeros_like(p) for p in params]
    with vk.use_impl("cutedsl"):
        for step in range(1, STEPS + 1):
            grads = make_grads(params, step - 1)
            adamw_step(params, grads, avgs, avg_sqs, step, 1e-3, 0.9, 0.999, 1e-8, 0.1)
    group, = optim._plan("adamw_step", params, grads, {"exp_avg": avgs, "exp_avg_sq": avg_sqs},
                         None, None)  # the last step's plan (keyed on its pointers)
    assert next(iter(cuted._tables[group].values())).arrays.vec == 1
    for p, e in zip(params, expected):
        assert_close(p, e, **FP32)


@pytest.mark.cuda
def test_repeated_steps_reuse_the_cached_table_and_empty_lists_are_skipped():
    params = make_params("cuda", shapes=[(20,), (30,)])
    grads = make_grads(params, 0)
    avgs = [torch.zeros_like(p) for p in params]
    avg_sqs = [torch.zeros_like(p) for p in params]
    with vk.use_impl("cutedsl"):
        adamw_step(params, grads, avgs, avg_sqs, 1, 1e-3, 0.9, 0.999, 1e-8, 0.0)
        group, = optim._plan("adamw_step", params, grads, {"exp_avg": avgs, "exp_avg_sq": avg_sqs},
                             None, None)
        table, = cuted._tables[group].values()
        adamw_step(params, grads, avgs, avg_sqs, 2, 1e-3, 0.9, 0.999, 1e-8, 0.0)
        assert next(iter(cuted._tables[group].values())) is table
        adamw_step([], [], [], [], 1, 1e-3, 0.9, 0.999, 1e-8, 0.0)
        sgd_step([torch.zeros(0, device="cuda")], [torch.zeros(0, device="cuda")], None, 0.1,
                 0.0, 0.0, 0.0, False)


@pytest.mark.cuda
def test_cpu_tensors_fall_back_and_drop_in_optimizers_run_on_cutedsl():
    cpu = [torch.randn(5)]
    with vk.use_impl("cutedsl"):
        sgd_step(cpu, [torch.ones(5)], None, 0.5, 0.0, 0.0, 0.0, False)  # reference backend
        params = make_params("cuda", shapes=[(7, 3), (9000,)])
        expected, _ = torch_run(torch.optim.AdamW, params, STEPS, weight_decay=0.1)
        leaves = [p.clone().requires_grad_(True) for p in params]
        opt = optim.AdamW(leaves, weight_decay=0.1)
        for step in range(STEPS):
            for leaf, g in zip(leaves, make_grads(params, step)):
                leaf.grad = g
            opt.step()
    for leaf, e in zip(leaves, expected):
        assert_close(leaf, e, **FP32)
