// The mapping's reports. placement.txt: per tenant and section, every op with its units, tile
// and coordinates, parallelization and PMUs, and the section's totals and analytic times.
// placement.svg: where a mapping put every op, one panel per section step. Panel k shows the
// k-th section of every tenant (tenants run side by side): units coloured by op (one tenant)
// or by tenant (several), switch links shaded by their load against the section's time,
// tenants' regions outlined. Hover text names the op, its slice and the link's bytes.
#pragma once

#include <string>

#include "arch/fabric.h"
#include "mapper/mapping.h"

namespace rdasim::mapper {

/// At most this many panels are drawn; the caption says when sections were left out.
inline constexpr std::size_t k_max_svg_panels = 48;

/// The placement report as text.
[[nodiscard]] std::string placement_text(const Mapping& mapping, const arch::Fabric& fabric);

/// A self-contained SVG document.
[[nodiscard]] std::string placement_svg(const Mapping& mapping, const arch::Fabric& fabric);

}  // namespace rdasim::mapper
