// Matrix products: MatMul (numpy semantics, batched and broadcast), Gemm, and SpMM, a sparse
// CSR matrix (constant) times a dense one, for graph diffusion.
#include <fmt/format.h>

#include "graphs/autodiff.h"
#include "graphs/ops/helpers.h"
#include "graphs/ops/kernel_helpers.h"

namespace rdasim::graphs {

namespace {

using namespace ops;

/// MatMul's shapes with 1-D operands promoted: [batch..., M, K] x [batch..., K, N].
struct MatMulShapes {
  Shape batch;
  std::int64_t m = 1;
  std::int64_t k = 1;
  std::int64_t n = 1;
  Shape out;
};

MatMulShapes matmul_shapes(const OpContext& ctx) {
  ctx.require_rank(0, 1, k_variadic, "A");
  ctx.require_rank(1, 1, k_variadic, "B");
  Shape a = ctx.in_shape(0);
  Shape b = ctx.in_shape(1);
  const bool a_vector = a.size() == 1;
  const bool b_vector = b.size() == 1;
  if (a_vector) a.insert(a.begin(), 1);
  if (b_vector) b.push_back(1);
  MatMulShapes s;
  s.m = a[a.size() - 2];
  s.k = a.back();
  s.n = b.back();
  if (b[b.size() - 2] != s.k) {
    ctx.fail(fmt::format("inner dimensions differ: A {} has {} columns, B {} has {} rows", to_string(ctx.in_shape(0)),
                         s.k, to_string(ctx.in_shape(1)), b[b.size() - 2]));
  }
  auto batch = broadcast_shapes(Shape(a.begin(), a.end() - 2), Shape(b.begin(), b.end() - 2));
  if (!batch) {
    ctx.fail(fmt::format("batch dimensions of {} and {} do not broadcast", to_string(ctx.in_shape(0)),
                         to_string(ctx.in_shape(1))));
  }
  s.batch = *batch;
  s.out = s.batch;
  if (!a_vector) s.out.push_back(s.m);
  if (!b_vector) s.out.push_back(s.n);
  return s;
}

using namespace kernels;

struct MatMulKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    Shape a = io.in(0).shape;
    Shape b = io.in(1).shape;
    if (a.size() == 1) a.insert(a.begin(), 1);
    if (b.size() == 1) b.push_back(1);
    const std::int64_t m = a[a.size() - 2], k = a.back(), n = b.back();
    const Shape a_batch(a.begin(), a.end() - 2), b_batch(b.begin(), b.end() - 2);
    const Shape batch = broadcast_shapes(a_batch, b_batch).value();
    const T* pa = io.in(0).data.data();
    const T* pb = io.in(1).data.data();
    T* pc = io.out(0).data.data();
    if (batch.empty()) {
      gemm(pa, false, pb, false, pc, m, n, k, T(1), T(0));
      return;
    }
    for_each_broadcast<2>(batch, {&a_batch, &b_batch}, [&](std::int64_t o, const std::array<std::int64_t, 2>& off) {
      gemm(pa + off[0] * m * k, false, pb + off[1] * k * n, false, pc + o * m * n, m, n, k, T(1), T(0));
    });
  }
};

struct GemmKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    const bool ta = io.attrs().get_int("transA", 0) != 0;
    const bool tb = io.attrs().get_int("transB", 0) != 0;
    const auto alpha = static_cast<T>(io.attrs().get_float("alpha", 1.0));
    const auto beta = static_cast<T>(io.attrs().get_float("beta", 1.0));
    Array<T>& y = io.out(0);
    const std::int64_t m = y.shape[0], n = y.shape[1];
    const std::int64_t k = ta ? io.in(0).shape[0] : io.in(0).shape[1];
    T scale = T(0);
    if (io.has_input(2)) {
      const Array<T>& c = io.in(2);
      for_each_broadcast<1>(y.shape, {&c.shape}, [&](std::int64_t o, const std::array<std::int64_t, 1>& off) {
        y.data[to_size(o)] = c.data[to_size(off[0])];
      });
      scale = beta;
    }
    gemm(io.in(0).data.data(), ta, io.in(1).data.data(), tb, y.data.data(), m, n, k, alpha, scale);
  }
};

/// CSR rows times a dense [..., cols, N] operand, batch by batch; products accumulate in T.
struct SpMMKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    const auto row_ptr = io.ints(0);
    const auto col_idx = io.ints(1);
    const auto& values = io.in(2).data;
    const Array<T>& b = io.in(3);
    Array<T>& y = io.out(0);
    const std::int64_t rows = to_i64(row_ptr.size()) - 1;
    const std::int64_t cols = io.attrs().get_int("cols", 0);
    const std::int64_t n = b.shape.back();
    const std::int64_t nnz = to_i64(col_idx.size());
    if (row_ptr.front() != 0) io.fail(fmt::format("row_ptr must start at 0, found {}", row_ptr.front()));
    for (std::int64_t r = 0; r < rows; ++r) {
      if (row_ptr[to_size(r + 1)] < row_ptr[to_size(r)] || row_ptr[to_size(r + 1)] > nnz) {
        io.fail(fmt::format("row_ptr decreases or passes the {} nonzeros at row {}", nnz, r));
      }
    }
    for (auto c : col_idx) {
      if (c < 0 || c >= cols) io.fail(fmt::format("column index {} is outside 0..{}", c, cols - 1));
    }
    const std::int64_t batches = to_i64(y.size()) / (rows * n == 0 ? 1 : rows * n);
    std::fill(y.data.begin(), y.data.end(), T(0));
    for (std::int64_t bt = 0; bt < batches; ++bt) {
      const T* bb = b.data.data() + bt * cols * n;
      T* yb = y.data.data() + bt * rows * n;
      for (std::int64_t r = 0; r < rows; ++r) {
        T* yr = yb + r * n;
        for (std::int64_t e = row_ptr[to_size(r)]; e < row_ptr[to_size(r + 1)]; ++e) {
          const T v = values[to_size(e)];
          const T* br = bb + col_idx[to_size(e)] * n;
          for (std::int64_t j = 0; j < n; ++j) yr[j] += v * br[j];
        }
      }
    }
  }
};

/// `t` with its last two dimensions swapped.
TensorId swap_last(GradientBuilder& b, TensorId t, const std::string& what) {
  const auto rank = static_cast<std::int64_t>(b.shape(t).size());
  std::vector<std::int64_t> perm;
  for (std::int64_t i = 0; i < rank - 2; ++i) perm.push_back(i);
  perm.push_back(rank - 1);
  perm.push_back(rank - 2);
  return b.emit("Transpose", what, {t}, make_attrs({{"perm", perm}}));
}

/// dA = dY B^T, dB = A^T dY, summed over the batch dimensions broadcasting added.
void matmul_gradient(GradientBuilder& b) {
  if (b.shape(b.input(0)).size() < 2 || b.shape(b.input(1)).size() < 2) b.unsupported("1-D operands");
  const TensorId g = b.grad_output(0);
  if (b.wants(0)) {
    const TensorId da = b.emit("MatMul", "da", {g, swap_last(b, b.input(1), "b_t")});
    b.set_grad(0, b.sum_to(da, b.shape(b.input(0))));
  }
  if (b.wants(1)) {
    const TensorId db = b.emit("MatMul", "db", {swap_last(b, b.input(0), "a_t"), g});
    b.set_grad(1, b.sum_to(db, b.shape(b.input(1))));
  }
}

/// Y = alpha op(A) op(B) + beta C: each operand's gradient is one Gemm with the transposes
/// chosen so that no Transpose op is needed.
void gemm_gradient(GradientBuilder& b) {
  const bool ta = b.attrs().get_int("transA", 0) != 0, tb = b.attrs().get_int("transB", 0) != 0;
  const double alpha = b.attrs().get_float("alpha", 1.0), beta = b.attrs().get_float("beta", 1.0);
  const TensorId g = b.grad_output(0);
  auto gemm = [&](const std::string& what, TensorId x, bool tx, TensorId y, bool ty) {
    return b.emit("Gemm", what, {x, y},
                  make_attrs({{"alpha", alpha}, {"transA", std::int64_t{tx}}, {"transB", std::int64_t{ty}}}));
  };
  if (b.wants(0)) b.set_grad(0, ta ? gemm("da", b.input(1), tb, g, true) : gemm("da", g, false, b.input(1), !tb));
  if (b.wants(1)) b.set_grad(1, tb ? gemm("db", g, true, b.input(0), ta) : gemm("db", b.input(0), !ta, g, false));
  if (b.wants(2)) {
    TensorId dc = beta == 1.0 ? g : b.emit("Mul", "dc_scaled", {g, b.scalar("beta", beta)});
    b.set_grad(2, b.sum_to(dc, b.shape(b.input(2))));
  }
}

/// dB = S^T dY with S^T built once, here, from the constant CSR arrays.
void spmm_gradient(GradientBuilder& b) {
  if (b.wants(2)) b.unsupported("the sparse values must be constants");
  const auto& row_ptr = b.tensor(b.input(0)).values;
  const auto& col_idx = b.tensor(b.input(1)).values;
  const auto& values = b.tensor(b.input(2)).values;
  if (!row_ptr || !col_idx || !values) b.unsupported("the CSR arrays must be constants");
  const auto rows = static_cast<std::int64_t>(row_ptr->size()) - 1;
  const std::int64_t cols = b.attrs().get_int("cols", 0);
  std::vector<std::int64_t> t_ptr(static_cast<std::size_t>(cols + 1), 0), t_idx(col_idx->size());
  std::vector<double> t_val(values->size());
  for (double c : *col_idx) ++t_ptr[static_cast<std::size_t>(c) + 1];
  for (std::int64_t c = 0; c < cols; ++c) t_ptr[static_cast<std::size_t>(c + 1)] += t_ptr[static_cast<std::size_t>(c)];
  std::vector<std::int64_t> next(t_ptr.begin(), t_ptr.end() - 1);
  for (std::int64_t r = 0; r < rows; ++r) {
    for (auto e = static_cast<std::size_t>((*row_ptr)[static_cast<std::size_t>(r)]);
         e < static_cast<std::size_t>((*row_ptr)[static_cast<std::size_t>(r + 1)]); ++e) {
      const auto at = static_cast<std::size_t>(next[static_cast<std::size_t>((*col_idx)[e])]++);
      t_idx[at] = r;
      t_val[at] = (*values)[e];
    }
  }
  const auto count = static_cast<std::int64_t>(t_val.size());
  const TensorId tv = b.constant("values_t", {count}, std::move(t_val), b.tensor(b.input(2)).dtype);
  b.set_grad(3, b.emit("SpMM", "db", {b.ints("row_ptr_t", t_ptr), b.ints("col_idx_t", t_idx), tv, b.grad_output(0)},
                       make_attrs({{"cols", rows}})));
}

}  // namespace

/// MatMul with numpy rules: an output row (M) needs its row of A whole, a column (N) its column
/// of B; a batch axis streams both operands that have it, one matrix per slice; an operand
/// without batch axes (shared by every matrix) is needed whole.
StreamNeed matmul_need(const OpContext& ctx, std::size_t slot, std::size_t out_axis) {
  const Shape& a = ctx.in_shape(0);
  const Shape& b = ctx.in_shape(1);
  const Shape& out = ctx.output(0).shape;
  const bool has_m = a.size() >= 2, has_n = b.size() >= 2;
  const std::size_t matrix_axes = (has_m ? 1u : 0u) + (has_n ? 1u : 0u);
  const std::size_t batch_end = out.size() - matrix_axes;
  if (has_n && out_axis == out.size() - 1) {
    return slot == 1 ? StreamNeed{Dependency::slice, static_cast<int>(b.size() - 1), 0} : StreamNeed::whole();
  }
  if (has_m && out_axis == batch_end) {
    return slot == 0 ? StreamNeed{Dependency::slice, static_cast<int>(a.size() - 2), 0} : StreamNeed::whole();
  }
  const Shape& x = ctx.in_shape(slot);
  if (x.size() < 3) return StreamNeed::whole();
  const auto axis = static_cast<std::int64_t>(out_axis) - static_cast<std::int64_t>(batch_end) +
                    static_cast<std::int64_t>(x.size() - 2);
  if (axis < 0 || x[static_cast<std::size_t>(axis)] != out[out_axis]) return StreamNeed::whole();
  return {Dependency::slice, static_cast<int>(axis), 0};
}

/// Gemm: rows of the result need their row of op(A), columns their column of op(B); C
/// broadcasts.
StreamNeed gemm_need(const OpContext& ctx, std::size_t slot, std::size_t out_axis) {
  if (slot == 2) return aligned_need(ctx, slot, out_axis);
  if (slot != out_axis) return StreamNeed::whole();  // A for rows (axis 0), B for columns (axis 1)
  const bool transposed = ctx.attrs().get_int(slot == 0 ? "transA" : "transB", 0) != 0;
  const int axis = (slot == 0) == transposed ? 1 : 0;
  return {Dependency::slice, axis, 0};
}

/// SpMM: a row (node) of the result sums over the rows of B its sparse row names, so B's
/// node axis is needed whole; batch axes and B's columns stream (one slice of B at a time).
StreamNeed spmm_need(const OpContext& ctx, std::size_t slot, std::size_t out_axis) {
  const std::size_t rank = ctx.output(0).shape.size();
  if (slot != 3 || out_axis == rank - 2) return StreamNeed::whole();
  return {Dependency::slice, static_cast<int>(out_axis), 0};
}

void register_linalg_ops(OpRegistry& r) {
  OpDef matmul;
  matmul.kind = "MatMul";
  matmul.summary = "matrix product with numpy broadcasting of batch dimensions";
  matmul.min_inputs = matmul.max_inputs = 2;
  matmul.infer = [](const OpContext& ctx) {
    return std::vector<TensorInfo>{{matmul_shapes(ctx).out, ctx.in_dtype(0)}};
  };
  matmul.flops = [](const OpContext& ctx) {
    const auto s = matmul_shapes(ctx);
    return 2.0 * count(s.batch) * static_cast<double>(s.m * s.n) * static_cast<double>(s.k);
  };
  matmul.kernel = make_kernel<MatMulKernel>();
  matmul.gradient = matmul_gradient;
  matmul.traits = matrix_traits(
      GpuKernel::matmul,
      [](const OpContext& ctx) {
        const auto s = matmul_shapes(ctx);
        return GemmView{static_cast<std::int64_t>(count(s.batch)), s.m, s.n, s.k};
      },
      matmul_need);
  matmul.traits->reduction_cut = [](const OpContext& ctx) {
    const auto a = static_cast<int>(ctx.in_shape(0).size()), b = static_cast<int>(ctx.in_shape(1).size());
    return std::optional<ReductionCut>(ReductionCut{{a - 1, b >= 2 ? b - 2 : 0}, {}});
  };
  r.add(std::move(matmul));

  OpDef gemm;
  gemm.kind = "Gemm";
  gemm.summary = "alpha * op(A) * op(B) + beta * C, op = transpose when transA/transB";
  gemm.min_inputs = 2;
  gemm.max_inputs = 3;
  gemm.attrs = {attr_float("alpha", 1.0), attr_float("beta", 1.0), attr_int("transA", 0), attr_int("transB", 0)};
  gemm.infer = [](const OpContext& ctx) {
    ctx.require_rank(0, 2, 2, "A");
    ctx.require_rank(1, 2, 2, "B");
    const auto& a = ctx.in_shape(0);
    const auto& b = ctx.in_shape(1);
    const bool ta = ctx.attrs().get_int("transA", 0) != 0;
    const bool tb = ctx.attrs().get_int("transB", 0) != 0;
    const std::int64_t m = ta ? a[1] : a[0];
    const std::int64_t ka = ta ? a[0] : a[1];
    const std::int64_t kb = tb ? b[1] : b[0];
    const std::int64_t n = tb ? b[0] : b[1];
    if (ka != kb) {
      ctx.fail(fmt::format("inner dimensions differ: op(A) is {} x {}, op(B) is {} x {}", m, ka, kb, n));
    }
    if (ctx.has_input(2)) {
      auto c = broadcast_shapes(ctx.in_shape(2), Shape{m, n});
      if (!c || *c != Shape{m, n}) {
        ctx.fail(fmt::format("C {} does not broadcast to the result [{}, {}]", to_string(ctx.in_shape(2)), m, n));
      }
    }
    return std::vector<TensorInfo>{{Shape{m, n}, ctx.in_dtype(0)}};
  };
  gemm.flops = [](const OpContext& ctx) {
    const auto& a = ctx.in_shape(0);
    const double k = static_cast<double>(ctx.attrs().get_int("transA", 0) ? a[0] : a[1]);
    const double mn = count(ctx.output(0).shape);
    return 2.0 * mn * k + (ctx.has_input(2) ? mn : 0.0);
  };
  gemm.kernel = make_kernel<GemmKernel>();
  gemm.gradient = gemm_gradient;
  gemm.traits = matrix_traits(
      GpuKernel::matmul,
      [](const OpContext& ctx) {
        const auto& a = ctx.in_shape(0);
        const auto& out = ctx.output(0).shape;
        return GemmView{1, out[0], out[1], ctx.attrs().get_int("transA", 0) != 0 ? a[0] : a[1]};
      },
      gemm_need);
  gemm.traits->reduction_cut = [](const OpContext& ctx) {
    return std::optional<ReductionCut>(ReductionCut{
        {ctx.attrs().get_int("transA", 0) != 0 ? 0 : 1, ctx.attrs().get_int("transB", 0) != 0 ? 1 : 0, -1}, {2}});
  };
  r.add(std::move(gemm));

  OpDef spmm;
  spmm.kind = "SpMM";
  spmm.summary = "sparse CSR (row_ptr, col_idx, values: constants) times dense B [..., cols, N]";
  spmm.min_inputs = spmm.max_inputs = 4;
  spmm.attrs = {attr_required("cols", AttrType::int_)};
  spmm.infer = [](const OpContext& ctx) {
    ctx.require_rank(0, 1, 1, "row_ptr");
    ctx.require_rank(1, 1, 1, "col_idx");
    ctx.require_rank(2, 1, 1, "values");
    ctx.require_rank(3, 2, k_variadic, "B");
    const std::int64_t rows = ctx.in_shape(0)[0] - 1;
    const std::int64_t nnz = ctx.in_shape(1)[0];
    if (rows < 0) ctx.fail("row_ptr must have rows + 1 entries, found none");
    if (ctx.in_shape(2)[0] != nnz) {
      ctx.fail(fmt::format("values has {} entries but col_idx has {}", ctx.in_shape(2)[0], nnz));
    }
    const std::int64_t cols = ctx.attrs().get_int("cols", 0);
    const Shape& b = ctx.in_shape(3);
    if (b[b.size() - 2] != cols) {
      ctx.fail(
          fmt::format("the sparse matrix has {} columns but B {} has {} rows", cols, to_string(b), b[b.size() - 2]));
    }
    if (ctx.input(0).values && !ctx.input(0).values->empty() &&
        static_cast<std::int64_t>(ctx.input(0).values->back()) != nnz) {
      ctx.fail(fmt::format("row_ptr ends at {}, expected the {} nonzeros", ctx.input(0).values->back(), nnz));
    }
    Shape out(b.begin(), b.end() - 2);
    out.push_back(rows);
    out.push_back(b.back());
    return std::vector<TensorInfo>{{out, ctx.in_dtype(3)}};
  };
  spmm.flops = [](const OpContext& ctx) {
    const Shape& b = ctx.in_shape(3);
    const double batch = count(Shape(b.begin(), b.end() - 2));
    return 2.0 * count(ctx.in_shape(1)) * static_cast<double>(b.back()) * batch;
  };
  spmm.kernel = make_kernel<SpMMKernel>();
  spmm.gradient = spmm_gradient;
  // Irregular: one lane per column of B, on the vector engine; cuSPARSE on a GPU.
  spmm.traits = elementwise_traits();
  spmm.traits->gpu = GpuKernel::sparse;
  spmm.traits->stream = spmm_need;
  r.add(std::move(spmm));
}

}  // namespace rdasim::graphs
