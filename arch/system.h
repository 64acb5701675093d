// arch::SystemSpec: a system of devices (configs/systems/*.yaml): which device (an RDA fabric
// spec or a GPU spec), how many, the links between them and the link to the host. A single chip
// is a system of one. Read once, validated, immutable; `--devices N` rescales any system.
#pragma once

#include <filesystem>
#include <optional>
#include <span>
#include <string>

#include "arch/gpu_spec.h"
#include "arch/spec.h"
#include "core/config.h"
#include "core/json.h"
#include "core/schema.h"

namespace rdasim::arch {

/// How devices are wired to each other.
enum class Topology {
  ring,       ///< each device to its two neighbours, its links split between them
  full_mesh,  ///< every pair directly, a device's links spread over its peers
  switched,   ///< every link of every device to a switch (NVSwitch): any pair at full bandwidth
};

[[nodiscard]] const char* to_string(Topology topology);

struct Interconnect {
  Topology topology = Topology::switched;
  double link_gbps = 0;      ///< one link, one direction, GB/s (1e9 bytes per second)
  int links_per_device = 0;  ///< links leaving one device
  double latency_us = 0;     ///< one transfer's start-up: the link, the endpoints (and the switch)
};

struct HostLink {
  int pcie_generation = 4;
  double bandwidth_gbps = 0;  ///< per device, one direction
};

class SystemSpec {
 public:
  /// Reads a system; device files are relative to the system file's folder.
  static SystemSpec load(const core::ConfigNode& root);
  /// `devices` replaces the document's count (the `--devices N` override) and is validated
  /// as the document's would be. `path` may name a preset instead (core::preset_path):
  /// "sn40l-8" is <data dir>/systems/sn40l-8.yaml.
  static SystemSpec load_file(const std::filesystem::path& path, std::span<const core::Override> overrides = {},
                              std::optional<int> devices = {});
  static const core::Schema& schema();

  std::string name;            ///< "SambaNova DataScale SN10-8"
  std::string description;     ///< one line, with where the figures come from
  std::string source;          ///< the file it came from
  std::string framework;       ///< the serving framework it is served with by default ("" none)
  std::string device_file;     ///< the device's spec file, as resolved
  std::optional<Spec> fabric;  ///< the device, when it is an RDA
  std::optional<GpuSpec> gpu;  ///< the device, when it is a GPU
  int devices = 1;
  Interconnect interconnect;
  HostLink host;

  [[nodiscard]] bool is_gpu() const { return gpu.has_value(); }
  /// The device's name (the fabric's or the GPU's).
  [[nodiscard]] const std::string& device_name() const;
  /// Bytes per second one device sends over all its links, one direction.
  [[nodiscard]] double device_bytes_per_s() const;
  /// Bytes per second from one device to one other, one direction: a ring neighbour's share,
  /// a mesh pair's links, or the whole device through a switch.
  [[nodiscard]] double pair_bytes_per_s() const;
  /// Links between two neighbours of a ring or a pair of a mesh (a switch: all of a device's).
  [[nodiscard]] int links_per_pair() const;
  [[nodiscard]] double latency_s() const { return interconnect.latency_us * 1e-6; }
  [[nodiscard]] double host_bytes_per_s() const { return host.bandwidth_gbps * 1e9; }
  [[nodiscard]] core::Json to_json() const;
};

}  // namespace rdasim::arch
