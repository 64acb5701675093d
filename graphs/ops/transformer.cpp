// The kinds of a decoder LLM that the other families do not express as one op: RMS
// normalization, rotary position embedding, attention with grouped KV heads, and the KV-cache
// write. RMSNormalization, RotaryEmbedding and TensorScatter follow ONNX (opsets 23 and 24).
// GroupedQueryAttention is rdasim's own: ONNX's Attention aligns its causal mask to the top left,
// which is wrong for a step that appends S queries to a cache of L - S tokens; here query i sits
// at position L - S + i (the bottom-right alignment of FlashAttention 2.1 and of every KV-cache
// decode). A PyTorch export writes all four out in primitive ops (graphs/import/onnx_import.cpp
// fuses none of them: the decomposed form maps and simulates as it is).
#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "graphs/ops/helpers.h"
#include "graphs/ops/kernel_helpers.h"

namespace rdasim::graphs {

namespace {

using namespace ops;
using namespace kernels;

// ---- RMSNormalization ------------------------------------------------------------------------

/// The axes from `axis` on, which the op normalizes over.
std::size_t rms_axis(const OpContext& ctx) {
  return ctx.normalize_axis(ctx.attrs().get_int("axis", -1), ctx.in_shape(0).size(), "axis");
}

struct RmsNormKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    const Array<T>& x = io.in(0);
    const std::size_t axis = axis_index(io.attrs().get_int("axis", -1), x.shape.size());
    const auto epsilon = static_cast<T>(io.attrs().get_float("epsilon", 1e-5));
    const Shape normalized(x.shape.begin() + static_cast<std::ptrdiff_t>(axis), x.shape.end());
    const std::int64_t outer = product(x.shape, 0, axis), inner = product(x.shape, axis, x.shape.size());
    const auto scale = broadcast_to(io, 1, normalized, T(1));
    for (std::int64_t o = 0; o < outer; ++o) {
      const T* in = x.data.data() + o * inner;
      T* out = io.out(0).data.data() + o * inner;
      T sum = 0;
      for (std::int64_t i = 0; i < inner; ++i) sum += in[i] * in[i];
      const T inv_rms = T(1) / std::sqrt(sum / static_cast<T>(inner) + epsilon);
      for (std::int64_t i = 0; i < inner; ++i) out[i] = in[i] * inv_rms * scale[to_size(i)];
    }
  }
};

void register_rms_norm(OpRegistry& r) {
  OpDef def;
  def.kind = "RMSNormalization";
  def.summary = "x / sqrt(mean(x^2) + epsilon) * scale over the axes from 'axis' on";
  def.min_inputs = def.max_inputs = 2;
  def.attrs = {attr_int("axis", -1), attr_float("epsilon", 1e-5), attr_int("stash_type", 1)};
  def.infer = [](const OpContext& ctx) {
    ctx.require_rank(0, 1, k_variadic, "X");
    const Shape& x = ctx.in_shape(0);
    const Shape normalized(x.begin() + static_cast<std::ptrdiff_t>(rms_axis(ctx)), x.end());
    auto b = broadcast_shapes(ctx.in_shape(1), normalized);
    if (!b || *b != normalized) {
      ctx.fail(fmt::format("'{}' {} does not broadcast to the normalized shape {}", ctx.input(1).name,
                           to_string(ctx.in_shape(1)), to_string(normalized)));
    }
    return same_as_input(ctx);
  };
  def.flops = flops_per_output(4);  // square, sum, multiply by 1/rms, scale
  def.kernel = make_kernel<RmsNormKernel>();
  def.traits = reduction_traits([](const OpContext& ctx, std::size_t slot, std::size_t out_axis) {
    if (slot > 0) return StreamNeed::whole();
    std::vector<std::size_t> normalized;
    for (auto a = rms_axis(ctx); a < ctx.in_shape(0).size(); ++a) normalized.push_back(a);
    return mixing_need(ctx, slot, out_axis, normalized);
  });
  def.traits->transcendental = true;  // the reciprocal square root
  def.traits->param_uses = {ParamUse::by_rank, ParamUse::norm_scale};
  r.add(std::move(def));
}

// ---- RotaryEmbedding -------------------------------------------------------------------------

/// How a RotaryEmbedding op sees its X: [batch, heads, seq, head] whatever the layout given.
struct RotaryLayout {
  std::int64_t batch = 0, heads = 0, seq = 0, head = 0, rotary = 0;
  bool heads_outer = false;  ///< X is [batch, heads, seq, head] (else [batch, seq, heads x head])

  /// Flat index of element d of head h at (b, s).
  [[nodiscard]] std::int64_t at(std::int64_t b, std::int64_t h, std::int64_t s, std::int64_t d) const {
    return heads_outer ? ((b * heads + h) * seq + s) * head + d : ((b * seq + s) * heads + h) * head + d;
  }
};

RotaryLayout rotary_layout(const Shape& x, std::int64_t num_heads, std::int64_t rotary_dim) {
  RotaryLayout l;
  l.batch = x[0];
  if (x.size() == 4) {
    l.heads_outer = true;
    l.heads = x[1];
    l.seq = x[2];
    l.head = x[3];
  } else {
    l.seq = x[1];
    l.heads = num_heads;
    l.head = num_heads > 0 ? x[2] / num_heads : 0;
  }
  l.rotary = rotary_dim > 0 ? rotary_dim : l.head;
  return l;
}

struct RotaryKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    const Array<T>& x = io.in(0);
    const RotaryLayout l =
        rotary_layout(x.shape, io.attrs().get_int("num_heads", 0), io.attrs().get_int("rotary_embedding_dim", 0));
    const bool interleaved = io.attrs().get_int("interleaved", 0) != 0;
    const Array<T>& cos = io.in(1);
    const Array<T>& sin = io.in(2);
    const auto positions = io.ints(3);
    const std::int64_t half = l.rotary / 2;
    Array<T>& y = io.out(0);
    y.data = x.data;  // dimensions past rotary_embedding_dim pass through
    for (std::int64_t b = 0; b < l.batch; ++b) {
      for (std::int64_t s = 0; s < l.seq; ++s) {
        // Row of the caches: the position id, or (without ids) the token itself.
        std::int64_t row = b * l.seq + s;
        if (!positions.empty()) {
          row = positions[to_size(b * l.seq + s)];
          if (row < 0 || row >= cos.shape[0]) {
            io.fail(fmt::format("position id {} is out of range for caches of {} positions", row, cos.shape[0]));
          }
        }
        const T* c = cos.data.data() + row * half;
        const T* sn = sin.data.data() + row * half;
        for (std::int64_t h = 0; h < l.heads; ++h) {
          for (std::int64_t i = 0; i < half; ++i) {
            // rotate_half pairs element i with i + rotary/2; interleaved pairs 2i with 2i + 1.
            const std::int64_t a = l.at(b, h, s, interleaved ? 2 * i : i);
            const std::int64_t z = l.at(b, h, s, interleaved ? 2 * i + 1 : i + half);
            const T x1 = x.data[to_size(a)], x2 = x.data[to_size(z)];
            y.data[to_size(a)] = x1 * c[i] - x2 * sn[i];
            y.data[to_size(z)] = x2 * c[i] + x1 * sn[i];
          }
        }
      }
    }
  }
};

void register_rotary(OpRegistry& r) {
  OpDef def;
  def.kind = "RotaryEmbedding";
  def.summary = "rotary position embedding: pairs of head dimensions rotated by the cached angle of each position";
  def.min_inputs = 3;
  def.max_inputs = 4;
  def.attrs = {attr_int("interleaved", 0), attr_int("num_heads", 0), attr_int("rotary_embedding_dim", 0)};
  def.infer = [](const OpContext& ctx) {
    ctx.require_rank(0, 3, 4, "X");
    const Shape& x = ctx.in_shape(0);
    const std::int64_t num_heads = ctx.attrs().get_int("num_heads", 0);
    if (x.size() == 3 && (num_heads <= 0 || x[2] % num_heads != 0)) {
      ctx.fail(fmt::format("a 3-D X {} needs num_heads dividing its last dimension; num_heads is {}", to_string(x),
                           num_heads));
    }
    const RotaryLayout l = rotary_layout(x, num_heads, ctx.attrs().get_int("rotary_embedding_dim", 0));
    if (l.rotary % 2 != 0 || l.rotary > l.head) {
      ctx.fail(fmt::format("rotary_embedding_dim {} must be even and at most the head size {}", l.rotary, l.head));
    }
    Shape cache;
    if (ctx.has_input(3)) {
      const Shape& ids = ctx.in_shape(3);
      if (ids != Shape{l.batch, l.seq}) {
        ctx.fail(fmt::format("position_ids {} must be [batch, sequence] = [{}, {}]", to_string(ids), l.batch, l.seq));
      }
      cache = {ctx.in_shape(1).empty() ? 0 : ctx.in_shape(1)[0], l.rotary / 2};
    } else {
      cache = {l.batch, l.seq, l.rotary / 2};
    }
    for (std::size_t i = 1; i <= 2; ++i) {
      if (ctx.in_shape(i) != cache) {
        ctx.fail(
            fmt::format("'{}' {} must be {}{}", ctx.input(i).name, to_string(ctx.in_shape(i)),
                        ctx.has_input(3) ? "[positions, rotary_dim / 2] = " : "[batch, sequence, rotary_dim / 2] = ",
                        to_string(cache)));
      }
    }
    return same_as_input(ctx);
  };
  def.flops = [](const OpContext& ctx) {
    const RotaryLayout l = rotary_layout(ctx.in_shape(0), ctx.attrs().get_int("num_heads", 0),
                                         ctx.attrs().get_int("rotary_embedding_dim", 0));
    return 3.0 * static_cast<double>(l.batch * l.seq * l.heads * l.rotary);  // two products and a sum each
  };
  def.kernel = make_kernel<RotaryKernel>();
  def.traits = elementwise_traits();
  def.traits->stream = [](const OpContext& ctx, std::size_t slot, std::size_t out_axis) {
    // X token by token; the angle caches are small and read by position: whole.
    return slot == 0 ? aligned_need(ctx, slot, out_axis) : StreamNeed::whole();
  };
  def.traits->indexed_read = {{1, 2}, 3};  // a decode step reads its positions' angles only
  r.add(std::move(def));
}

// ---- GroupedQueryAttention -------------------------------------------------------------------

/// The dimensions of an attention op: Q [B, S, Hq x D], K [B, L, Hkv x D], V [B, L, Hkv x Dv].
struct AttentionDims {
  std::int64_t batch = 0, seq = 0, keys = 0, q_heads = 0, kv_heads = 0, head = 0, value_head = 0;
  bool causal = false;

  /// Keys query s attends to: all of them, or (causal) those up to its position L - S + s.
  [[nodiscard]] std::int64_t attended(std::int64_t s) const {
    return causal ? std::clamp<std::int64_t>(keys - seq + s + 1, 0, keys) : keys;
  }
  /// Query-key pairs scored per head and sequence.
  [[nodiscard]] double pairs() const {
    double n = 0;
    for (std::int64_t s = 0; s < seq; ++s) n += static_cast<double>(attended(s));
    return n;
  }
};

AttentionDims attention_dims(const Shape& q, const Shape& k, const Shape& v, const Attrs& attrs) {
  AttentionDims d;
  d.q_heads = attrs.get_int("q_num_heads", 0);
  d.kv_heads = attrs.get_int("kv_num_heads", 0);
  d.batch = q[0];
  d.seq = q[1];
  d.keys = k[1];
  d.head = d.q_heads > 0 ? q[2] / d.q_heads : 0;
  d.value_head = d.kv_heads > 0 ? v[2] / d.kv_heads : 0;
  d.causal = attrs.get_int("is_causal", 0) != 0;
  return d;
}

AttentionDims attention_dims(const OpContext& ctx) {
  return attention_dims(ctx.in_shape(0), ctx.in_shape(1), ctx.in_shape(2), ctx.attrs());
}

struct AttentionKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    const Array<T>& q = io.in(0);
    const Array<T>& k = io.in(1);
    const Array<T>& v = io.in(2);
    const AttentionDims d = attention_dims(q.shape, k.shape, v.shape, io.attrs());
    const double given_scale = io.attrs().get_float("scale", 0.0);
    const T scale = static_cast<T>(given_scale != 0.0 ? given_scale : 1.0 / std::sqrt(static_cast<double>(d.head)));
    const std::int64_t group = d.q_heads / d.kv_heads;
    const Shape scores_shape{d.batch, d.q_heads, d.seq, d.keys};
    const std::vector<T> mask = io.has_input(3) ? broadcast_to(io, 3, scores_shape, T(0)) : std::vector<T>{};
    std::vector<T> scores(to_size(d.keys));
    Array<T>& y = io.out(0);
    for (std::int64_t b = 0; b < d.batch; ++b) {
      for (std::int64_t h = 0; h < d.q_heads; ++h) {
        const std::int64_t g = h / group;  // the KV head this query head shares
        for (std::int64_t s = 0; s < d.seq; ++s) {
          const T* qrow = q.data.data() + (b * d.seq + s) * d.q_heads * d.head + h * d.head;
          const std::int64_t n = d.attended(s);
          T top = -std::numeric_limits<T>::infinity();
          for (std::int64_t j = 0; j < n; ++j) {
            const T* krow = k.data.data() + (b * d.keys + j) * d.kv_heads * d.head + g * d.head;
            T dot = 0;
            for (std::int64_t e = 0; e < d.head; ++e) dot += qrow[e] * krow[e];
            dot *= scale;
            if (!mask.empty()) dot += mask[to_size(((b * d.q_heads + h) * d.seq + s) * d.keys + j)];
            scores[to_size(j)] = dot;
            top = std::max(top, dot);
          }
          T sum = 0;
          for (std::int64_t j = 0; j < n; ++j) sum += scores[to_size(j)] = std::exp(scores[to_size(j)] - top);
          T* out = y.data.data() + (b * d.seq + s) * d.q_heads * d.value_head + h * d.value_head;
          std::fill(out, out + d.value_head, T(0));
          for (std::int64_t j = 0; j < n; ++j) {
            const T p = scores[to_size(j)] / sum;
            const T* vrow = v.data.data() + (b * d.keys + j) * d.kv_heads * d.value_head + g * d.value_head;
            for (std::int64_t e = 0; e < d.value_head; ++e) out[e] += p * vrow[e];
          }
        }
      }
    }
  }
};

/// A query token needs its own Q and every key and value it attends to: with the batch
/// streaming, its sample's; with the sequence streaming, the keys up to its position (causal)
/// or all of them.
StreamNeed attention_need(const OpContext& ctx, std::size_t slot, std::size_t out_axis) {
  if (slot == 3 || out_axis == 2) return StreamNeed::whole();  // the mask; a token's heads are mixed
  if (slot == 0) return {Dependency::same, static_cast<int>(out_axis), 0};
  if (out_axis == 0) return {Dependency::slice, 0, 0};
  return attention_dims(ctx).causal ? StreamNeed{Dependency::prefix, 1, 0} : StreamNeed::whole();
}

void register_attention(OpRegistry& r) {
  OpDef def;
  def.kind = "GroupedQueryAttention";
  def.summary =
      "softmax(Q K^T scale + mask) V per head, q_num_heads sharing kv_num_heads; causal aligned to the last key";
  def.min_inputs = 3;
  def.max_inputs = 4;
  def.attrs = {attr_required("q_num_heads", AttrType::int_), attr_required("kv_num_heads", AttrType::int_),
               attr_int("is_causal", 0), attr_float("scale", 0.0)};
  def.infer = [](const OpContext& ctx) {
    const char* names[] = {"Q", "K", "V"};
    for (std::size_t i = 0; i < 3; ++i) ctx.require_rank(i, 3, 3, names[i]);
    const Shape &q = ctx.in_shape(0), &k = ctx.in_shape(1), &v = ctx.in_shape(2);
    const std::int64_t hq = ctx.attrs().get_int("q_num_heads", 0), hkv = ctx.attrs().get_int("kv_num_heads", 0);
    if (hq <= 0 || hkv <= 0 || hq % hkv != 0) {
      ctx.fail(fmt::format("q_num_heads {} must be a positive multiple of kv_num_heads {}", hq, hkv));
    }
    if (q[2] % hq != 0 || k[2] % hkv != 0 || v[2] % hkv != 0) {
      ctx.fail(fmt::format("Q {} must hold q_num_heads = {} heads, K {} and V {} kv_num_heads = {}", to_string(q), hq,
                           to_string(k), to_string(v), hkv));
    }
    const AttentionDims d = attention_dims(ctx);
    if (k[2] / hkv != d.head || k[0] != q[0] || v[0] != q[0] || v[1] != k[1]) {
      ctx.fail(fmt::format("Q {}, K {} and V {} disagree: expected [B, S, {} x D], [B, L, {} x D], [B, L, {} x Dv]",
                           to_string(q), to_string(k), to_string(v), hq, hkv, hkv));
    }
    if (ctx.has_input(3)) {
      const Shape scores{d.batch, d.q_heads, d.seq, d.keys};
      auto b = broadcast_shapes(ctx.in_shape(3), scores);
      if (!b || *b != scores) {
        ctx.fail(fmt::format("attn_mask {} does not broadcast to the scores {}", to_string(ctx.in_shape(3)),
                             to_string(scores)));
      }
    }
    if (d.causal && d.keys < d.seq) {
      ctx.fail(fmt::format("a causal step of {} queries needs at least as many keys, not {}", d.seq, d.keys));
    }
    return std::vector<TensorInfo>{{{d.batch, d.seq, hq * d.value_head}, ctx.in_dtype(0)}};
  };
  // Two products per attended pair (Q K^T over D, P V over Dv) plus the softmax's five
  // operations (scale, max, exp, sum, divide) per pair.
  def.flops = [](const OpContext& ctx) {
    const AttentionDims d = attention_dims(ctx);
    return static_cast<double>(d.batch * d.q_heads) * d.pairs() *
           (2.0 * static_cast<double>(d.head + d.value_head) + 5.0);
  };
  def.kernel = make_kernel<AttentionKernel>();
  // A fused, flash-style kernel: each (batch, KV head) a GEMM of the S queries of the heads
  // sharing that KV head (rows S x q_num_heads / kv_num_heads, as GQA decode kernels such as
  // FlashDecoding and TensorRT-LLM's XQA pack them) against the keys they attend to, depth
  // D + Dv; K and V stream through once, the scores never leave the PCU or the SM.
  def.traits = matrix_traits(
      GpuKernel::matmul,
      [](const OpContext& ctx) {
        const AttentionDims d = attention_dims(ctx);
        const auto n =
            static_cast<std::int64_t>(std::ceil(d.pairs() / static_cast<double>(std::max<std::int64_t>(d.seq, 1))));
        return GemmView{d.batch * d.kv_heads, d.seq * (d.q_heads / d.kv_heads), n, d.head + d.value_head};
      },
      attention_need);
  def.traits->transcendental = true;  // the softmax's exp and division
  r.add(std::move(def));
}

// ---- TensorScatter (the KV-cache write) ------------------------------------------------------

struct TensorScatterKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    const Array<T>& cache = io.in(0);
    const Array<T>& update = io.in(1);
    const std::size_t axis = axis_index(io.attrs().get_int("axis", -2), cache.shape.size());
    const bool circular = io.attrs().get_string("mode", "linear") == "circular";
    const auto starts = io.ints(2);
    Array<T>& out = io.out(0);
    out.data = cache.data;
    const std::int64_t extent = cache.shape[axis], count = update.shape[axis];
    const std::int64_t inner = product(cache.shape, axis + 1, cache.shape.size());
    const std::int64_t middle = product(cache.shape, 1, axis);  // axes between batch and `axis`
    for (std::int64_t b = 0; b < cache.shape[0]; ++b) {
      const std::int64_t start = starts.empty() ? 0 : starts[to_size(b)];
      if (start < 0 || (!circular && start + count > extent)) {
        io.fail(fmt::format("write index {} of batch {} puts {} entries past the cache's {} along axis {}", start, b,
                            count, extent, axis));
      }
      for (std::int64_t m = 0; m < middle; ++m) {
        for (std::int64_t i = 0; i < count; ++i) {
          const std::int64_t to = (start + i) % extent;
          const T* src = update.data.data() + ((b * middle + m) * count + i) * inner;
          std::copy(src, src + inner, out.data.data() + ((b * middle + m) * extent + to) * inner);
        }
      }
    }
  }
};

void register_tensor_scatter(OpRegistry& r) {
  OpDef def;
  def.kind = "TensorScatter";
  def.summary = "writes 'update' into the cache along 'axis' from each batch's write index (the KV-cache write)";
  def.min_inputs = 2;
  def.max_inputs = 3;
  def.attrs = {attr_int("axis", -2), attr_string("mode", "linear")};
  def.infer = [](const OpContext& ctx) {
    ctx.require_rank(0, 2, k_variadic, "past_cache");
    const Shape& cache = ctx.in_shape(0);
    const Shape& update = ctx.in_shape(1);
    const std::size_t axis = ctx.normalize_axis(ctx.attrs().get_int("axis", -2), cache.size(), "axis");
    if (axis == 0) ctx.fail("axis must not be the batch axis 0");
    const std::string mode = ctx.attrs().get_string("mode", "linear");
    if (mode != "linear" && mode != "circular") ctx.fail(fmt::format("mode '{}': expected linear or circular", mode));
    bool ok = update.size() == cache.size() && update[axis] <= cache[axis];
    for (std::size_t d = 0; ok && d < cache.size(); ++d) ok = d == axis || update[d] == cache[d];
    if (!ok) {
      ctx.fail(fmt::format("update {} must match the cache {} except along axis {}, where it may be shorter",
                           to_string(update), to_string(cache), axis));
    }
    if (ctx.has_input(2) && ctx.in_shape(2) != Shape{cache[0]}) {
      ctx.fail(
          fmt::format("write_indices {} must hold one index per batch, [{}]", to_string(ctx.in_shape(2)), cache[0]));
    }
    return same_as_input(ctx);
  };
  def.flops = [](const OpContext&) { return 0.0; };
  def.kernel = make_kernel<TensorScatterKernel>();
  def.traits = movement_traits(GpuKernel::vector);
  def.traits->updates_in_place = 0;  // the cache stays where it lives; only the update moves
  def.traits->stream = [](const OpContext& ctx, std::size_t slot, std::size_t out_axis) {
    return slot == 1 ? aligned_need(ctx, slot, out_axis) : StreamNeed::whole();
  };
  r.add(std::move(def));
}

}  // namespace

void register_transformer_ops(OpRegistry& registry) {
  register_rms_norm(registry);
  register_rotary(registry);
  register_attention(registry);
  register_tensor_scatter(registry);
}

}  // namespace rdasim::graphs
