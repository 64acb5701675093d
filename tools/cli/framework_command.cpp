// `rdasim framework`: serving frameworks (configs/frameworks/). `framework show NAME` validates
// one and prints its keys; `framework keys` documents the format.
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/json.h"
#include "sim/serve/framework.h"
#include "tools/cli/commands.h"

namespace rdasim::tools {

namespace {

struct FrameworkShowOptions {
  std::string name;
  bool json = false;
};

int run_show(const FrameworkShowOptions& opt) {
  const serve::Framework f = serve::load_framework(opt.name);
  const core::Json doc = f.to_json();
  if (opt.json) {
    fmt::print("{}", core::to_json_text(doc));
    return 0;
  }
  fmt::print("{}  ({})\n", f.name, f.source);
  if (!f.description.empty()) fmt::print("  {}\n", f.description);
  for (const auto& [key, value] : doc.items()) {
    if (key == "name" || key == "description" || key == "source") continue;
    fmt::print("  {:<20} {}\n", key, value.is_string() ? value.get<std::string>() : value.dump());
  }
  return 0;
}

}  // namespace

void add_framework_command(CLI::App& app, Runner& run) {
  auto* cmd =
      app.add_subcommand("framework", "Serving frameworks (sambaflow, trtllm, vllm, eager): validate, document");
  cmd->require_subcommand(1);
  add_keys_command(cmd, run, serve::Framework::schema(), "framework", "configs/frameworks/README.md");
  auto opt = std::make_shared<FrameworkShowOptions>();
  auto* show = cmd->add_subcommand("show",
                                   "Validate a framework and print its keys: launch, fusion, batching, KV "
                                   "cache, overheads");
  show->add_option("NAME", opt->name, "A shipped framework's name or a framework file (configs/frameworks/*.yaml)")
      ->required();
  show->add_flag("--json", opt->json, "Print JSON");
  show->callback([&run, opt] { run = [opt] { return run_show(*opt); }; });
}

}  // namespace rdasim::tools
