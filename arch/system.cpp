// Reading and validating an arch::SystemSpec; every key is declared once in the schema below,
// so `rdasim system keys` and the validation cannot disagree.
#include "arch/system.h"

#include <fmt/format.h>

#include <vector>

#include "core/error.h"
#include "core/paths.h"

namespace rdasim::arch {

using core::Bounds;
using core::ConfigNode;
namespace decl = core::decl;

const char* to_string(Topology topology) {
  switch (topology) {
    case Topology::ring: return "ring";
    case Topology::full_mesh: return "full_mesh";
    case Topology::switched: return "switch";
  }
  return "?";
}

namespace {

core::Schema make_schema() {
  const Bounds positive = Bounds::above(0);
  return core::Schema(
      "system",
      {
          decl::text("name", "the system's product name, used in reports"),
          decl::text("description", "one line about the system and where its figures come from",
                     core::Presence::optional),
          decl::text("framework",
                     "the serving framework `rdasim serve` uses on it unless --framework says otherwise "
                     "(configs/frameworks/)",
                     core::Presence::optional),
          decl::section("device", "what each socket holds: an RDA fabric or a GPU (give one of arch and gpu)"),
          decl::text("device.arch",
                     "fabric description (configs/arch/*.yaml), relative to this file, or a preset's name (sn40l)",
                     core::Presence::optional),
          decl::text("device.gpu", "GPU spec (configs/gpu/*.yaml), relative to this file, or a preset's name (h100)",
                     core::Presence::optional),
          decl::list("device.set",
                     "overrides of the device's keys, \"KEY=VALUE\" each (a variant of a preset: "
                     "another HBM bandwidth)",
                     core::Presence::optional),
          decl::integer("devices", "", "sockets or GPUs in the system (`--devices N` replaces it)",
                        Bounds::between(1, 4096)),
          decl::section("interconnect", "the links between devices"),
          decl::choice("interconnect.topology",
                       "ring (neighbours), full_mesh (every pair directly) or switch (every device to a "
                       "switch, any pair at the device's full bandwidth)",
                       {"ring", "full_mesh", "switch"}),
          decl::number("interconnect.link_bandwidth_gbps", "GB/s", "one link, one direction", positive),
          decl::integer("interconnect.links_per_device", "", "links leaving one device", Bounds::between(1, 1024)),
          decl::number("interconnect.latency_us", "us",
                       "start-up of one transfer: link, endpoints and switch (the alpha of alpha-beta)",
                       Bounds::at_least(0)),
          decl::section("host", "the link from the host to each device"),
          decl::choice("host.pcie_generation", "PCIe generation", {"3", "4", "5", "6"}),
          decl::number("host.bandwidth_gbps", "GB/s", "per device, one direction", positive),
      });
}

std::vector<core::Override> device_overrides(const core::SectionReader& device) {
  std::vector<core::Override> overrides;
  if (const auto list = device.node("set")) {
    if (!list->is_list()) list->fail_expected("a list of \"KEY=VALUE\" texts");
    for (const auto& element : list->elements()) {
      try {
        overrides.push_back(core::Override::parse(element.as_string()));
      } catch (const core::InputError& e) {
        element.fail(e.what());
      }
    }
  }
  return overrides;
}

}  // namespace

const core::Schema& SystemSpec::schema() {
  static const core::Schema schema = make_schema();
  return schema;
}

SystemSpec SystemSpec::load(const ConfigNode& root_node) {
  const core::SectionReader root = schema().root(root_node);
  SystemSpec spec;
  spec.source = root_node.location().file;
  spec.name = root.text("name");
  if (const auto d = root.node("description")) spec.description = d->as_string();
  if (const auto f = root.node("framework")) spec.framework = f->as_string();

  const auto device = root.section("device");
  const auto arch_file = device.node("arch");
  const auto gpu_file = device.node("gpu");
  if (arch_file.has_value() == gpu_file.has_value()) {
    device.config().fail(arch_file ? "gives both arch and gpu; expected one device kind"
                                   : "names no device; expected `arch: FILE` (an RDA) or `gpu: FILE`");
  }
  const ConfigNode& file_node = arch_file ? *arch_file : *gpu_file;
  const std::filesystem::path folder = std::filesystem::path(spec.source).parent_path();
  const std::filesystem::path file =
      core::named_file(folder, file_node.as_string(), arch_file ? "arch" : "gpu", ".yaml");
  if (!std::filesystem::is_regular_file(file)) {
    file_node.fail(
        fmt::format("device file '{}' does not exist (paths are relative to the system file's folder)", file.string()));
  }
  spec.device_file = file.lexically_normal().string();
  const auto overrides = device_overrides(device);
  if (arch_file) {
    spec.fabric = Spec::load_file(file, overrides);
  } else {
    spec.gpu = GpuSpec::load_file(file, overrides);
  }

  spec.devices = static_cast<int>(root.integer("devices"));
  const auto link = root.section("interconnect");
  const std::string topology = link.choice("topology");
  spec.interconnect.topology = topology == "ring"        ? Topology::ring
                               : topology == "full_mesh" ? Topology::full_mesh
                                                         : Topology::switched;
  spec.interconnect.link_gbps = link.number("link_bandwidth_gbps");
  spec.interconnect.links_per_device = static_cast<int>(link.integer("links_per_device"));
  spec.interconnect.latency_us = link.number("latency_us");
  const int n = spec.devices;
  const int links = spec.interconnect.links_per_device;
  if (spec.interconnect.topology == Topology::ring && n > 2 && links < 2) {
    link.config()
        .at("links_per_device")
        .fail(fmt::format(
            "a ring of {} devices needs a link to each neighbour; expected links_per_device >= 2, found {}", n, links));
  }
  if (spec.interconnect.topology == Topology::full_mesh && n > 1 && links < n - 1) {
    link.config()
        .at("links_per_device")
        .fail(
            fmt::format("a full mesh of {} devices needs a link to each of {} peers; expected links_per_device >= {}, "
                        "found {} (or a ring or a switch)",
                        n, n - 1, n - 1, links));
  }
  const auto host = root.section("host");
  spec.host.pcie_generation = std::stoi(host.choice("pcie_generation"));
  spec.host.bandwidth_gbps = host.number("bandwidth_gbps");
  return spec;
}

SystemSpec SystemSpec::load_file(const std::filesystem::path& path, std::span<const core::Override> overrides,
                                 std::optional<int> devices) {
  std::vector<core::Override> all(overrides.begin(), overrides.end());
  if (devices) all.push_back(core::Override{"devices", std::to_string(*devices)});
  return load(ConfigNode::load_file(core::preset_path(path, "systems", ".yaml", "system"), all));
}

const std::string& SystemSpec::device_name() const { return gpu ? gpu->name : fabric->name(); }

int SystemSpec::links_per_pair() const {
  const int links = interconnect.links_per_device;
  if (devices <= 2 || interconnect.topology == Topology::switched) return links;
  if (interconnect.topology == Topology::ring) return links / 2;
  return links / (devices - 1);
}

double SystemSpec::device_bytes_per_s() const { return interconnect.links_per_device * interconnect.link_gbps * 1e9; }

double SystemSpec::pair_bytes_per_s() const { return links_per_pair() * interconnect.link_gbps * 1e9; }

core::Json SystemSpec::to_json() const {
  return core::Json{
      {"name", name},
      {"description", description},
      {"framework", framework},
      {"device", {{"kind", is_gpu() ? "gpu" : "rda"}, {"name", device_name()}, {"file", device_file}}},
      {"devices", devices},
      {"interconnect",
       {{"topology", to_string(interconnect.topology)},
        {"link_bandwidth_gbps", interconnect.link_gbps},
        {"links_per_device", interconnect.links_per_device},
        {"latency_us", interconnect.latency_us},
        {"links_per_pair", links_per_pair()},
        {"device_bandwidth_gbps", device_bytes_per_s() / 1e9},
        {"pair_bandwidth_gbps", pair_bytes_per_s() / 1e9}}},
      {"host", {{"pcie_generation", host.pcie_generation}, {"bandwidth_gbps", host.bandwidth_gbps}}},
  };
}

}  // namespace rdasim::arch
