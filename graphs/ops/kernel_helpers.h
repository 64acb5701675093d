// Shared pieces of reference kernels: broadcasting loops, strides, GEMM through Eigen.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "graphs/kernel.h"

namespace rdasim::graphs::kernels {

inline std::size_t to_size(std::int64_t v) { return static_cast<std::size_t>(v); }
inline std::int64_t to_i64(std::size_t v) { return static_cast<std::int64_t>(v); }

/// A possibly negative axis (already validated by the shape rule) as 0 .. rank-1.
inline std::size_t axis_index(std::int64_t axis, std::size_t rank) {
  return static_cast<std::size_t>(axis < 0 ? axis + static_cast<std::int64_t>(rank) : axis);
}

/// Row-major strides of a shape, in elements.
inline std::vector<std::int64_t> strides_of(const Shape& shape) {
  std::vector<std::int64_t> s(shape.size(), 1);
  for (std::size_t i = shape.size(); i-- > 1;) s[i - 1] = s[i] * shape[i];
  return s;
}

/// Strides of `in` read through numpy broadcasting to `out`: 0 along broadcast dimensions.
inline std::vector<std::int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  std::vector<std::int64_t> s(out.size(), 0);
  std::int64_t stride = 1;
  for (std::size_t i = in.size(); i-- > 0;) {
    const std::size_t o = out.size() - in.size() + i;
    s[o] = in[i] == 1 ? 0 : stride;
    stride *= in[i];
  }
  return s;
}

/// Calls f(out_index, offsets) for every element of `out`, where offsets[k] is the flat index
/// of the element of input k that broadcasting pairs with it. The innermost dimension runs
/// as a plain loop.
template <std::size_t N, class F>
void for_each_broadcast(const Shape& out, const std::array<const Shape*, N>& ins, F&& f) {
  const auto total = checked_elements(out).value_or(0);
  if (total == 0) return;
  std::array<std::vector<std::int64_t>, N> strides;
  for (std::size_t k = 0; k < N; ++k) strides[k] = broadcast_strides(*ins[k], out);
  const std::size_t rank = out.size();
  std::array<std::int64_t, N> base{};
  if (rank == 0) {
    f(std::int64_t{0}, base);
    return;
  }
  const std::int64_t inner = out[rank - 1];
  std::array<std::int64_t, N> inner_stride{};
  for (std::size_t k = 0; k < N; ++k) inner_stride[k] = strides[k][rank - 1];
  std::vector<std::int64_t> index(rank, 0);
  for (std::int64_t o = 0; o < total; o += inner) {
    std::array<std::int64_t, N> off = base;
    for (std::int64_t j = 0; j < inner; ++j) {
      f(o + j, off);
      for (std::size_t k = 0; k < N; ++k) off[k] += inner_stride[k];
    }
    // Advance the outer dimensions like an odometer.
    for (std::size_t d = rank - 1; d-- > 0;) {
      ++index[d];
      for (std::size_t k = 0; k < N; ++k) base[k] += strides[k][d];
      if (index[d] < out[d]) break;
      for (std::size_t k = 0; k < N; ++k) base[k] -= strides[k][d] * out[d];
      index[d] = 0;
    }
  }
}

/// out = f(a, b) with broadcasting.
template <class T, class F>
void broadcast_binary(const Array<T>& a, const Array<T>& b, Array<T>& out, F&& f) {
  if (a.shape == out.shape && b.shape == out.shape) {
    for (std::size_t i = 0; i < out.size(); ++i) out.data[i] = f(a.data[i], b.data[i]);
    return;
  }
  for_each_broadcast<2>(out.shape, {&a.shape, &b.shape}, [&](std::int64_t o, const std::array<std::int64_t, 2>& off) {
    out.data[to_size(o)] = f(a.data[to_size(off[0])], b.data[to_size(off[1])]);
  });
}

template <class T>
using MatrixMap = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
template <class T>
using ConstMatrixMap = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

/// C[m x n] = alpha * op(A) op(B) + beta * C, row-major, through Eigen's blocked GEMM (which
/// accumulates in T: fp32 accumulation for float).
template <class T>
void gemm(const T* a, bool trans_a, const T* b, bool trans_b, T* c, std::int64_t m, std::int64_t n, std::int64_t k,
          T alpha, T beta) {
  const Eigen::Index em = m, en = n, ek = k;
  MatrixMap<T> cm(c, em, en);
  ConstMatrixMap<T> am(a, trans_a ? ek : em, trans_a ? em : ek);
  ConstMatrixMap<T> bm(b, trans_b ? en : ek, trans_b ? ek : en);
  if (beta == T(0)) cm.setZero();
  else if (beta != T(1)) cm *= beta;
  if (trans_a && trans_b) cm.noalias() += alpha * (am.transpose() * bm.transpose());
  else if (trans_a) cm.noalias() += alpha * (am.transpose() * bm);
  else if (trans_b) cm.noalias() += alpha * (am * bm.transpose());
  else cm.noalias() += alpha * (am * bm);
}

/// Joins every input of `io` along `axis` into `y`, in input order (Concat; an all-gather's parts).
template <class T>
void join_inputs(const KernelIO<T>& io, std::size_t axis, Array<T>& y) {
  std::int64_t outer = 1, inner = 1;
  for (std::size_t d = 0; d < axis; ++d) outer *= y.shape[d];
  for (std::size_t d = axis + 1; d < y.shape.size(); ++d) inner *= y.shape[d];
  std::int64_t at = 0;
  for (std::size_t i = 0; i < io.num_inputs(); ++i) {
    const Array<T>& x = io.in(i);
    const std::int64_t slab = x.shape[axis] * inner;
    for (std::int64_t o = 0; o < outer; ++o) {
      std::copy_n(x.data.begin() + o * slab, slab, y.data.begin() + o * y.shape[axis] * inner + at);
    }
    at += slab;
  }
}

/// Copies the input to the output unchanged (views: Reshape, Squeeze, Identity, ...).
struct CopyKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    io.out(0).data = io.in(0).data;
  }
};

/// The values of an optional per-element operand broadcast to `shape` (LayerNorm's scale).
template <class T>
std::vector<T> broadcast_to(const KernelIO<T>& io, std::size_t input, const Shape& shape, T fill) {
  Array<T> out(shape);
  if (!io.has_input(input)) {
    std::fill(out.data.begin(), out.data.end(), fill);
    return out.data;
  }
  const Array<T>& in = io.in(input);
  for_each_broadcast<1>(shape, {&in.shape}, [&](std::int64_t o, const std::array<std::int64_t, 1>& off) {
    out.data[to_size(o)] = in.data[to_size(off[0])];
  });
  return out.data;
}

}  // namespace rdasim::graphs::kernels
