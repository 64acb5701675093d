// Logger state and output.
#include "core/log.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>

namespace rdasim::core::log {
namespace {

Level initial_level() {
  Level lvl = Level::info;
  if (const char* env = std::getenv("RDASIM_LOG")) {
    if (!parse_level(env, lvl)) lvl = Level::info;
  }
  return lvl;
}

std::atomic<Level>& current() {
  static std::atomic<Level> value{initial_level()};
  return value;
}

}  // namespace

void set_level(Level lvl) { current().store(lvl); }
Level level() { return current().load(); }

bool parse_level(std::string_view text, Level& out) {
  if (text == "debug") out = Level::debug;
  else if (text == "info") out = Level::info;
  else if (text == "warn") out = Level::warn;
  else if (text == "error") out = Level::error;
  else if (text == "off") out = Level::off;
  else return false;
  return true;
}

void write(Level lvl, std::string_view message) {
  static constexpr const char* k_tags[] = {"debug", "info", "warning", "error"};
  const auto index = static_cast<std::size_t>(lvl);
  if (index >= std::size(k_tags)) return;
  fmt::print(stderr, "rdasim: {}: {}\n", k_tags[index], message);
}

}  // namespace rdasim::core::log
