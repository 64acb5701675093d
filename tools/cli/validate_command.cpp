// `rdasim validate`: predicts every measured serving row (configs/validation/*.csv, or the
// --measured files) with `rdasim serve` and reports how far off rdasim is: validation.csv (each
// row with its prediction and signed error), validation.md (per system, verdict agreement, the
// SN40L paper's ratios, and with --fit the calibration's in-sample and held-out error),
// validation.json, command.txt and two plots. Exits 0 when it ran; thresholds on the error are
// the test suite's (tests/validation/).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "core/files.h"
#include "core/json.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/text.h"
#include "tools/cli/commands.h"
#include "tools/pipeline/paper_checks.h"
#include "tools/pipeline/validation.h"

namespace rdasim::tools {

namespace {

struct ValidateCliOptions {
  std::vector<std::string> measured;
  std::string folder = "configs/validation";
  std::string names, checks, calibration;
  bool no_checks = false, fit = false, plots = true, json = false;
  int jobs = 2;
  int max_tokens = ValidateOptions{}.max_tokens;
  std::string out;
};

std::string percent(double x) { return fmt::format("{:+.1f}%", 100 * x); }
std::string abs_percent(double x) { return fmt::format("{:.1f}%", 100 * x); }

/// A fit of the calibration keys on one model's rows (or all), with its errors.
struct FitReport {
  std::string train;  ///< the model trained on, or "all rows"
  std::vector<KeySetting> settings;
  std::vector<SystemError> in_sample, held_out;
};

std::string markdown(const std::vector<RowResult>& results, const std::vector<SystemError>& errors,
                     const std::vector<Verdict>& pairs, const std::vector<PaperCheck>& checks,
                     const std::vector<FitReport>& fits, const CalibrationSpec& spec, const std::string& command) {
  std::string md = "# rdasim against measured LLM serving\n\n";
  md += fmt::format(
      "Made by `{}`. Each measured row is served as a static batch by `rdasim serve` on the system, "
      "model and framework configs/validation/names.yaml names; error = predicted / measured - 1 "
      "(positive: rdasim is slower than the hardware). Rows: configs/validation/README.md.\n\n",
      command);
  md +=
      "## Error per system\n\n| system | rows | not run | median abs error | largest abs error | mean signed error |\n"
      "|---|---|---|---|---|---|\n";
  for (const auto& e : errors) {
    md += fmt::format("| {} | {} | {} | {} | {} | {} |\n", e.system, e.rows, e.not_run,
                      e.rows > 0 ? abs_percent(e.median_abs) : "-", e.rows > 0 ? abs_percent(e.max_abs) : "-",
                      e.rows > 0 ? percent(e.mean_signed) : "-");
  }
  const auto agree = std::count_if(pairs.begin(), pairs.end(), [](const Verdict& v) { return v.agrees(); });
  md += fmt::format(
      "\n## Verdicts\n\nFor every shape (model, lengths, batch, measure) measured on two systems: "
      "does rdasim say the same one is faster? **{} of {} pairs agree ({:.1f}%)**; by how much: rdasim's "
      "ratio of the two times is off the measured ratio by a median {:.1f}%.\n\n",
      agree, pairs.size(), 100 * agreement(pairs), 100 * median_ratio_error(pairs));
  if (agree < static_cast<std::ptrdiff_t>(pairs.size())) {
    md +=
        "Pairs that disagree (time of the first over the second):\n\n| model | in / out | batch | first | second | "
        "measured | rdasim |\n|---|---|---|---|---|---|---|\n";
    for (const auto& v : pairs) {
      if (v.agrees()) continue;
      md += fmt::format("| {} | {} / {} | {} | {} | {} | {:.2f}x | {:.2f}x |\n", v.model, v.input_len, v.output_len,
                        v.batch, v.a, v.b, v.measured_ratio, v.predicted_ratio);
    }
  }
  if (!checks.empty()) {
    md +=
        "\n## The SN40L paper's figures (configs/validation/sn40l-paper.yaml)\n\n| check | published | rdasim | "
        "inside | from |\n|---|---|---|---|---|\n";
    for (const auto& c : checks) {
      const std::string published = c.published_lo == c.published_hi
                                        ? fmt::format("{:.3g}", c.published_lo)
                                        : fmt::format("{:.3g}-{:.3g}", c.published_lo, c.published_hi);
      md += fmt::format("| {} | {} | {:.3g} | {} | {} |\n", c.name, published, c.rdasim, c.inside() ? "yes" : "no",
                        c.detail);
    }
  }
  if (!fits.empty()) {
    md += fmt::format(
        "\n## Calibration ({})\n\nEvery combination of a framework's key values is tried; the one "
        "with the least mean |log(predicted / measured)| over the training rows is kept:\n\n",
        spec.source);
    for (const auto& k : spec.keys) md += fmt::format("- `{}` of {}: {}\n", k.key, k.framework, k.why);
    md += "\n| trained on | ";
    for (const auto& k : spec.keys) md += fmt::format("{} {} | ", k.framework, k.key);
    md += "\n|---|";
    for (std::size_t i = 0; i < spec.keys.size(); ++i) md += "---|";
    md += "\n";
    for (const auto& f : fits) {
      md += fmt::format("| {} | ", f.train);
      for (const auto& s : f.settings) md += fmt::format("{:g} | ", s.value);
      md += "\n";
    }
    md +=
        "\nMedian abs error per system, on the rows trained on (in sample) and on the others (held out):\n\n"
        "| trained on | system | rows in / held out | in sample | held out |\n|---|---|---|---|---|\n";
    for (const auto& f : fits) {
      for (const auto& e : errors) {
        auto find = [&e](const std::vector<SystemError>& list) {
          const auto it =
              std::find_if(list.begin(), list.end(), [&](const SystemError& x) { return x.system == e.system; });
          return it != list.end() && it->rows > 0 ? &*it : nullptr;
        };
        const SystemError* in = find(f.in_sample);
        const SystemError* out = find(f.held_out);
        if (in == nullptr && out == nullptr) continue;
        md +=
            fmt::format("| {} | {} | {} / {} | {} | {} |\n", f.train, e.system, in ? in->rows : 0, out ? out->rows : 0,
                        in ? abs_percent(in->median_abs) : "-", out ? abs_percent(out->median_abs) : "-");
      }
    }
  }
  std::vector<const RowResult*> skipped;
  for (const auto& r : results) {
    if (!r.ran()) skipped.push_back(&r);
  }
  if (!skipped.empty()) {
    md += "\n## Rows not run\n\n| row | hardware | framework | model | why |\n|---|---|---|---|---|\n";
    for (const auto* r : skipped) {
      md += fmt::format("| {}:{} | {} x {} | {} | {} | {} |\n", r->row.file, r->row.line, r->row.hardware, r->row.count,
                        r->row.framework, r->row.model, r->resolved.reason);
    }
  }
  md +=
      "\n## Every row\n\n| system | model | in / out | batch | measure | measured | rdasim | error |\n"
      "|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : results) {
    if (!r.ran()) continue;
    md += fmt::format("| {} | {} | {} / {} | {} | {} | {:.4g} s | {:.4g} s | {} |\n",
                      r.resolved.system_label + " " + r.resolved.framework, r.resolved.model, r.row.input_len,
                      r.row.output_len, r.row.batch, r.row.metric, r.row.measured_s, r.predicted_s, percent(r.error));
  }
  return md;
}

core::Json errors_json(const std::vector<SystemError>& errors) {
  core::Json list = core::Json::array();
  for (const auto& e : errors) {
    list.push_back({{"system", e.system},
                    {"rows", e.rows},
                    {"not_run", e.not_run},
                    {"median_abs_error", e.median_abs},
                    {"max_abs_error", e.max_abs},
                    {"mean_signed_error", e.mean_signed}});
  }
  return list;
}

std::string command_line(const ValidateCliOptions& opt) {
  std::string cmd = "rdasim validate";
  for (const auto& m : opt.measured) cmd += " --measured " + m;
  if (opt.fit) cmd += " --fit";
  if (opt.no_checks) cmd += " --no-checks";
  if (opt.max_tokens != ValidateOptions{}.max_tokens) cmd += fmt::format(" --max-tokens {}", opt.max_tokens);
  if (!opt.out.empty()) cmd += " --out " + opt.out;
  return cmd;
}

int run_validate(const ValidateCliOptions& opt) {
  const auto start = std::chrono::steady_clock::now();
  // Outside a checkout the default folder is the installed copy (README "Installing").
  std::filesystem::path folder = opt.folder;
  if (!std::filesystem::is_directory(folder) && opt.folder == ValidateCliOptions{}.folder)
    folder = core::data_dir() / "validation";
  if (!std::filesystem::is_directory(folder))
    throw core::InputError(core::Location(opt.folder),
                           "--folder: no such folder (expected one like configs/validation)");
  ValidateOptions options;
  if (opt.measured.empty()) {
    for (const auto& entry : std::filesystem::directory_iterator(folder)) {
      if (entry.path().extension() == ".csv") options.measured.push_back(entry.path());
    }
    std::sort(options.measured.begin(), options.measured.end());
  } else {
    for (const auto& m : opt.measured) options.measured.emplace_back(m);
  }
  options.names = opt.names.empty() ? folder / "names.yaml" : std::filesystem::path(opt.names);
  options.jobs = opt.jobs;
  options.max_tokens = opt.max_tokens;
  options.log = true;
  const NameTable names = NameTable::load_file(options.names);
  std::vector<MeasuredRow> rows;
  for (const auto& file : options.measured) {
    auto more = read_measured_csv(file);
    rows.insert(rows.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  }
  std::vector<PaperCheck> checks;
  if (!opt.no_checks) {
    checks = load_paper_checks(opt.checks.empty() ? folder / "sn40l-paper.yaml" : std::filesystem::path(opt.checks));
  }
  CalibrationSpec spec;
  if (opt.fit) {
    spec = CalibrationSpec::load_file(opt.calibration.empty() ? folder / "calibration.yaml"
                                                              : std::filesystem::path(opt.calibration));
  }
  const auto dir = opt.out.empty() ? std::filesystem::path() : prepare_out_dir(opt.out);

  core::log::info("{} measured rows from {} file(s)", rows.size(), options.measured.size());
  StepMemos memos;
  time_steps(rows, names, options, memos);
  const std::vector<RowResult> results = predict_rows(rows, names, {}, options, memos);
  const auto errors = system_errors(results);
  const auto pairs = verdicts(results);
  if (!checks.empty()) {
    core::log::info("the SN40L paper's {} checks", checks.size());
    run_paper_checks(checks, opt.jobs, opt.max_tokens);
  }

  std::vector<FitReport> fits;
  if (opt.fit) {
    std::vector<std::string> models;
    for (const auto& r : results) {
      if (r.ran() && std::find(models.begin(), models.end(), r.row.model) == models.end()) {
        models.push_back(r.row.model);
      }
    }
    models.emplace_back();  // all rows
    const CalibrationProbe probe = probe_calibration(rows, names, spec, options, memos);
    for (const auto& model : models) {
      auto train = [&model](const RowResult& r) { return model.empty() || r.row.model == model; };
      core::log::info("fitting {} key(s) on {}", spec.keys.size(), model.empty() ? "all rows" : model);
      FitReport f;
      f.train = model.empty() ? "all rows" : model;
      f.settings = fit_keys(probe, spec, train);
      const auto fitted = predict_rows(rows, names, f.settings, options, memos);
      std::vector<RowResult> in, out;
      for (const auto& r : fitted) (train(r) ? in : out).push_back(r);
      f.in_sample = system_errors(in);
      f.held_out = system_errors(out);
      fits.push_back(std::move(f));
    }
  }

  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  core::Json doc{{"command", command_line(opt)}, {"wall_s", wall}, {"systems", errors_json(errors)}};
  core::Json pair_list = core::Json::array();
  for (const auto& v : pairs) {
    pair_list.push_back({{"model", v.model},
                         {"metric", v.metric},
                         {"input_len", v.input_len},
                         {"output_len", v.output_len},
                         {"batch", v.batch},
                         {"a", v.a},
                         {"b", v.b},
                         {"measured_ratio", v.measured_ratio},
                         {"predicted_ratio", v.predicted_ratio},
                         {"agrees", v.agrees()}});
  }
  const auto agree = std::count_if(pairs.begin(), pairs.end(), [](const Verdict& v) { return v.agrees(); });
  doc["verdicts"] = {{"pairs", pairs.size()},
                     {"agree", agree},
                     {"agreement", agreement(pairs)},
                     {"median_ratio_error", median_ratio_error(pairs)},
                     {"list", pair_list}};
  core::Json check_list = core::Json::array();
  for (const auto& c : checks) check_list.push_back(to_json(c));
  doc["paper_checks"] = check_list;
  core::Json row_list = core::Json::array();
  for (const auto& r : results) row_list.push_back(to_json(r));
  doc["rows"] = row_list;
  if (!fits.empty()) {
    core::Json fit_list = core::Json::array();
    for (const auto& f : fits) {
      core::Json settings = core::Json::array();
      for (const auto& s : f.settings)
        settings.push_back({{"framework", s.framework}, {"key", s.key}, {"value", s.value}});
      fit_list.push_back({{"train", f.train},
                          {"settings", settings},
                          {"in_sample", errors_json(f.in_sample)},
                          {"held_out", errors_json(f.held_out)}});
    }
    doc["calibration"] = fit_list;
  }

  if (!dir.empty()) {
    const std::string command = command_line(opt);
    core::write_text_file(dir / "validation.csv", validation_csv(results));
    core::write_text_file(dir / "validation.md", markdown(results, errors, pairs, checks, fits, spec, command));
    core::write_json_file(dir / "validation.json", doc);
    core::write_text_file(dir / "command.txt", command + "\n");
    core::log::info("wrote validation.csv, validation.md, validation.json and command.txt in {}", dir.string());
    if (opt.plots) draw_plots("validation.py", dir);
  }
  if (opt.json) {
    fmt::print("{}", core::to_json_text(doc));
    return 0;
  }
  fmt::print("{:<28} {:>5} {:>8} {:>11} {:>12} {:>12}\n", "system", "rows", "not run", "median |e|", "largest |e|",
             "mean signed");
  for (const auto& e : errors) {
    fmt::print("{:<28} {:>5} {:>8} {:>11} {:>12} {:>12}\n", e.system, e.rows, e.not_run,
               e.rows > 0 ? abs_percent(e.median_abs) : "-", e.rows > 0 ? abs_percent(e.max_abs) : "-",
               e.rows > 0 ? percent(e.mean_signed) : "-");
  }
  fmt::print(
      "verdicts: {} of {} pairs of systems on the same shape agree on which is faster ({:.1f}%); the ratio of their "
      "times is off the "
      "measured one by a median {:.1f}%\n",
      agree, pairs.size(), 100 * agreement(pairs), 100 * median_ratio_error(pairs));
  for (const auto& c : checks) {
    fmt::print("paper: {:<44} published {:.3g}-{:.3g}, rdasim {:.3g}{}\n", c.name, c.published_lo, c.published_hi,
               c.rdasim, c.inside() ? "" : " (outside)");
  }
  for (const auto& f : fits) {
    std::string keys;
    for (const auto& s : f.settings) keys += fmt::format(" {}.{}={:g}", s.framework, s.key, s.value);
    fmt::print("fit on {}:{}\n", f.train, keys);
  }
  fmt::print("{:.1f} s wall{}\n", wall, dir.empty() ? "" : fmt::format("; details in {}/validation.md", dir.string()));
  return 0;
}

}  // namespace

void add_validate_command(CLI::App& app, Runner& run) {
  auto opt = std::make_shared<ValidateCliOptions>();
  auto* cmd = app.add_subcommand(
      "validate",
      "Predict measured LLM serving rows (Argonne's LLM-Inference-Bench: SN40L x 8, A100 and H100 x 1-4; "
      "configs/validation/) with `rdasim serve` and report the error per system, whether rdasim picks the same faster "
      "system as the measurements, the SN40L paper's same-chip ratios next to rdasim's, and with --fit the "
      "calibration of the frameworks' overhead keys with its held-out error. Exits 0 when it ran");
  cmd->add_option("--measured", opt->measured,
                  "Measured rows (CSV with the columns of configs/validation/*.csv); repeatable; replaces the default "
                  "set configs/validation/*.csv")
      ->type_name("FILE.csv")
      ->check(CLI::ExistingFile);
  cmd->add_option("--folder", opt->folder,
                  "Where the default measured rows, name table, paper checks and calibration keys are (outside a "
                  "checkout, when the default is not there: the installed copy in rdasim's data folder)")
      ->type_name("DIR")
      ->capture_default_str();
  cmd->add_option("--names", opt->names,
                  "The name table from a row's hardware, model and framework to rdasim's (default "
                  "configs/validation/names.yaml)")
      ->type_name("FILE");
  auto* checks = cmd->add_option("--checks", opt->checks,
                                 "The paper's figures to check (default configs/validation/sn40l-paper.yaml)")
                     ->type_name("FILE");
  cmd->add_flag("--no-checks", opt->no_checks, "Skip the paper's figures")->excludes(checks);
  auto* fit = cmd->add_flag("--fit", opt->fit,
                            "Fit the calibration keys on each model's rows (predicting the others: held-out error) "
                            "and on all rows, and report both");
  cmd->add_option("--calibration", opt->calibration,
                  "With --fit: the keys and their values to try (default configs/validation/calibration.yaml)")
      ->type_name("FILE")
      ->needs(fit);
  cmd->add_option("-j,--jobs", opt->jobs,
                  "Steps timed at once, each share in a worker process (the rows' distinct steps, the costliest "
                  "first; results do not depend on it)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  cmd->add_option("--max-tokens", opt->max_tokens,
                  "The simulator's tokens per section at most (as `rdasim serve --max-tokens`, whose default is "
                  "2048): a longer section's chunk doubles")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--out", opt->out,
                  "Folder for validation.csv, validation.md, validation.json, command.txt and the "
                  "plots")
      ->type_name("DIR");
  cmd->add_flag("!--no-plots", opt->plots, "With --out: skip the plots");
  cmd->add_flag("--json", opt->json, "Print validation.json instead of the summary");
  cmd->callback([opt, &run]() { run = [opt]() { return run_validate(*opt); }; });
}

}  // namespace rdasim::tools
