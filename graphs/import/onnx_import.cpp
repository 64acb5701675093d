// ONNX protobuf -> graphs::Graph.
#include "graphs/import/onnx_import.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <set>

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include "core/error.h"
#include "core/files.h"
#include "core/text.h"
#include "graphs/op_registry.h"
#include "graphs/transforms.h"
#include "graphs/verify.h"

namespace rdasim::graphs {

namespace {

constexpr std::uintmax_t k_max_model_bytes = 2ull << 30;  // protobuf's own limit

[[noreturn]] void fail(const std::string& source, const std::string& where, const std::string& message) {
  throw core::InputError(core::Location(source, 0, 0, where), message);
}

[[noreturn]] void unsupported(const std::string& source, const std::string& where, const std::string& message) {
  throw core::UnsupportedError(core::Location(source, 0, 0, where), message);
}

std::optional<DType> dtype_of(int onnx_type) {
  switch (onnx_type) {
    case onnx::TensorProto_DataType_FLOAT: return DType::f32;
    case onnx::TensorProto_DataType_DOUBLE: return DType::f64;
    case onnx::TensorProto_DataType_BFLOAT16: return DType::bf16;
    case onnx::TensorProto_DataType_FLOAT16: return DType::f16;
    case onnx::TensorProto_DataType_INT64: return DType::i64;
    case onnx::TensorProto_DataType_INT32: return DType::i32;
    case onnx::TensorProto_DataType_INT8: return DType::i8;
    case onnx::TensorProto_DataType_UINT8: return DType::u8;
    case onnx::TensorProto_DataType_BOOL: return DType::boolean;
    default: return std::nullopt;
  }
}

std::string onnx_type_name(int onnx_type) {
  return onnx::TensorProto_DataType_IsValid(onnx_type)
             ? onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(onnx_type))
             : fmt::format("type {}", onnx_type);
}

double half_to_double(std::uint16_t h) {
  const std::uint32_t sign = (h & 0x8000u) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1f;
  const std::uint32_t mantissa = h & 0x3ff;
  if (exponent == 0) return (sign ? -1.0 : 1.0) * std::ldexp(static_cast<double>(mantissa), -24);
  if (exponent == 31) return mantissa ? std::nan("") : (sign ? -1.0 : 1.0) * HUGE_VAL;
  return static_cast<double>(std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13)));
}

double bf16_to_double(std::uint16_t b) {
  return static_cast<double>(std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16));
}

/// Values of a TensorProto in row-major order, from raw_data or the typed fields.
std::vector<double> decode_values(const onnx::TensorProto& t, DType dtype, std::int64_t count, const std::string& where,
                                  const std::string& source) {
  std::vector<double> v;  // sized only after the data is known to hold `count` values
  if (t.data_location() == onnx::TensorProto_DataLocation_EXTERNAL) {
    unsupported(source, where, "the tensor's data is in an external file; only data inside the model is read");
  }
  if (!t.raw_data().empty()) {
    const std::string& raw = t.raw_data();
    const auto width = static_cast<std::size_t>(byte_size(dtype));
    if (raw.size() != width * static_cast<std::size_t>(count)) {
      fail(source, where,
           fmt::format("raw data has {} bytes, expected {} for {} {} values", raw.size(),
                       width * static_cast<std::size_t>(count), count, to_string(dtype)));
    }
    v.reserve(static_cast<std::size_t>(count));
    for (std::int64_t i = 0; i < count; ++i) {
      const char* p = raw.data() + static_cast<std::size_t>(i) * width;
      auto read = [p]<typename T>(T) {
        T value;
        std::memcpy(&value, p, sizeof(T));
        return value;
      };
      switch (dtype) {
        case DType::f32: v.push_back(static_cast<double>(read(float{}))); break;
        case DType::f64: v.push_back(read(double{})); break;
        case DType::f16: v.push_back(half_to_double(read(std::uint16_t{}))); break;
        case DType::bf16: v.push_back(bf16_to_double(read(std::uint16_t{}))); break;
        case DType::i64: v.push_back(static_cast<double>(read(std::int64_t{}))); break;
        case DType::i32: v.push_back(read(std::int32_t{})); break;
        case DType::i8: v.push_back(read(std::int8_t{})); break;
        case DType::u8: v.push_back(read(std::uint8_t{})); break;
        case DType::boolean: v.push_back(read(std::uint8_t{}) != 0 ? 1.0 : 0.0); break;
      }
    }
    return v;
  }
  switch (dtype) {
    case DType::f32:
      for (float x : t.float_data()) v.push_back(static_cast<double>(x));
      break;
    case DType::f64:
      for (double x : t.double_data()) v.push_back(x);
      break;
    case DType::i64:
      for (auto x : t.int64_data()) v.push_back(static_cast<double>(x));
      break;
    case DType::f16:
      for (auto x : t.int32_data()) v.push_back(half_to_double(static_cast<std::uint16_t>(x)));
      break;
    case DType::bf16:
      for (auto x : t.int32_data()) v.push_back(bf16_to_double(static_cast<std::uint16_t>(x)));
      break;
    case DType::i32:
    case DType::i8:
    case DType::u8:
    case DType::boolean:
      for (auto x : t.int32_data()) v.push_back(x);
      break;
  }
  if (static_cast<std::int64_t>(v.size()) != count) {
    fail(source, where, fmt::format("has {} values for shape of {} elements", v.size(), count));
  }
  return v;
}

Tensor decode_tensor(const onnx::TensorProto& proto, const std::string& source, const std::string& name) {
  Tensor t;
  t.name = name.empty() ? proto.name() : name;
  const std::string where = t.name.empty() ? "tensor" : t.name;
  auto dtype = dtype_of(proto.data_type());
  if (!dtype)
    unsupported(source, where, fmt::format("element type {} is not supported", onnx_type_name(proto.data_type())));
  t.dtype = *dtype;
  for (auto d : proto.dims()) t.shape.push_back(d);
  const auto count = checked_elements(t.shape);
  if (!count) fail(source, where, fmt::format("shape {} is negative or overflows", to_string(t.shape)));
  t.values = decode_values(proto, t.dtype, *count, where, source);
  return t;
}

AttrValue attr_value(const onnx::AttributeProto& a, const std::string& source, const std::string& node) {
  switch (a.type()) {
    case onnx::AttributeProto_AttributeType_INT: return static_cast<std::int64_t>(a.i());
    case onnx::AttributeProto_AttributeType_FLOAT: return static_cast<double>(a.f());
    case onnx::AttributeProto_AttributeType_STRING: return a.s();
    case onnx::AttributeProto_AttributeType_INTS: return std::vector<std::int64_t>(a.ints().begin(), a.ints().end());
    case onnx::AttributeProto_AttributeType_FLOATS: {
      std::vector<double> v(a.floats().begin(), a.floats().end());
      return v;
    }
    case onnx::AttributeProto_AttributeType_STRINGS:
      return std::vector<std::string>(a.strings().begin(), a.strings().end());
    default:
      unsupported(source, node,
                  fmt::format("node '{}': attribute '{}' of kind {} is not supported", node, a.name(),
                              onnx::AttributeProto_AttributeType_Name(a.type())));
  }
}

/// The value of a Constant node as a tensor named after its output.
Tensor constant_tensor(const onnx::NodeProto& node, const std::string& source, const std::string& node_name) {
  if (node.attribute_size() != 1)
    fail(source, node_name, fmt::format("Constant '{}' needs exactly one value attribute", node_name));
  const auto& a = node.attribute(0);
  if (a.name() == "value") return decode_tensor(a.t(), source, node.output(0));
  Tensor t;
  t.name = node.output(0);
  t.role = Role::constant;
  std::vector<double> values;
  if (a.name() == "value_float" || a.name() == "value_floats") {
    t.dtype = DType::f32;
    if (a.name() == "value_float") values.push_back(static_cast<double>(a.f()));
    else values.assign(a.floats().begin(), a.floats().end());
  } else if (a.name() == "value_int" || a.name() == "value_ints") {
    t.dtype = DType::i64;
    if (a.name() == "value_int") values.push_back(static_cast<double>(a.i()));
    else
      for (auto x : a.ints()) values.push_back(static_cast<double>(x));
  } else {
    unsupported(source, node_name, fmt::format("Constant '{}': attribute '{}' is not supported", node_name, a.name()));
  }
  if (a.name() == "value_floats" || a.name() == "value_ints") t.shape = {static_cast<std::int64_t>(values.size())};
  t.values = std::move(values);
  return t;
}

/// Rewrites attributes of opsets before 11 into today's form, so the registry sees one
/// semantics: legacy broadcast flags, BatchNormalization's is_test/spatial, Clip's bounds as
/// attributes.
void translate_legacy(Op& op, std::int64_t opset, Graph& g, const std::string& source) {
  if (opset >= 11) return;
  auto& attrs = op.attrs.values;
  if (attrs.contains("broadcast")) {
    // Opset 6 broadcasting aligns the right operand with the trailing dimensions, as numpy
    // does, unless an axis says where it starts.
    if (attrs.contains("axis") && op.kind != "Concat" && op.kind != "Softmax" && op.kind != "LogSoftmax") {
      unsupported(source, op.name,
                  fmt::format("node '{}': legacy broadcasting from an axis is not supported", op.name));
    }
    attrs.erase("broadcast");
  }
  if (op.kind == "BatchNormalization") {
    if (op.attrs.get_int("spatial", 1) != 1) {
      unsupported(source, op.name,
                  fmt::format("node '{}': BatchNormalization with spatial = 0 is not supported", op.name));
    }
    attrs.erase("spatial");
    attrs.erase("is_test");
    attrs.erase("consumed_inputs");
  }
  if (op.kind == "Slice" && attrs.contains("starts")) {
    // Before opset 10 starts, ends and axes were attributes; now they are inputs.
    for (const char* key : {"starts", "ends", "axes"}) {
      if (!attrs.contains(key)) continue;
      Tensor t;
      t.name = fmt::format("{}:{}", op.name, key);
      t.role = Role::constant;
      t.dtype = DType::i64;
      const auto values = op.attrs.get_ints(key);
      t.values.emplace();
      for (auto v : values) t.values->push_back(static_cast<double>(v));
      t.shape = {static_cast<std::int64_t>(values.size())};
      op.inputs.push_back(g.add_tensor(std::move(t)));
      attrs.erase(key);
    }
  }
  if (op.kind == "Clip" && (attrs.contains("min") || attrs.contains("max"))) {
    // Bounds became optional inputs in opset 11.
    for (const char* bound : {"min", "max"}) {
      if (!attrs.contains(bound)) {
        op.inputs.push_back(k_no_tensor);
        continue;
      }
      Tensor t;
      t.name = fmt::format("{}:{}", op.name, bound);
      t.role = Role::constant;
      t.values = std::vector<double>{op.attrs.get_float(bound, 0.0)};
      op.inputs.push_back(g.add_tensor(std::move(t)));
      attrs.erase(bound);
    }
  }
}

std::int64_t default_opset(const onnx::ModelProto& model) {
  for (const auto& o : model.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") return o.version();
  }
  return 0;
}

}  // namespace

Tensor load_onnx_tensor(const std::filesystem::path& path) {
  const std::string bytes = core::read_text_file(path, k_max_model_bytes);
  onnx::TensorProto proto;
  if (!proto.ParseFromString(bytes)) {
    throw core::InputError(core::Location(path.string()), "not a serialized ONNX TensorProto");
  }
  return decode_tensor(proto, path.string(), proto.name());
}

std::vector<Tensor> load_onnx_initializers(const std::filesystem::path& path) {
  onnx::ModelProto model;
  if (!model.ParseFromString(core::read_text_file(path, k_max_model_bytes))) {
    throw core::InputError(core::Location(path.string()), "not an ONNX model: the protobuf message does not parse");
  }
  std::vector<Tensor> out;
  for (const auto& init : model.graph().initializer()) out.push_back(decode_tensor(init, path.string(), init.name()));
  return out;
}

void save_onnx_tensor(const std::filesystem::path& path, const std::string& name, const Shape& shape,
                      const std::vector<double>& values) {
  onnx::TensorProto proto;
  proto.set_name(name);
  proto.set_data_type(onnx::TensorProto::FLOAT);
  for (auto d : shape) proto.add_dims(d);
  std::string raw(values.size() * sizeof(float), '\0');
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto f = static_cast<float>(values[i]);
    std::memcpy(raw.data() + i * sizeof(float), &f, sizeof(float));  // little-endian, as ONNX stores raw data
  }
  proto.set_raw_data(raw);
  core::write_text_file(path, proto.SerializeAsString());
}

std::vector<std::string> onnx_input_names(const std::filesystem::path& path) {
  onnx::ModelProto model;
  if (!model.ParseFromString(core::read_text_file(path, k_max_model_bytes))) {
    throw core::InputError(core::Location(path.string()), "not an ONNX model: the protobuf message does not parse");
  }
  std::set<std::string> initializers;
  for (const auto& init : model.graph().initializer()) initializers.insert(init.name());
  std::vector<std::string> names;
  for (const auto& input : model.graph().input()) {
    if (!initializers.contains(input.name())) names.push_back(input.name());
  }
  return names;
}

Graph load_onnx_model(const std::filesystem::path& path, const OnnxOptions& options) {
  return parse_onnx_model(core::read_text_file(path, k_max_model_bytes), path.string(), options);
}

Graph parse_onnx_model(const std::string& bytes, const std::string& source, const OnnxOptions& options) {
  onnx::ModelProto model;
  if (bytes.empty()) fail(source, "", "the file is empty; expected an ONNX model");
  if (!model.ParseFromString(bytes)) fail(source, "", "not an ONNX model: the protobuf message does not parse");
  if (model.ir_version() <= 0 || !model.has_graph()) fail(source, "", "not an ONNX model: no IR version or no graph");
  const std::int64_t opset = default_opset(model);
  if (opset < 6)
    unsupported(source, "", fmt::format("opset {} of the default domain is not supported; expected 6 or later", opset));
  const onnx::GraphProto& gp = model.graph();
  Graph g(gp.name().empty() ? std::filesystem::path(source).stem().string() : gp.name());

  // Sources: initializers, inputs with known values, graph inputs. Floating initializers are
  // trained params unless the model lists them as buffers (metadata "rdasim.constants", which
  // rdasim's own exporters write) or they are BatchNormalization running statistics.
  std::set<std::string> buffers;
  for (const auto& prop : model.metadata_props()) {
    if (prop.key() != "rdasim.constants") continue;
    std::string list = prop.value();
    for (std::size_t start = 0; start <= list.size();) {
      const std::size_t comma = std::min(list.find(',', start), list.size());
      if (comma > start) buffers.insert(list.substr(start, comma - start));
      start = comma + 1;
    }
  }
  for (const auto& node : gp.node()) {
    if (node.op_type() != "BatchNormalization") continue;
    for (int i = 3; i < std::min(node.input_size(), 5); ++i) buffers.insert(node.input(i));
  }
  std::set<std::string> initializers;
  for (const auto& init : gp.initializer()) {
    Tensor t = decode_tensor(init, source, init.name());
    t.role = is_float(t.dtype) && !buffers.contains(t.name) ? Role::param : Role::constant;
    initializers.insert(t.name);
    g.add_tensor(std::move(t));
  }
  for (const auto& given : options.constant_inputs) {
    Tensor t = given;
    t.role = Role::constant;
    g.add_tensor(std::move(t));
  }
  for (const auto& input : gp.input()) {
    if (initializers.contains(input.name()) || g.find_tensor(input.name())) continue;
    if (!input.type().has_tensor_type()) {
      unsupported(source, input.name(),
                  fmt::format("input '{}' is a sequence, map or optional value, which is not supported; "
                              "rdasim reads tensors",
                              input.name()));
    }
    const auto& tt = input.type().tensor_type();
    Tensor t;
    t.name = input.name();
    t.role = Role::input;
    auto dtype = dtype_of(tt.elem_type());
    if (!dtype) {
      unsupported(source, t.name,
                  fmt::format("input '{}': element type {} is not supported", t.name, onnx_type_name(tt.elem_type())));
    }
    t.dtype = *dtype;
    for (const auto& d : tt.shape().dim()) {
      if (d.has_dim_value()) {
        t.shape.push_back(d.dim_value());
        t.dim_names.emplace_back();
      } else {
        const std::string name =
            d.dim_param().empty() ? fmt::format("{}_dim{}", t.name, t.shape.size()) : d.dim_param();
        if (!g.dims().contains(name)) {
          auto bound = options.dims.find(name);
          g.set_dim(name, bound != options.dims.end() ? bound->second : 1);
        }
        t.shape.push_back(g.dims().find(name)->second);
        t.dim_names.push_back(name);
      }
    }
    g.add_tensor(std::move(t));
  }
  for (const auto& [name, size] : options.dims) {
    if (!g.dims().contains(name)) {
      std::vector<std::string> names;
      for (const auto& [n, s] : g.dims()) names.push_back(n);
      fail(source, "dims",
           fmt::format("the model has no symbolic dimension '{}'{}; it has {}", name, core::did_you_mean(name, names),
                       names.empty() ? "none" : core::quoted_list(names)));
    }
  }

  // One unique name per node, used for its op, its messages and its omitted outputs.
  std::vector<std::string> node_names;
  std::set<std::string> taken;
  for (int i = 0; i < gp.node_size(); ++i) {
    const auto& node = gp.node(i);
    std::string name = node.name().empty() ? fmt::format("{}_{}", node.op_type(), i) : node.name();
    while (!taken.insert(name).second) name += "_";
    node_names.push_back(std::move(name));
  }

  // Every node's kind must be known; report all unknown ones together.
  const OpRegistry& registry = OpRegistry::instance();
  std::vector<std::string> unknown_kinds;
  for (int i = 0; i < gp.node_size(); ++i) {
    const auto& node = gp.node(i);
    const std::string& name = node_names[static_cast<std::size_t>(i)];
    const bool foreign = !node.domain().empty() && node.domain() != "ai.onnx";
    if (foreign || (node.op_type() != "Constant" && !registry.find(node.op_type()))) {
      unknown_kinds.push_back(fmt::format("'{}' ({}{})", name, foreign ? node.domain() + "." : "", node.op_type()));
    }
  }
  if (!unknown_kinds.empty()) {
    std::string list;
    for (std::size_t i = 0; i < unknown_kinds.size(); ++i) list += (i ? ", " : "") + unknown_kinds[i];
    unsupported(source, "",
                fmt::format("{} node{} of unsupported kind: {}", unknown_kinds.size(),
                            unknown_kinds.size() == 1 ? "" : "s", list));
  }

  std::set<std::string> graph_outputs;
  for (const auto& out : gp.output()) graph_outputs.insert(out.name());

  // Outputs first, so nodes may appear in any order; then the nodes. A Constant node becomes
  // a constant tensor, or a Constant op when the graph returns its value.
  std::vector<std::vector<TensorId>> node_outputs(static_cast<std::size_t>(gp.node_size()));
  for (int i = 0; i < gp.node_size(); ++i) {
    const auto& node = gp.node(i);
    const std::string& name = node_names[static_cast<std::size_t>(i)];
    if (node.op_type() == "Constant") {
      Tensor t = constant_tensor(node, source, name);
      const bool returned = graph_outputs.contains(t.name);
      t.role = returned ? Role::activation : Role::constant;
      const TensorId id = g.add_tensor(std::move(t));
      if (returned) {
        Op op;
        op.name = name;
        op.kind = "Constant";
        op.outputs = {id};
        g.add_op(std::move(op));
      }
      continue;
    }
    for (int k = 0; k < node.output_size(); ++k) {
      Tensor t;
      // An omitted optional output still has a place: it gets a name of its own.
      t.name = node.output(k).empty() ? fmt::format("{}:unused{}", name, k) : node.output(k);
      if (g.find_tensor(t.name))
        fail(source, name, fmt::format("node '{}': tensor '{}' is written twice", name, t.name));
      node_outputs[static_cast<std::size_t>(i)].push_back(g.add_tensor(std::move(t)));
    }
  }
  for (int i = 0; i < gp.node_size(); ++i) {
    const auto& node = gp.node(i);
    if (node.op_type() == "Constant") continue;  // done above
    Op op;
    op.name = node_names[static_cast<std::size_t>(i)];
    op.kind = node.op_type();
    for (const auto& in : node.input()) {
      if (in.empty()) {
        op.inputs.push_back(k_no_tensor);
        continue;
      }
      auto id = g.find_tensor(in);
      if (!id)
        fail(source, op.name,
             fmt::format("node '{}' reads '{}', which no input, initializer or node provides", op.name, in));
      op.inputs.push_back(*id);
    }
    op.outputs = node_outputs[static_cast<std::size_t>(i)];
    for (const auto& a : node.attribute()) {
      if (op.kind == "ConstantOfShape" && a.name() == "value") {
        // A one-element tensor: its value and its type, as attributes the registry reads.
        const Tensor fill = decode_tensor(a.t(), source, op.name);
        if (!fill.values || fill.values->size() != 1)
          fail(source, op.name, fmt::format("ConstantOfShape '{}': 'value' must hold one element", op.name));
        op.attrs.values["dtype"] = std::string(to_string(fill.dtype));
        op.attrs.values["value"] = fill.values->front();
        continue;
      }
      AttrValue value = attr_value(a, source, op.name);
      if (op.kind == "Cast" && a.name() == "to") {
        auto dtype = dtype_of(static_cast<int>(a.i()));
        if (!dtype)
          unsupported(
              source, op.name,
              fmt::format("Cast '{}' to {} is not supported", op.name, onnx_type_name(static_cast<int>(a.i()))));
        value = std::string(to_string(*dtype));
      }
      op.attrs.values[a.name()] = std::move(value);
    }
    translate_legacy(op, opset, g, source);
    // Before opset 13, Softmax and LogSoftmax default to axis 1 and flatten the trailing
    // dimensions; they agree with today's form when that axis is the last one.
    if ((op.kind == "Softmax" || op.kind == "LogSoftmax") && opset < 13 && !op.attrs.has("axis")) {
      op.attrs.values["axis"] = std::int64_t{1};
    }
    g.add_op(std::move(op));
  }
  for (const auto& out : gp.output()) {
    auto id = g.find_tensor(out.name());
    if (!id) fail(source, out.name(), fmt::format("graph output '{}' is not produced by any node", out.name()));
    if (g.tensor(*id).role == Role::activation) g.mark_output(*id);
  }
  try {
    infer_shapes(g);
    g = fold_constants(g);
  } catch (const core::UnsupportedError& e) {
    throw core::UnsupportedError(core::Location(source, 0, 0, e.where().key_path), e.message());
  } catch (const core::InputError& e) {
    throw core::InputError(core::Location(source, 0, 0, e.where().key_path), e.message());
  }
  if (opset < 13) {
    for (const Op& op : g.ops()) {
      if (op.kind != "Softmax" && op.kind != "LogSoftmax") continue;
      const auto rank = static_cast<std::int64_t>(g.tensor(op.inputs[0]).shape.size());
      const std::int64_t axis = op.attrs.get_int("axis", 1);
      if (axis != rank - 1 && axis != -1) {
        unsupported(source, op.name,
                    fmt::format("node '{}': {} of opset {} over axis {} of a rank-{} input flattens the "
                                "trailing dimensions; only the last axis is supported",
                                op.name, op.kind, opset, axis, rank));
      }
    }
  }
  return g;
}

}  // namespace rdasim::graphs
