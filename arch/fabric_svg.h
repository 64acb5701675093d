// An SVG picture of the whole chip: tiles, PCUs and PMUs, the switch lattice and AGCUs. Later
// layers (the mapper's placement report) restyle units through `UnitStyler`.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "arch/fabric.h"

namespace rdasim::arch {

/// How one unit is drawn; empty fields keep the default for its kind.
struct UnitStyle {
  std::string fill;   ///< CSS colour
  std::string label;  ///< short text inside the cell (a few characters)
  std::string title;  ///< hover text
};

/// Returns a style for units to draw differently, or nullopt for the default.
using UnitStyler = std::function<std::optional<UnitStyle>(const Unit&)>;

/// A self-contained SVG document of the fabric, with a legend.
[[nodiscard]] std::string fabric_svg(const Fabric& fabric, const UnitStyler& styler = {});

}  // namespace rdasim::arch
