#include <catch2/catch.hpp>

#include <filesystem>

#include "core/error.h"
#include "core/paths.h"

using namespace rdasim::core;
using Catch::Matchers::Contains;

TEST_CASE("the data folder is found beside the program and holds the presets", "[core][paths]") {
  // <build>/tests/rdasim_unit_tests: <build>/share/rdasim, which the build fills.
  REQUIRE(std::filesystem::is_directory(data_dir()));
  CHECK(std::filesystem::is_regular_file(data_dir() / "arch" / "sn10.yaml"));
  CHECK(std::filesystem::is_regular_file(data_dir() / "systems" / "sn40l-8.yaml"));
}

TEST_CASE("a preset's name stands for its file; a path stays a path", "[core][paths]") {
  CHECK(preset_path("sn10", "arch", ".yaml", "fabric") == data_dir() / "arch" / "sn10.yaml");
  CHECK(preset_path("h100", "gpu", ".yaml", "GPU") == data_dir() / "gpu" / "h100.yaml");
  // Anything with a folder or an extension is a file, missing or not: its loader names it.
  CHECK(preset_path("configs/arch/sn10.yaml", "arch", ".yaml", "fabric") == "configs/arch/sn10.yaml");
  CHECK(preset_path("nowhere/sn10", "arch", ".yaml", "fabric") == "nowhere/sn10");
  CHECK(preset_path("sn10.yml", "arch", ".yaml", "fabric") == "sn10.yml");
}

TEST_CASE("a name that is neither a file nor a preset lists the presets", "[core][paths]") {
  CHECK_THROWS_AS(preset_path("sn11", "arch", ".yaml", "fabric"), InputError);
  CHECK_THROWS_WITH(preset_path("sn11", "arch", ".yaml", "fabric"), Contains("no file or fabric preset named 'sn11'") &&
                                                                        Contains("did you mean 'sn10'") &&
                                                                        Contains("'tiny'"));
  CHECK_THROWS_WITH(preset_path("sn10", "no-such-folder", ".yaml", "fabric"), Contains("no presets are installed"));
}

TEST_CASE("a file named in another file is relative to it, or a preset by its bare name", "[core][paths]") {
  CHECK(named_file("configs/systems", "../arch/sn40l.yaml", "arch", ".yaml") == "configs/systems/../arch/sn40l.yaml");
  CHECK(named_file("/nowhere", "sn40l", "arch", ".yaml") == data_dir() / "arch" / "sn40l.yaml");
  // Neither a file there nor a preset: the relative path, for the caller's "does not exist".
  CHECK(named_file("/nowhere", "sn41l", "arch", ".yaml") == std::filesystem::path("/nowhere/sn41l"));
}
