#include "tools/sweep/spec.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "arch/spec.h"
#include "arch/system.h"
#include "core/config.h"
#include "core/error.h"
#include "core/files.h"
#include "core/json.h"
#include "core/model_revision.h"
#include "core/paths.h"
#include "core/random.h"
#include "core/text.h"
#include "workloads/llm.h"
#include "workloads/workload.h"

namespace rdasim::tools::sweep {

namespace {

/// Scalars of a list, as written (numbers keep their spelling: 153.6 stays "153.6").
std::vector<std::string> scalar_list(const core::ConfigNode& node) {
  std::vector<std::string> out;
  for (const auto& e : node.elements()) {
    if (!e.is_scalar()) e.fail_expected("a number or a word");
    out.push_back(e.as_string());
  }
  if (out.empty()) node.fail("expected at least one value");
  return out;
}

/// Loads the base fabric (or system) with `sets` applied: its complaint, if it has one.
std::optional<std::string> fabric_rejects(const Spec& spec, const std::vector<std::string>& sets) {
  try {
    if (spec.system) {
      (void)arch::SystemSpec::load_file(*spec.system, system_overrides(sets));
      return std::nullopt;
    }
    std::vector<core::Override> overrides;
    for (const auto& s : sets) overrides.push_back(core::Override::parse(s));
    (void)arch::Spec::load_file(spec.arch, overrides);
  } catch (const core::InputError& e) {
    return fmt::format("the {} {} rejects it: {}", spec.system ? "system" : "fabric",
                       (spec.system ? *spec.system : spec.arch).string(), e.what());
  }
  return std::nullopt;
}

/// An LLM served as a static batch: a shipped model or a config.json next to the spec, with
/// input_len and output_len (and optionally tp, pp, framework) as params.
WorkloadSpec load_llm_workload(const core::ConfigNode& node, const std::filesystem::path& folder) {
  node.check_keys({"name", "params", "batches"});
  WorkloadSpec w;
  const auto name = node.at("name");
  w.label = name.as_string();
  const bool is_path = w.label.find('/') != std::string::npos || w.label.ends_with(".json");
  w.model = is_path ? (folder / w.label).string() : w.label;
  if (!std::filesystem::exists(workloads::llm_config_path(w.model))) {
    const auto known = workloads::llm_model_names();
    name.fail(fmt::format("'{}' is neither a shipped LLM{} ({}) nor a config.json next to the spec", w.label,
                          core::did_you_mean(w.label, known), fmt::join(known, ", ")));
  }
  const auto params = node.at("params");
  for (const auto& key : params.keys()) {
    const auto value = params.at(key);
    if (std::find(serve_params().begin(), serve_params().end(), key) == serve_params().end()) {
      value.fail(fmt::format("unknown serving parameter '{}'{}; expected {}", key,
                             core::did_you_mean(key, serve_params()), fmt::join(serve_params(), ", ")));
    }
    if (key != "framework") (void)value.as_int(core::Bounds::between(1, 1 << 24));
    w.params.push_back(key + "=" + value.as_string());
  }
  for (const std::string needed : {"input_len", "output_len"}) {
    if (!params.has(needed)) params.fail(fmt::format("a served LLM needs '{}'", needed));
  }
  w.label = fmt::format("{} ({})", w.label, fmt::join(w.params, ", "));  // the same model at other lengths or splits
  const auto batches = node.at("batches");
  for (const auto& b : batches.elements())
    w.batches.push_back(static_cast<int>(b.as_int(core::Bounds::between(1, 1 << 20))));
  if (w.batches.empty()) batches.fail("expected at least one batch");
  return w;
}

/// Loads the base fabric with `sets` applied, turning its complaint into one about `where`.
void check_fabric(const Spec& spec, const std::vector<std::string>& sets, const core::ConfigNode& where) {
  if (const auto why = fabric_rejects(spec, sets)) where.fail(*why);
}

WorkloadSpec load_workload(const core::ConfigNode& node, const std::filesystem::path& folder) {
  node.check_keys({"name", "params", "batches"});
  WorkloadSpec w;
  const auto name = node.at("name");
  w.label = name.as_string();
  const auto* def = workloads::find(w.label);
  if (def) {
    w.model = w.label;
  } else {
    const auto path = folder / w.label;
    if (!std::filesystem::exists(path)) {
      name.fail(fmt::format("'{}' is neither a built-in workload ({}) nor a model file next to the spec", w.label,
                            fmt::join(workloads::names(), ", ")));
    }
    w.model = path.string();
  }
  std::map<std::string, std::string, std::less<>> given;
  if (const auto params = node.find("params")) {
    for (const auto& key : params->keys()) {
      const auto value = params->at(key);
      if (key == "batch") value.fail("give batches in 'batches', not in params");
      given[key] = value.as_string();
      w.params.push_back(key + "=" + given[key]);
    }
    if (def) {
      try {
        (void)workloads::Params(*def, given);
      } catch (const core::InputError& e) {
        params->fail(e.message());
      }
    }
  }
  if (const auto batches = node.find("batches")) {
    for (const auto& b : batches->elements())
      w.batches.push_back(static_cast<int>(b.as_int(core::Bounds::between(1, 1 << 20))));
    if (w.batches.empty()) batches->fail("expected at least one batch");
  } else if (def) {
    const auto it =
        std::find_if(def->params.begin(), def->params.end(), [](const auto& p) { return p.name == "batch"; });
    w.batches.push_back(it == def->params.end() ? 0 : std::stoi(it->default_value));
  } else {
    w.batches.push_back(0);  // a model file: its own batch
  }
  return w;
}

/// Indices into each axis, one vector per fabric point.
std::vector<std::vector<std::size_t>> sample(const Spec& spec) {
  std::vector<std::vector<std::size_t>> grid(1);
  for (const auto& axis : spec.axes) {
    std::vector<std::vector<std::size_t>> next;
    for (const auto& partial : grid) {
      for (std::size_t i = 0; i < axis.values.size(); ++i) {
        next.push_back(partial);
        next.back().push_back(i);
      }
    }
    grid = std::move(next);
  }
  switch (spec.sampling) {
    case Sampling::grid: return grid;
    case Sampling::zip: {
      std::vector<std::vector<std::size_t>> out;
      const std::size_t n = spec.axes.empty() ? 1 : spec.axes.front().values.size();
      for (std::size_t i = 0; i < n; ++i) out.emplace_back(spec.axes.size(), i);
      return out;
    }
    case Sampling::random: {
      // A seeded partial Fisher-Yates shuffle, then grid order, so the points read in order.
      std::vector<std::size_t> order(grid.size());
      std::iota(order.begin(), order.end(), 0);
      core::SplitMix64 rng(spec.seed);
      const std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(spec.samples), grid.size());
      for (std::size_t i = 0; i < n; ++i) std::swap(order[i], order[i + rng.next() % (grid.size() - i)]);
      order.resize(n);
      std::sort(order.begin(), order.end());
      std::vector<std::vector<std::size_t>> out;
      for (const auto i : order) out.push_back(grid[i]);
      return out;
    }
  }
  return grid;
}

}  // namespace

Spec Spec::load(const std::filesystem::path& file) {
  const auto root = core::ConfigNode::load_file(file);
  root.check_keys({"name", "arch", "system", "set", "axes", "workloads", "sampling", "samples", "seed", "mode", "gpu",
                   "precision", "keep"});
  const auto folder = file.parent_path();
  Spec spec;
  spec.file = file;
  spec.name = root.has("name") ? root.at("name").as_string() : file.stem().string();
  if (root.has("arch") == root.has("system")) {
    root.fail(root.has("arch") ? "gives both arch and system; expected one (a fabric sweep or a serving sweep)"
                               : "names no base; expected `arch: FILE` (a fabric sweep) or `system: FILE` (a serving "
                                 "sweep)");
  }
  if (root.has("arch")) {
    const auto arch = root.at("arch");
    spec.arch = core::named_file(folder, arch.as_string(), "arch", ".yaml");
    if (!std::filesystem::exists(spec.arch)) arch.fail(fmt::format("no such file: {}", spec.arch.string()));
  } else {
    const auto system = root.at("system");
    spec.system = core::named_file(folder, system.as_string(), "systems", ".yaml");
    if (!std::filesystem::exists(*spec.system)) system.fail(fmt::format("no such file: {}", spec.system->string()));
    if (const auto gpu = root.find("gpu"))
      gpu->fail("a serving sweep runs on its system; name a system of GPUs instead");
  }
  if (const auto sets = root.find("set")) {
    for (const auto& key : sets->keys()) spec.sets.push_back(key + "=" + sets->at(key).as_string());
    check_fabric(spec, spec.sets, *sets);
  }
  const auto axes = root.at("axes");
  for (const auto& key : axes.keys()) {
    const auto values = axes.at(key);
    Axis axis{key, scalar_list(values)};
    std::vector<std::optional<std::string>> rejected;
    for (const auto& v : axis.values) {
      auto sets = spec.sets;
      sets.push_back(key + "=" + v);
      rejected.push_back(fabric_rejects(spec, sets));
    }
    // Every value rejected: the key is wrong (or all of them are), so the axis is; else the
    // first value rejected, at its own line and column.
    const bool all = std::all_of(rejected.begin(), rejected.end(), [](const auto& r) { return r.has_value(); });
    const auto elements = values.elements();
    for (std::size_t i = 0; i < rejected.size(); ++i) {
      if (rejected[i]) (all ? values : elements[i]).fail(*rejected[i]);
    }
    spec.axes.push_back(std::move(axis));
  }
  const auto workloads = root.at("workloads");
  for (const auto& w : workloads.elements()) {
    spec.workloads.push_back(spec.system ? load_llm_workload(w, folder) : load_workload(w, folder));
  }
  if (spec.workloads.empty()) workloads.fail("expected at least one workload");

  const auto sampling = root.find("sampling");
  if (sampling) {
    const std::vector<std::string> choices{"grid", "zip", "random"};
    const auto s = sampling->as_choice(choices);
    spec.sampling = s == "grid" ? Sampling::grid : s == "zip" ? Sampling::zip : Sampling::random;
  }
  if (const auto samples = root.find("samples")) {
    if (spec.sampling != Sampling::random) samples->fail("'samples' needs sampling: random");
    spec.samples = static_cast<int>(samples->as_int(core::Bounds::between(1, 1'000'000)));
    std::size_t grid = 1;
    for (const auto& axis : spec.axes) grid *= axis.values.size();
    if (static_cast<std::size_t>(spec.samples) > grid) {
      samples->fail(
          fmt::format("asks for {} fabric points, but the axes make only {}: use sampling: grid", spec.samples, grid));
    }
  } else if (spec.sampling == Sampling::random) {
    sampling->fail("random sampling needs 'samples', the number of fabric points to draw");
  }
  if (spec.sampling == Sampling::zip) {
    for (const auto& axis : spec.axes) {
      if (axis.values.size() != spec.axes.front().values.size()) {
        axes.at(axis.key).fail(fmt::format("sampling: zip walks the axes together: '{}' has {} values, '{}' has {}",
                                           axis.key, axis.values.size(), spec.axes.front().key,
                                           spec.axes.front().values.size()));
      }
    }
  }
  if (const auto seed = root.find("seed"))
    spec.seed = static_cast<std::uint64_t>(seed->as_int(core::Bounds::at_least(0)));
  if (const auto mode = root.find("mode")) {
    const std::vector<std::string> choices{"o0", "o1"};
    spec.mode = mode->as_choice(choices);
  }
  if (const auto gpu = root.find("gpu")) {
    spec.gpu = core::named_file(folder, gpu->as_string(), "gpu", ".yaml");
    if (!std::filesystem::exists(*spec.gpu)) gpu->fail(fmt::format("no such file: {}", spec.gpu->string()));
  }
  if (const auto precision = root.find("precision")) {
    const std::vector<std::string> choices{"bf16", "fp32"};
    spec.precision = precision->as_choice(choices);
  }
  if (const auto keep = root.find("keep")) {
    std::set<std::string> wanted;
    for (const auto& k : keep->elements()) {
      const auto& all = result_columns();
      const auto name = k.as_string();
      if (std::find(all.begin(), all.end(), name) == all.end()) {
        k.fail(fmt::format("no result column '{}'{}; there are {}", name, core::did_you_mean(name, all),
                           fmt::join(all, ", ")));
      }
      wanted.insert(name);
    }
    for (const auto& c : result_columns()) {
      if (wanted.contains(c)) spec.keep.push_back(c);
    }
  } else {
    // What a point of this kind fills in: the serving figures or the fabric's.
    const std::set<std::string> serving{
        "seconds", "seconds_per_sample", "samples_per_s",    "energy_j",           "ttft_s",
        "itl_s",   "output_tok_s",       "throughput_tok_s", "energy_per_token_j", "wall_s"};
    const std::set<std::string> serving_only{"ttft_s", "itl_s", "output_tok_s", "throughput_tok_s",
                                             "energy_per_token_j"};
    for (const auto& c : result_columns()) {
      if (spec.system ? serving.contains(c) : !serving_only.contains(c)) spec.keep.push_back(c);
    }
  }
  return spec;
}

std::vector<std::string> Point::sets(const Spec& spec) const {
  auto out = spec.sets;
  for (std::size_t a = 0; a < spec.axes.size(); ++a) out.push_back(spec.axes[a].key + "=" + values[a]);
  return out;
}

std::vector<std::string> Point::params() const {
  auto out = workload->params;
  if (batch > 0) out.push_back(fmt::format("batch={}", batch));
  return out;
}

std::vector<Point> expand(const Spec& spec, bool fast) {
  // What decides a result besides the point: the files' contents, not their names.
  // A serving sweep's system and the device file it names.
  std::string arch_text;
  if (spec.system) {
    arch_text = core::read_text_file(*spec.system) + "\n--\n" +
                core::read_text_file(arch::SystemSpec::load_file(*spec.system).device_file);
  } else {
    arch_text = core::read_text_file(spec.arch);
  }
  const std::string gpu_text = spec.gpu ? core::read_text_file(*spec.gpu) : "";
  std::map<std::string, std::string> model_hash;  // a model file by its contents, a workload by name
  for (const auto& w : spec.workloads) {
    const std::filesystem::path file =
        spec.system ? workloads::llm_config_path(w.model) : std::filesystem::path(w.model);
    model_hash[w.model] = !spec.system && workloads::find(w.model)
                              ? w.model
                              : core::stable_hash(core::read_text_file(file, std::uintmax_t{1} << 32));
  }
  std::vector<Point> points;
  for (const auto& indices : sample(spec)) {
    for (const auto& w : spec.workloads) {
      for (const int batch : w.batches) {
        Point p;
        p.index = points.size();
        for (std::size_t a = 0; a < spec.axes.size(); ++a) p.values.push_back(spec.axes[a].values[indices[a]]);
        p.workload = &w;
        p.batch = batch;
        const core::Json identity{{"arch", core::stable_hash(arch_text)},
                                  {"sets", p.sets(spec)},
                                  {"model", model_hash.at(w.model)},
                                  {"params", p.params()},
                                  {"mode", spec.mode},
                                  {"seed", spec.seed},
                                  {"gpu", core::stable_hash(gpu_text)},
                                  {"precision", spec.precision},
                                  {"method", fast ? "analytic" : "sim"},
                                  {"model_revision", core::k_model_revision}};
        p.key = core::stable_hash(identity.dump());
        points.push_back(std::move(p));
      }
    }
  }
  return points;
}

const std::vector<std::string>& result_columns() {
  static const std::vector<std::string> columns{"seconds",
                                                "seconds_per_sample",
                                                "samples_per_s",
                                                "cycles",
                                                "energy_j",
                                                "energy_per_sample_j",
                                                "power_w",
                                                "tflops",
                                                "peak_fraction",
                                                "area_mm2",
                                                "peak_tflops",
                                                "sram_mib",
                                                "dram_gbps",
                                                "pcus_used",
                                                "pmus_used",
                                                "sections",
                                                "bound",
                                                "gpu",
                                                "gpu_seconds_per_sample",
                                                "gpu_energy_per_sample_j",
                                                "speedup",
                                                "ttft_s",
                                                "itl_s",
                                                "output_tok_s",
                                                "throughput_tok_s",
                                                "energy_per_token_j",
                                                "wall_s"};
  return columns;
}

const std::vector<std::string>& serve_params() {
  static const std::vector<std::string> params{"input_len", "output_len", "tp", "pp", "framework"};
  return params;
}

std::vector<core::Override> system_overrides(const std::vector<std::string>& sets) {
  std::vector<core::Override> out;
  std::vector<std::string> device;
  for (const auto& s : sets) {
    auto o = core::Override::parse(s);
    if (o.path.starts_with("arch.")) device.push_back(o.path.substr(5) + "=" + o.value);
    else out.push_back(std::move(o));
  }
  if (!device.empty()) out.push_back({"device.set", fmt::format("[{}]", fmt::join(device, ", "))});
  return out;
}

std::vector<std::string> header(const Spec& spec) {
  std::vector<std::string> h{"key", "workload", "batch"};
  for (const auto& axis : spec.axes) h.push_back(axis.key);
  h.insert(h.end(), {"method", "status", "error"});
  h.insert(h.end(), spec.keep.begin(), spec.keep.end());
  return h;
}

}  // namespace rdasim::tools::sweep
