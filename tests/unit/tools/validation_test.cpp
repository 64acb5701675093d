// `rdasim validate`'s pieces (tools/pipeline/validation.h): measured rows read in both of
// shared/validation's layouts with located errors, names resolved or a row's reason given,
// errors summarized per system, verdicts paired, and calibration recovering a framework key
// from rows rdasim itself made with a known value. GPU systems only: their steps are formulas.
#include <cmath>
#include <fstream>

#include <catch2/catch.hpp>

#include "core/error.h"
#include "tests/test_paths.h"
#include "tools/pipeline/validation.h"

namespace rdasim::tools {
namespace {

std::filesystem::path write_file(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / ("rdasim_validation_test_" + name);
  std::ofstream(path) << text;
  return path;
}

NameTable names() { return NameTable::load_file(test::source_dir() / "configs/validation/names.yaml"); }

MeasuredRow h100_row(int count, int batch, std::int64_t length, double latency_s) {
  MeasuredRow r;
  r.file = "memory";
  r.hardware = "Nvidia H100 GPU";
  r.count = count;
  r.framework = "TensorRT-LLM";
  r.model = "meta-llama/Meta-Llama-3-8B";
  r.input_len = r.output_len = length;
  r.batch = batch;
  r.metric = "latency_s";
  r.measured_s = latency_s;
  return r;
}

}  // namespace

TEST_CASE("measured rows are read in both layouts of shared/validation", "[tools][validate]") {
  const auto bench = read_measured_csv(test::source_dir() / "configs/validation/llm-inference-bench.csv");
  CHECK(bench.size() == 164);
  CHECK(bench.front().hardware == "Nvidia A100 GPU");
  CHECK(bench.front().input_len == 128);
  CHECK(bench.front().output_len == 128);
  CHECK(bench.front().metric == "latency_s");
  CHECK(bench.front().measured_s == Approx(1.7810991406440735));
  const auto ttft = read_measured_csv(test::source_dir() / "configs/validation/llm-inference-bench-ttft.csv");
  REQUIRE(ttft.size() == 10);
  CHECK(ttft.front().metric == "ttft_s");
  CHECK(ttft.front().input_len == 1024);
  CHECK(ttft.front().output_len == 1);
  CHECK(ttft.front().batch == 16);
  // The GH200 row leaves its end latency out: read, that column empty.
  CHECK(ttft.back().values.back().empty());
}

TEST_CASE("a bad measured file is an error at its line", "[tools][validate]") {
  const auto no_shape = write_file("no_shape.csv", "hardware,count,framework,model,batch,latency_s\nx,1,y,z,1,2\n");
  CHECK_THROWS_WITH(read_measured_csv(no_shape), Catch::Contains("no_shape.csv:1") && Catch::Contains("no shape"));
  const auto bad = write_file("bad_batch.csv",
                              "hardware,count,framework,model,input_output_length,batch,latency_s\n"
                              "Nvidia H100 GPU,1,TensorRT-LLM,m,128,sixteen,1.0\n");
  CHECK_THROWS_WITH(read_measured_csv(bad),
                    Catch::Contains("bad_batch.csv:2") && Catch::Contains("batch is 'sixteen'"));
  const auto negative = write_file("negative.csv",
                                   "hardware,count,framework,model,input_output_length,batch,latency_s\n"
                                   "Nvidia H100 GPU,1,TensorRT-LLM,m,128,1,-1\n");
  CHECK_THROWS_WITH(read_measured_csv(negative), Catch::Contains("expected a time > 0"));
  const auto empty = write_file("empty.csv", "");
  CHECK_THROWS_AS(read_measured_csv(empty), core::InputError);
}

TEST_CASE("rows resolve through the name table, or say which name is missing", "[tools][validate]") {
  const NameTable table = names();
  MeasuredRow row = h100_row(2, 1, 128, 1.0);
  const ResolvedRow ok = resolve_row(row, table);
  CHECK(ok.reason.empty());
  CHECK(ok.model == "llama-3-8b");
  CHECK(ok.framework == "trtllm");
  CHECK(ok.devices == 2);
  CHECK(ok.system_label == "H100 x 2");
  row.hardware = "AMD MI300X GPU";
  CHECK_THAT(resolve_row(row, table).reason, Catch::Contains("no hardware 'AMD MI300X GPU'"));
  row = h100_row(1, 1, 128, 1.0);
  row.framework = "Deepspeed-MII";
  CHECK_THAT(resolve_row(row, table).reason, Catch::Contains("no framework 'Deepspeed-MII'"));
}

TEST_CASE("a row whose model config is missing is listed with the reason; the others run", "[tools][validate]") {
  NameTable table = names();
  table.models["example/Nowhere-1B"] = "no-such-model";
  std::vector<MeasuredRow> rows{h100_row(1, 1, 128, 1.0), h100_row(1, 1, 128, 1.0)};
  rows[1].model = "example/Nowhere-1B";
  StepMemos memos;
  const ValidateOptions options;
  time_steps(rows, table, options, memos);
  const auto results = predict_rows(rows, table, {}, options, memos);
  CHECK(results[0].ran());
  REQUIRE_FALSE(results[1].ran());
  CHECK_THAT(results[1].resolved.reason, Catch::Contains("no-such-model"));
}

TEST_CASE("errors per system and verdicts between systems", "[tools][validate]") {
  auto result = [](const std::string& label, double measured, double predicted) {
    RowResult r;
    r.row = h100_row(1, 1, 128, measured);
    r.resolved.system_label = label;
    r.resolved.framework = "trtllm";
    r.predicted_s = predicted;
    r.error = predicted / measured - 1;
    return r;
  };
  std::vector<RowResult> rows{result("H100 x 1", 1.0, 1.1), result("H100 x 2", 2.0, 1.0)};
  RowResult skipped = result("H100 x 2", 1.0, 1.0);
  skipped.resolved.reason = "no model";
  rows.push_back(skipped);
  const auto errors = system_errors(rows);
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].median_abs == Approx(0.1));
  CHECK(errors[1].rows == 1);
  CHECK(errors[1].not_run == 1);
  CHECK(errors[1].mean_signed == Approx(-0.5));
  // x1 measured faster (1 s vs 2 s), predicted slower (1.1 s vs 1 s): the pair disagrees.
  const auto pairs = verdicts(rows);
  REQUIRE(pairs.size() == 1);
  CHECK(pairs[0].measured_ratio == Approx(0.5));
  CHECK(pairs[0].predicted_ratio == Approx(1.1));
  CHECK_FALSE(pairs[0].agrees());
  CHECK(agreement(pairs) == 0);
  CHECK(median_ratio_error(pairs) == Approx(1.2));  // 1.1 against 0.5
}

TEST_CASE("calibration recovers a framework key from rows made with it", "[tools][validate]") {
  // rdasim's own predictions with step_overhead_us = 800 and rank_sync_us = 400 are the
  // "measurements"; fitting both from other starting values must find them again.
  const NameTable table = names();
  std::vector<MeasuredRow> rows{h100_row(1, 1, 128, 1), h100_row(1, 16, 256, 1), h100_row(2, 1, 128, 1),
                                h100_row(4, 16, 128, 1)};
  StepMemos memos;
  const std::vector<KeySetting> truth{{"trtllm", "step_overhead_us", 800}, {"trtllm", "rank_sync_us", 400}};
  const auto made = predict_rows(rows, table, truth, {}, memos);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    REQUIRE(made[i].ran());
    rows[i].measured_s = made[i].predicted_latency_s;
  }
  CalibrationSpec spec;
  spec.keys = {{"trtllm", "step_overhead_us", {0, 400, 800, 1200}, ""},
               {"trtllm", "rank_sync_us", {0, 200, 400, 600}, ""}};
  const auto fitted =
      fit_keys(probe_calibration(rows, table, spec, {}, memos), spec, [](const RowResult&) { return true; });
  REQUIRE(fitted.size() == 2);
  CHECK(fitted[0].value == 800);
  CHECK(fitted[1].value == 400);
  const auto check = predict_rows(rows, table, fitted, {}, memos);
  for (const auto& r : check) CHECK(std::abs(r.error) < 1e-9);
}

TEST_CASE("calibration fits only keys that add host time", "[tools][validate]") {
  const auto spec =
      write_file("calibration.yaml", "fit:\n  - framework: trtllm\n    key: kv_block_tokens\n    values: [16]\n");
  CHECK_THROWS_WITH(CalibrationSpec::load_file(spec),
                    Catch::Contains("calibration.yaml:3") && Catch::Contains("only adds host time"));
}

}  // namespace rdasim::tools
