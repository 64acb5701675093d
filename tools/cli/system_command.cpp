// `rdasim system`: systems of many devices (configs/systems/). `system show` validates a system
// and prints what it amounts to: the device and how many, its links, the system's peak compute
// and memory, and what collectives over all its devices cost with the algorithm a library
// would pick.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "arch/collective.h"
#include "arch/fabric.h"
#include "arch/summary.h"
#include "arch/system.h"
#include "core/json.h"
#include "core/log.h"
#include "core/text.h"
#include "core/units.h"
#include "tools/cli/commands.h"

namespace rdasim::tools {

namespace {

struct SystemShowOptions {
  std::string file;
  std::vector<std::string> sets;
  std::optional<int> devices;
  bool json = false;
};

/// One device's headline figures, whichever kind it is.
struct DeviceFigures {
  double peak_flops = 0;  ///< bf16 dense (an RDA: its PCUs' precision)
  double memory_bytes_per_s = 0;
  double memory_bytes = 0;
  double sram_bytes = 0;
};

DeviceFigures device_figures(const arch::SystemSpec& system) {
  if (system.gpu) {
    return {system.gpu->peak.bf16_tflops * 1e12, system.gpu->memory_bytes_per_s(), system.gpu->memory_gib * core::k_gib,
            0};
  }
  const arch::Summary s = arch::summarize(arch::Fabric(*system.fabric));
  double capacity = 0;
  for (const auto& tier : s.tiers) capacity += tier.capacity_bytes;
  return {s.peak_flops, s.offchip_bytes_per_s, capacity, s.sram_bytes};
}

/// The sizes `system show` prices collectives at: 4 KiB to 1 GiB.
const std::vector<double>& shown_sizes() {
  static const std::vector<double> sizes{4 * core::k_kib, core::k_mib, 64 * core::k_mib, core::k_gib};
  return sizes;
}

core::Json collectives_json(const arch::SystemSpec& system) {
  core::Json rows = core::Json::array();
  for (const auto kind : {arch::Collective::all_reduce, arch::Collective::all_gather, arch::Collective::send}) {
    for (const double bytes : shown_sizes()) {
      const auto plan = arch::plan_collective(system, kind, bytes, system.devices);
      rows.push_back({{"collective", arch::to_string(kind)},
                      {"ranks", plan.ranks},
                      {"bytes", bytes},
                      {"algorithm", arch::to_string(plan.algorithm)},
                      {"steps", plan.steps},
                      {"seconds", plan.seconds},
                      {"bytes_sent_per_device", plan.bytes_sent_per_device()}});
    }
  }
  return rows;
}

void print_text(const arch::SystemSpec& system, const DeviceFigures& d) {
  using core::format_bytes;
  using core::format_si;
  const int n = system.devices;
  auto row = [](const char* label, const std::string& value) { fmt::print("  {:<16} {}\n", label, value); };
  fmt::print("{}  ({})\n", system.name, system.source);
  if (!system.description.empty()) fmt::print("  {}\n", system.description);
  row("device",
      fmt::format("{} x {} ({}, {})", n, system.device_name(), system.is_gpu() ? "GPU" : "RDA", system.device_file));
  const auto& link = system.interconnect;
  row("interconnect",
      fmt::format("{}, {} link{} of {} each way per device ({} each way); {} between a pair",
                  arch::to_string(link.topology), link.links_per_device, link.links_per_device == 1 ? "" : "s",
                  format_si(link.link_gbps * 1e9, "B/s"), format_si(system.device_bytes_per_s(), "B/s"),
                  format_si(system.pair_bytes_per_s(), "B/s")));
  row("link latency", format_si(system.latency_s(), "s"));
  row("host link", fmt::format("PCIe {}.0, {} each way per device", system.host.pcie_generation,
                               format_si(system.host_bytes_per_s(), "B/s")));
  row("peak compute",
      fmt::format("{} ({} per device)", format_si(n * d.peak_flops, "FLOP/s"), format_si(d.peak_flops, "FLOP/s")));
  row("memory", fmt::format("{} at {} ({} per device)", format_bytes(n * d.memory_bytes),
                            format_si(n * d.memory_bytes_per_s, "B/s"), format_si(d.memory_bytes_per_s, "B/s")));
  if (d.sram_bytes > 0) row("on-chip SRAM", format_bytes(n * d.sram_bytes));
  if (n == 1) return;
  fmt::print("\n  collectives over all {} devices (algorithm, time):\n  {:<15}", n, "");
  for (const double bytes : shown_sizes()) fmt::print(" {:>24}", format_bytes(bytes));
  fmt::print("\n");
  for (const auto kind : {arch::Collective::all_reduce, arch::Collective::all_gather, arch::Collective::send}) {
    fmt::print("  {:<15}", arch::to_string(kind));
    for (const double bytes : shown_sizes()) {
      const auto plan = arch::plan_collective(system, kind, bytes, n);
      fmt::print(" {:>24}", fmt::format("{} {}", arch::to_string(plan.algorithm), format_si(plan.seconds, "s")));
    }
    fmt::print("\n");
  }
}

int run_show(const SystemShowOptions& opt) {
  std::vector<core::Override> overrides;
  for (const auto& text : opt.sets) overrides.push_back(core::Override::parse(text));
  const auto system = arch::SystemSpec::load_file(opt.file, overrides, opt.devices);
  if (system.fabric) {
    for (const auto& warning : system.fabric->warnings()) core::log::warn("{}: {}", system.device_file, warning);
  }
  const DeviceFigures d = device_figures(system);
  if (opt.json) {
    core::Json doc = system.to_json();
    const int n = system.devices;
    doc["totals"] = {{"peak_flops", n * d.peak_flops},
                     {"memory_bytes", n * d.memory_bytes},
                     {"memory_bytes_per_s", n * d.memory_bytes_per_s},
                     {"sram_bytes", n * d.sram_bytes}};
    doc["collectives"] = collectives_json(system);
    fmt::print("{}", core::to_json_text(doc));
  } else {
    print_text(system, d);
  }
  return 0;
}

}  // namespace

void add_system_command(CLI::App& app, Runner& run) {
  auto* cmd = app.add_subcommand("system",
                                 "Systems of many devices (sockets or GPUs and their links): validate, "
                                 "summarize, document");
  cmd->require_subcommand(1);

  add_keys_command(cmd, run, arch::SystemSpec::schema(), "system", "configs/systems/README.md");

  auto opt = std::make_shared<SystemShowOptions>();
  auto* show = cmd->add_subcommand(
      "show",
      "Validate a system description and print it: the device and how many, the links between devices and to the "
      "host, peak compute and memory of the whole system, and all-reduce, all-gather and send times over all its "
      "devices from 4 KiB to 1 GiB with the algorithm a communication library would pick");
  show->add_option("FILE", opt->file, "System description (YAML), e.g. configs/systems/sn10-8.yaml")->required();
  show->add_option("--devices", opt->devices,
                   "Replace the system's device count (1, 2 or 4 GPUs of a DGX; 1 to 16 sockets for scaling)")
      ->type_name("N");
  show->add_option("--set", opt->sets,
                   "Override a key before validation, e.g. --set interconnect.link_bandwidth_gbps=100 (repeatable)")
      ->type_name("KEY=VALUE");
  show->add_flag("--json", opt->json, "Print machine-readable JSON (the resolved system, totals, collectives)");
  show->callback([&run, opt] { run = [opt] { return run_show(*opt); }; });
}

}  // namespace rdasim::tools
