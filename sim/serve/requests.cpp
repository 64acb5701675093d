#include "sim/serve/requests.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>

#include <fmt/format.h>

#include "core/csv.h"
#include "core/error.h"
#include "core/random.h"
#include "core/text.h"

namespace rdasim::serve {

namespace {

const std::vector<std::string>& known_columns() {
  static const std::vector<std::string> columns{"arrival_s", "input_len", "output_len", "model"};
  return columns;
}

class CsvReader {
 public:
  explicit CsvReader(std::string file) : m_file(std::move(file)) {}
  [[noreturn]] void fail(int line, const std::string& message) const {
    throw core::InputError(core::Location(m_file, line), message);
  }
  double number(int line, const std::string& column, const std::string& text) const {
    double value = 0;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(value)) {
      fail(line, fmt::format("{} is '{}'; expected a number", column, core::printable(text)));
    }
    return value;
  }
  std::int64_t length(int line, const std::string& column, const std::string& text) const {
    const double value = number(line, column, text);
    if (value < 1 || value != std::floor(value) || value > 1e9) {
      fail(line, fmt::format("{} is '{}'; expected a whole number of tokens >= 1", column, core::printable(text)));
    }
    return static_cast<std::int64_t>(value);
  }

 private:
  std::string m_file;
};

}  // namespace

std::vector<Request> read_requests_csv(const std::filesystem::path& path, const std::vector<std::string>& models) {
  std::ifstream in(path);
  if (!in) throw core::InputError(core::Location(path.string()), "cannot open the requests file");
  const CsvReader reader(path.string());
  std::string text;
  int line = 0;
  std::vector<int> index(known_columns().size(), -1);  // column of each known field
  std::vector<Request> requests;
  while (std::getline(in, text)) {
    ++line;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.empty() || text.front() == '#') continue;
    const auto fields = core::csv_fields(text);
    if (index.front() < 0 && index[1] < 0) {  // the header
      for (std::size_t c = 0; c < fields.size(); ++c) {
        const auto known = std::find(known_columns().begin(), known_columns().end(), fields[c]);
        if (known == known_columns().end()) {
          reader.fail(line, fmt::format("unknown column '{}'{}; expected arrival_s,input_len,output_len and "
                                        "optionally model",
                                        core::printable(fields[c]), core::did_you_mean(fields[c], known_columns())));
        }
        index[static_cast<std::size_t>(known - known_columns().begin())] = static_cast<int>(c);
      }
      for (std::size_t k = 0; k < 3; ++k) {
        if (index[k] < 0) reader.fail(line, fmt::format("the header has no '{}' column", known_columns()[k]));
      }
      continue;
    }
    if (fields.size() !=
        static_cast<std::size_t>(std::count_if(index.begin(), index.end(), [](int i) { return i >= 0; }))) {
      reader.fail(line, fmt::format("{} fields; the header has {}", fields.size(),
                                    std::count_if(index.begin(), index.end(), [](int i) { return i >= 0; })));
    }
    Request r;
    r.arrival_s = reader.number(line, "arrival_s", fields[static_cast<std::size_t>(index[0])]);
    if (r.arrival_s < 0) reader.fail(line, fmt::format("arrival_s is {}; expected >= 0", r.arrival_s));
    if (!requests.empty() && r.arrival_s < requests.back().arrival_s) {
      reader.fail(line, fmt::format("arrival_s {} is before the previous request's {}; expected rows in arrival order",
                                    r.arrival_s, requests.back().arrival_s));
    }
    r.input_len = reader.length(line, "input_len", fields[static_cast<std::size_t>(index[1])]);
    r.output_len = reader.length(line, "output_len", fields[static_cast<std::size_t>(index[2])]);
    if (index[3] >= 0) {
      r.model = fields[static_cast<std::size_t>(index[3])];
      if (!models.empty() && std::find(models.begin(), models.end(), r.model) == models.end()) {
        reader.fail(line, fmt::format("model '{}' is not one of --models {}{}", core::printable(r.model),
                                      core::quoted_list(models), core::did_you_mean(r.model, models)));
      }
    }
    requests.push_back(std::move(r));
  }
  if (index.front() < 0) {
    throw core::InputError(core::Location(path.string()),
                           "is empty; expected a header arrival_s,input_len,output_len[,model] and a row per request");
  }
  if (requests.empty()) throw core::InputError(core::Location(path.string()), "has a header but no request");
  return requests;
}

std::vector<Request> poisson_requests(double rate_per_s, int count, LengthRange input, LengthRange output,
                                      const std::vector<std::string>& models, std::uint64_t seed) {
  core::SplitMix64 rng(seed);
  auto draw = [&](LengthRange r) {
    return r.lo + static_cast<std::int64_t>(rng.uniform() * static_cast<double>(r.hi - r.lo + 1));
  };
  std::vector<Request> requests;
  double t = 0;
  for (int i = 0; i < count; ++i) {
    t += -std::log(1.0 - rng.uniform()) / rate_per_s;  // exponential gap
    Request r;
    r.arrival_s = t;
    r.input_len = draw(input);
    r.output_len = draw(output);
    if (!models.empty()) r.model = models[static_cast<std::size_t>(rng.uniform() * static_cast<double>(models.size()))];
    requests.push_back(std::move(r));
  }
  return requests;
}

std::vector<Request> static_batch(int batch, std::int64_t input_len, std::int64_t output_len,
                                  const std::string& model) {
  return std::vector<Request>(static_cast<std::size_t>(batch), Request{0, input_len, output_len, model});
}

}  // namespace rdasim::serve
