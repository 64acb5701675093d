// A design-space sweep (configs/sweeps/*.yaml, documented in configs/sweeps/README.md): a base
// fabric, axes over any of its keys, workloads with their batches, how the fabric points are
// sampled, an optional GPU to compare with, and the result columns to keep. Expanded into
// points, each one fabric point x one workload x one batch, keyed by a hash of everything that
// decides its result.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"

namespace rdasim::tools::sweep {

struct Axis {
  std::string key;                  ///< a dotted arch key, "pcu.lanes"
  std::vector<std::string> values;  ///< YAML scalars as written
};

struct WorkloadSpec {
  std::string label;                ///< as written in the spec ("inversion", "models/x.onnx")
  std::string model;                ///< a built-in workload or a model file resolved against the spec's folder
  std::vector<std::string> params;  ///< "name=value", without the batch
  std::vector<int> batches;         ///< empty: the workload's own batch
};

enum class Sampling { grid, zip, random };

struct Spec {
  std::string name;
  std::filesystem::path file;
  std::filesystem::path arch;  ///< the base fabric; empty in a serving sweep
  /// A serving sweep's base system (`system:` instead of `arch:`): axes over its keys, and over
  /// its device's as "arch.KEY"; each workload an LLM served as a static batch (`rdasim serve`).
  std::optional<std::filesystem::path> system;
  std::vector<std::string> sets;  ///< fixed "key=value" overrides of the base
  std::vector<Axis> axes;
  std::vector<WorkloadSpec> workloads;
  Sampling sampling = Sampling::grid;
  int samples = 0;
  std::uint64_t seed = 1;
  std::string mode = "o1";
  std::optional<std::filesystem::path> gpu;
  std::string precision = "bf16";
  std::vector<std::string> keep;  ///< result columns, in result_columns() order

  /// Reads and validates a spec: unknown keys, empty or unequal axes, axis values the base
  /// fabric rejects and unknown workloads are core::InputError at their place in the file.
  static Spec load(const std::filesystem::path& file);
};

/// One point of the sweep.
struct Point {
  std::size_t index = 0;            ///< position in the expanded order
  std::vector<std::string> values;  ///< one per axis
  const WorkloadSpec* workload = nullptr;
  int batch = 0;    ///< 0: the workload's own
  std::string key;  ///< 16 hex digits

  /// The fabric overrides of this point: the spec's fixed ones, then its axes.
  [[nodiscard]] std::vector<std::string> sets(const Spec& spec) const;
  /// The workload's parameters with the batch.
  [[nodiscard]] std::vector<std::string> params() const;
};

/// A serving sweep's "key=value" sets as system overrides: system keys as they are, the
/// device's "arch.KEY" ones gathered into one device.set list.
[[nodiscard]] std::vector<core::Override> system_overrides(const std::vector<std::string>& sets);

/// The parameters an LLM workload of a serving sweep takes (input_len and output_len needed).
[[nodiscard]] const std::vector<std::string>& serve_params();

/// Every point: the sampled fabric points, each crossed with every workload and batch. The key
/// hashes the contents of the arch and GPU files, the point and the method ("sim" or
/// "analytic"), so a changed input never reuses an old row.
[[nodiscard]] std::vector<Point> expand(const Spec& spec, bool fast);

/// Every result column a point can produce, in CSV order.
[[nodiscard]] const std::vector<std::string>& result_columns();

/// The CSV header of a sweep: key, workload, batch, one column per axis, method, status, error,
/// then the kept result columns.
[[nodiscard]] std::vector<std::string> header(const Spec& spec);

}  // namespace rdasim::tools::sweep
