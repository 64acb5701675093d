// arch::fabric_svg: one shape per unit, hover titles, restyling for overlays.
#include <catch2/catch.hpp>

#include <regex>

#include "arch/fabric_svg.h"
#include "arch_test_util.h"
#include "core/text.h"

using namespace rdasim;
using Catch::Matchers::Contains;

using core::count_occurrences;

TEST_CASE("the SVG draws every unit once, with a title", "[arch][svg]") {
  const arch::Fabric fabric(test::tiny());
  const std::string svg = arch::fabric_svg(fabric);
  CHECK(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  CHECK(svg.ends_with("</svg>\n"));
  CHECK(count_occurrences(svg, "<title>PCU ") == 16);
  CHECK(count_occurrences(svg, "<title>PMU ") == 16);
  CHECK(count_occurrences(svg, "<title>AGCU ") == 4);
  CHECK(count_occurrences(svg, "<title>switch ") == 50);
  CHECK(count_occurrences(svg, "<title>tile ") == 2);
  // Switch-to-switch connections, drawn once each: 2 x 40 in the tiles + 5 between them.
  CHECK(count_occurrences(svg, "<line ") == 85);
  CHECK(count_occurrences(svg, "<g>") == count_occurrences(svg, "</g>\n") - 1);  // unit groups plus the link group
}

TEST_CASE("a styler recolours and relabels chosen units", "[arch][svg]") {
  const arch::Fabric fabric(test::tiny());
  const std::string svg = arch::fabric_svg(fabric, [](const arch::Unit& u) -> std::optional<arch::UnitStyle> {
    if (u.kind == arch::UnitKind::pcu && u.tile == 1 && u.x == 0 && u.y == 0) {
      return arch::UnitStyle{"#ff0000", "G7", "gemm <7> & relu"};
    }
    return std::nullopt;
  });
  CHECK(count_occurrences(svg, "fill=\"#ff0000\"") == 1);
  CHECK_THAT(svg, Contains(">G7</text>"));
  CHECK_THAT(svg, Contains("<title>gemm &lt;7&gt; &amp; relu</title>"));
  CHECK(count_occurrences(svg, "<title>PCU ") == 15);
}
