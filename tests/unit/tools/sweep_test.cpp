// tools/sweep: a spec expanded into points (grid, zip and random sampling, the keys that make
// resuming safe, the CSV header), results.csv appended to and reopened after a kill, shards
// merged, and the CSV quoting they rely on. Specs are written to a fresh temporary folder per
// test case, over configs/arch/tiny.yaml.
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "core/csv.h"
#include "core/error.h"
#include "core/files.h"
#include "tests/test_paths.h"
#include "tools/sweep/point.h"
#include "tools/sweep/results.h"
#include "tools/sweep/spec.h"

using namespace rdasim;
using namespace rdasim::tools::sweep;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

const std::filesystem::path k_tiny = test::source_dir() / "configs/arch/tiny.yaml";

/// A fresh folder under the system's temporary one, removed with its contents at the end.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "rdasim_sweep_test_XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    m_path = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(m_path, ignored);
  }
  [[nodiscard]] const std::filesystem::path& path() const { return m_path; }
  [[nodiscard]] std::filesystem::path operator/(const std::string& name) const { return m_path / name; }

 private:
  std::filesystem::path m_path;
};

/// A spec file in `dir` over the tiny fabric: the given axes and sampling lines, two workloads
/// (inversion at batches 2 and 4, dcrnn at its own batch made explicit as 1).
std::filesystem::path write_spec(const TempDir& dir, const std::string& name, const std::string& axes,
                                 const std::string& extra = "", const std::string& arch = k_tiny.string()) {
  const auto path = dir / (name + ".yaml");
  core::write_text_file(path, "name: " + name + "\narch: " + arch + "\naxes:\n" + axes +
                                  "workloads:\n"
                                  "  - name: inversion\n"
                                  "    params: {hidden: 20, omegas: 20, taus: 11, centres: 10}\n"
                                  "    batches: [2, 4]\n"
                                  "  - name: dcrnn\n"
                                  "    params: {sensors: 12, nonzeros: 40, seq: 2, horizon: 2, units: 8}\n"
                                  "    batches: [1]\n" +
                                  extra);
  return path;
}

const std::string k_two_axes = "  pcu.lanes: [4, 8]\n  pcu.stages: [2, 4, 6]\n";
const std::string k_three_axes = "  pcu.lanes: [4, 8, 16]\n  pcu.stages: [2, 4, 6]\n  pmu.capacity_kib: [16, 32, 64]\n";

/// The axis values of each fabric point, in order (each fabric point appears once per
/// workload-batch; the first of those is kept).
std::vector<std::vector<std::string>> fabric_points(const std::vector<Point>& points) {
  std::vector<std::vector<std::string>> out;
  for (const auto& p : points) {
    if (out.empty() || out.back() != p.values) out.push_back(p.values);
  }
  return out;
}

std::vector<std::string> keys_of(const std::vector<Point>& points) {
  std::vector<std::string> keys;
  for (const auto& p : points) keys.push_back(p.key);
  return keys;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const core::InputError& e) {
    return e.what();
  }
  return "no error";
}

std::vector<std::string> row(const std::string& key, const std::string& value) { return {key, value}; }

}  // namespace

TEST_CASE("a grid is every combination of the axes, last axis fastest, times every workload-batch", "[tools][sweep]") {
  TempDir dir;
  const auto spec = Spec::load(write_spec(dir, "grid", k_two_axes));
  CHECK(spec.name == "grid");
  CHECK(spec.sampling == Sampling::grid);
  REQUIRE(spec.axes.size() == 2);
  REQUIRE(spec.workloads.size() == 2);
  const auto points = expand(spec, false);
  REQUIRE(points.size() == 2 * 3 * (2 + 1));
  for (std::size_t i = 0; i < points.size(); ++i) CHECK(points[i].index == i);

  const std::vector<std::vector<std::string>> expected{{"4", "2"}, {"4", "4"}, {"4", "6"},
                                                       {"8", "2"}, {"8", "4"}, {"8", "6"}};
  CHECK(fabric_points(points) == expected);
  // Within a fabric point: inversion at 2 and 4, then dcrnn at 1.
  CHECK(points[0].workload->label == "inversion");
  CHECK(points[0].batch == 2);
  CHECK(points[1].batch == 4);
  CHECK(points[2].workload->label == "dcrnn");
  CHECK(points[2].batch == 1);
  CHECK(points[3].values == std::vector<std::string>{"4", "4"});
  // What a worker applies: the axes as overrides, the batch as a parameter.
  CHECK(points[4].sets(spec) == std::vector<std::string>{"pcu.lanes=4", "pcu.stages=4"});
  CHECK(points[4].params() == std::vector<std::string>{"hidden=20", "omegas=20", "taus=11", "centres=10", "batch=4"});
}

TEST_CASE("a workload without batches runs at its own default batch", "[tools][sweep]") {
  TempDir dir;
  const auto path = dir / "default_batch.yaml";
  core::write_text_file(path,
                        "arch: " + k_tiny.string() + "\naxes:\n  pcu.lanes: [4]\nworkloads:\n  - name: inversion\n");
  const auto spec = Spec::load(path);
  CHECK(spec.name == "default_batch");  // the file's stem
  const auto points = expand(spec, false);
  REQUIRE(points.size() == 1);
  CHECK(points[0].batch == 128);  // inversion's default (rdasim workloads)
}

TEST_CASE("zip walks the axes together", "[tools][sweep]") {
  TempDir dir;
  const auto spec =
      Spec::load(write_spec(dir, "zip", "  pcu.lanes: [4, 8, 16]\n  pcu.stages: [2, 4, 6]\n", "sampling: zip\n"));
  const auto points = expand(spec, false);
  REQUIRE(points.size() == 3 * 3);
  const std::vector<std::vector<std::string>> expected{{"4", "2"}, {"8", "4"}, {"16", "6"}};
  CHECK(fabric_points(points) == expected);
}

TEST_CASE("random sampling draws distinct grid points, the same for the same seed", "[tools][sweep]") {
  TempDir dir;
  const auto load = [&](int seed) {
    return Spec::load(write_spec(dir, "random" + std::to_string(seed), k_three_axes,
                                 "sampling: random\nsamples: 5\nseed: " + std::to_string(seed) + "\n"));
  };
  const auto spec1 = load(1);
  const auto points1 = expand(spec1, false);
  REQUIRE(points1.size() == 5 * 3);
  const auto fabric1 = fabric_points(points1);
  REQUIRE(fabric1.size() == 5);
  CHECK(std::set(fabric1.begin(), fabric1.end()).size() == 5);
  // Every drawn point is on the grid, and they come in grid order.
  std::vector<std::vector<std::string>> grid;
  for (const auto& lanes : spec1.axes[0].values) {
    for (const auto& stages : spec1.axes[1].values) {
      for (const auto& kib : spec1.axes[2].values) grid.push_back({lanes, stages, kib});
    }
  }
  std::vector<std::size_t> positions;
  for (const auto& f : fabric1) {
    const auto it = std::find(grid.begin(), grid.end(), f);
    REQUIRE(it != grid.end());
    positions.push_back(static_cast<std::size_t>(it - grid.begin()));
  }
  CHECK(std::is_sorted(positions.begin(), positions.end()));

  const auto again = fabric_points(expand(load(1), false));
  CHECK(again == fabric1);
  // 80730 ways to draw 5 of 27: another seed draws another set (the draw is deterministic, so
  // this holds for good once it holds).
  const auto other = fabric_points(expand(load(2), false));
  CHECK(other.size() == 5);
  CHECK(other != fabric1);
}

TEST_CASE("keys are 16 hex digits, unique, and stable between loads", "[tools][sweep]") {
  TempDir dir;
  const auto path = write_spec(dir, "keys", k_two_axes);
  const auto keys = keys_of(expand(Spec::load(path), false));
  const std::regex hex("[0-9a-f]{16}");
  for (const auto& k : keys) CHECK(std::regex_match(k, hex));
  CHECK(std::set(keys.begin(), keys.end()).size() == keys.size());
  CHECK(keys_of(expand(Spec::load(path), false)) == keys);
}

TEST_CASE("keys change with the arch file's contents and the method, not with file names", "[tools][sweep]") {
  TempDir dir;
  std::filesystem::copy_file(k_tiny, dir / "fabric.yaml");
  const auto spec_path = write_spec(dir, "keys", k_two_axes, "", (dir / "fabric.yaml").string());
  const auto keys = keys_of(expand(Spec::load(spec_path), false));

  SECTION("the same contents under another name: the same keys") {
    std::filesystem::copy_file(k_tiny, dir / "renamed.yaml");
    const auto renamed = write_spec(dir, "renamed_spec", k_two_axes, "", (dir / "renamed.yaml").string());
    CHECK(keys_of(expand(Spec::load(renamed), false)) == keys);
  }
  SECTION("an edited fabric: every key new") {
    auto text = core::read_text_file(dir / "fabric.yaml");
    const auto at = text.find("static_w: 1.0");
    REQUIRE(at != std::string::npos);
    text.replace(at, 13, "static_w: 2.0");
    core::write_text_file(dir / "fabric.yaml", text);
    const auto edited = keys_of(expand(Spec::load(spec_path), false));
    REQUIRE(edited.size() == keys.size());
    for (const auto& k : edited) CHECK(std::find(keys.begin(), keys.end(), k) == keys.end());
  }
  SECTION("--fast (the analytic method): every key new") {
    const auto fast = keys_of(expand(Spec::load(spec_path), true));
    REQUIRE(fast.size() == keys.size());
    for (const auto& k : fast) CHECK(std::find(keys.begin(), keys.end(), k) == keys.end());
  }
  SECTION("another seed: every key new") {
    const auto seeded = write_spec(dir, "seeded", k_two_axes, "seed: 9\n", (dir / "fabric.yaml").string());
    const auto other = keys_of(expand(Spec::load(seeded), false));
    REQUIRE(other.size() == keys.size());
    for (const auto& k : other) CHECK(std::find(keys.begin(), keys.end(), k) == keys.end());
  }
}

TEST_CASE("the header: identity columns, one per axis, then the kept results in table order", "[tools][sweep]") {
  TempDir dir;
  const auto all = header(Spec::load(write_spec(dir, "all", k_two_axes)));
  std::vector<std::string> expected{"key", "workload", "batch", "pcu.lanes", "pcu.stages", "method", "status", "error"};
  const auto& results = result_columns();
  CHECK(results.front() == "seconds");
  CHECK(results.back() == "wall_s");
  // A fabric sweep keeps by default every column but the serving ones.
  auto with_all = expected;
  for (const auto& c : results) {
    if (c != "ttft_s" && c != "itl_s" && c != "output_tok_s" && c != "throughput_tok_s" && c != "energy_per_token_j")
      with_all.push_back(c);
  }
  CHECK(all == with_all);

  // keep's own order does not matter.
  const auto kept = header(Spec::load(write_spec(dir, "kept", k_two_axes, "keep: [wall_s, area_mm2, seconds]\n")));
  expected.insert(expected.end(), {"seconds", "area_mm2", "wall_s"});
  CHECK(kept == expected);
}

TEST_CASE("a point's record: the analytic method has no energy", "[tools][sweep]") {
  TempDir dir;
  const auto spec = Spec::load(write_spec(dir, "fast", "  pcu.lanes: [4]\n"));
  const auto points = expand(spec, true);
  REQUIRE(points.size() == 3);
  const auto values = evaluate(spec, points[0], true);  // the mapper only: no SystemC here
  CHECK(values.at("energy_j").empty());
  CHECK(values.at("energy_per_sample_j").empty());
  CHECK(values.at("power_w").empty());
  CHECK(std::stod(values.at("seconds")) > 0);
  CHECK(std::stod(values.at("seconds_per_sample")) == Approx(std::stod(values.at("seconds")) / 2));
  CHECK(values.at("gpu").empty());  // no gpu in the spec
  const auto r = record(spec, points[0], true, values, "");
  const auto h = header(spec);
  REQUIRE(r.size() == h.size());
  const auto at = [&](const std::vector<std::string>& fields, const std::string& name) {
    return fields[static_cast<std::size_t>(std::find(h.begin(), h.end(), name) - h.begin())];
  };
  const auto column = [&](const std::string& name) { return at(r, name); };
  CHECK(column("key") == points[0].key);
  CHECK(column("method") == "analytic");
  CHECK(column("status") == "ok");
  CHECK(column("energy_j").empty());
  CHECK(!column("cycles").empty());

  const auto failed = record(spec, points[0], false, {}, "cannot map: too big");
  CHECK(at(failed, "method") == "sim");
  CHECK(at(failed, "status") == "error");
  CHECK(at(failed, "error") == "cannot map: too big");
  CHECK(failed.back().empty());
}

TEST_CASE("results.csv: appended records are there when it is opened again", "[tools][sweep]") {
  TempDir dir;
  const auto path = dir / "results.csv";
  const std::vector<std::string> h{"key", "value"};
  {
    ResultsFile file(path, h);
    CHECK(file.size() == 0);
    file.append(row("aaaa", "1"));
    file.append(row("bbbb", "two, with a comma"));
    file.append(row("aaaa", "again"));  // a key already there is not written again
    CHECK(file.contains("aaaa"));
    CHECK(file.size() == 2);
  }
  CHECK(core::read_text_file(path) == "key,value\naaaa,1\nbbbb,\"two, with a comma\"\n");
  ResultsFile again(path, h);
  CHECK(again.size() == 2);
  CHECK(again.contains("aaaa"));
  CHECK(again.contains("bbbb"));
  CHECK_FALSE(again.contains("cccc"));
  const auto table = read_results(path);
  CHECK(table.header == h);
  REQUIRE(table.rows.size() == 2);
  CHECK(table.rows[1] == row("bbbb", "two, with a comma"));
}

TEST_CASE("results.csv: a line torn by a kill is dropped and cut off", "[tools][sweep]") {
  TempDir dir;
  const auto path = dir / "results.csv";
  core::write_text_file(path, "key,value\naaaa,1\nbbbb,2\ncccc,\"half a fie");
  {
    ResultsFile file(path, {"key", "value"});
    CHECK(file.size() == 2);
    CHECK(file.contains("bbbb"));
    CHECK_FALSE(file.contains("cccc"));
    CHECK(core::read_text_file(path) == "key,value\naaaa,1\nbbbb,2\n");
    file.append(row("cccc", "3"));
  }
  CHECK(core::read_text_file(path) == "key,value\naaaa,1\nbbbb,2\ncccc,3\n");

  SECTION("a header torn before its end is written again") {
    core::write_text_file(path, "key,val");
    ResultsFile file(path, {"key", "value"});
    CHECK(file.size() == 0);
    CHECK(core::read_text_file(path) == "key,value\n");
  }
}

TEST_CASE("results.csv of another sweep is refused and left as it was", "[tools][sweep][errors]") {
  TempDir dir;
  const auto path = dir / "results.csv";
  const std::string text = "key,pcu.stages,status\naaaa,2,ok\nbbbb,4,ok\n";
  core::write_text_file(path, text);
  const std::vector<std::string> mine{"key", "pcu.lanes", "status"};
  const auto message = error_of([&] { ResultsFile file(path, mine); });
  CHECK_THAT(message, Contains(path.string() + ":1: was written by another sweep"));
  CHECK_THAT(message, Contains("pcu.stages only in it, pcu.lanes only in this sweep"));
  CHECK(core::read_text_file(path) == text);
  CHECK(error_of([&] { check_header(path, mine); }) == message);
  CHECK(core::read_text_file(path) == text);
  // The same columns in another order are another sweep too.
  CHECK_THAT(error_of([&] { check_header(path, {"pcu.stages", "key", "status"}); }), Contains("another order"));
  // What passes: the same header, a missing file, an empty one.
  CHECK_NOTHROW(check_header(path, {"key", "pcu.stages", "status"}));
  CHECK_NOTHROW(check_header(dir / "none.csv", mine));
  CHECK_FALSE(std::filesystem::exists(dir / "none.csv"));
  core::write_text_file(dir / "empty.csv", "");
  CHECK_NOTHROW(check_header(dir / "empty.csv", mine));
}

TEST_CASE("results.csv with a record of the wrong width is refused at its line", "[tools][sweep][errors]") {
  TempDir dir;
  const auto path = dir / "results.csv";
  core::write_text_file(path, "key,value\naaaa,1\nbbbb,2,3\n");
  CHECK(error_of([&] {
          ResultsFile file(path, {"key", "value"});
        }) == path.string() + ":3: has 3 fields, the header 2");
  CHECK(error_of([&] { (void)read_results(path); }) == path.string() + ":3: has 3 fields, the header 2");
}

TEST_CASE("sweep-merge joins shards, each key once, keeping what the target has", "[tools][sweep]") {
  TempDir dir;
  for (const auto* shard : {"a", "b", "out"}) std::filesystem::create_directory(dir / shard);
  core::write_text_file(dir / "a/results.csv", "key,value\naaaa,1\nbbbb,2\n");
  core::write_text_file(dir / "b/results.csv", "key,value\nbbbb,other\ncccc,3\n");
  core::write_text_file(dir / "out/results.csv", "key,value\nzzzz,0\naaaa,first\n");
  CHECK(merge_results(dir / "out", {dir / "a", dir / "b/results.csv", dir / "out"}) == 4);
  CHECK(core::read_text_file(dir / "out/results.csv") == "key,value\nzzzz,0\naaaa,first\nbbbb,2\ncccc,3\n");
  // Merging again changes nothing.
  CHECK(merge_results(dir / "out", {dir / "a", dir / "b"}) == 4);
  CHECK(core::read_text_file(dir / "out/results.csv") == "key,value\nzzzz,0\naaaa,first\nbbbb,2\ncccc,3\n");
}

TEST_CASE("sweep-merge refuses shards of different sweeps and folders without results", "[tools][sweep][errors]") {
  TempDir dir;
  for (const auto* shard : {"a", "b", "empty", "out"}) std::filesystem::create_directory(dir / shard);
  core::write_text_file(dir / "a/results.csv", "key,pcu.lanes\naaaa,4\n");
  core::write_text_file(dir / "b/results.csv", "key,pcu.stages\nbbbb,2\n");
  const auto message = error_of([&] { (void)merge_results(dir / "out", {dir / "a", dir / "b"}); });
  CHECK_THAT(message, StartsWith((dir / "b/results.csv").string() + ":1: its columns differ from"));
  CHECK_THAT(message, Contains("pcu.stages only in it, pcu.lanes only in"));
  CHECK_FALSE(std::filesystem::exists(dir / "out/results.csv"));
  CHECK(error_of([&] {
          (void)merge_results(dir / "out", {dir / "a", dir / "empty"});
        }) == (dir / "empty").string() + ": has no results.csv (expected a sweep's --out folder or its results.csv)");
  CHECK_FALSE(std::filesystem::exists(dir / "out/results.csv"));
}

TEST_CASE("CSV fields round-trip through quoting, with line breaks as spaces", "[tools][sweep][core]") {
  const std::vector<std::string> fields{"plain", "a, b",       "say \"hi\"", "",     "\"",
                                        ",",     "two\nlines", "cr\r\nlf",   "153.6"};
  const auto line = core::csv_line(fields);
  CHECK(line.find('\n') == std::string::npos);
  CHECK(line.find('\r') == std::string::npos);
  CHECK(core::csv_field("plain") == "plain");
  CHECK(core::csv_field("a, b") == "\"a, b\"");
  CHECK(core::csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(core::csv_field("two\nlines") == "\"two lines\"");
  auto expected = fields;
  expected[6] = "two lines";
  expected[7] = "cr  lf";
  CHECK(core::csv_fields(line) == expected);
  CHECK(core::csv_fields("a,b\r") == std::vector<std::string>{"a", "b"});
  CHECK(core::csv_fields("") == std::vector<std::string>{""});
}

TEST_CASE("a serving sweep: axes over a system's keys and its device's, LLMs served as static batches",
          "[tools][sweep]") {
  const auto spec = Spec::load(test::source_dir() / "configs/sweeps/serving.yaml");
  REQUIRE(spec.system.has_value());
  CHECK(spec.arch.empty());
  const auto points = expand(spec, true);
  REQUIRE(points.size() == 12);  // 2 x 2 system points x (two batches at tp 8, one at tp 4)
  CHECK(points[0].workload->label == "llama-3-8b (input_len=128, output_len=128, tp=8)");
  // A device key goes to the system's device.set list; a system key stays as it is.
  const auto overrides = system_overrides(points[0].sets(spec));
  REQUIRE(overrides.size() == 2);
  CHECK(overrides[0].path == "interconnect.link_bandwidth_gbps");
  CHECK(overrides[1].path == "device.set");
  CHECK(overrides[1].value == "[memory.tiers.0.bandwidth_gbps=1600]");
  // Twice the HBM bandwidth: a decode step streams each socket's weights in about half the time.
  const Point* slow = nullptr;
  const Point* fast = nullptr;
  for (const auto& p : points) {
    if (p.batch != 1 || p.workload != &spec.workloads.front() || p.values[1] != "64") continue;
    (p.values[0] == "1600" ? slow : fast) = &p;
  }
  REQUIRE(slow != nullptr);
  REQUIRE(fast != nullptr);
  const auto a = evaluate(spec, *slow, true);  // the mapper's analytic steps: no SystemC here
  const auto b = evaluate(spec, *fast, true);
  CHECK(std::stod(b.at("itl_s")) < 0.75 * std::stod(a.at("itl_s")));
  CHECK(std::stod(a.at("throughput_tok_s")) == Approx(256 / std::stod(a.at("seconds"))));
}
