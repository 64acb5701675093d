// The requests a serving run answers: read from a CSV file (arrival_s,input_len,output_len and
// an optional model column) or drawn as a Poisson process with uniform lengths.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace rdasim::serve {

struct Request {
  double arrival_s = 0;
  std::int64_t input_len = 0;   ///< prompt tokens
  std::int64_t output_len = 0;  ///< generated tokens, the first one by the prefill
  std::string model;            ///< empty: the run's only model
};

/// Reads `arrival_s,input_len,output_len[,model]` with that header line. Throws core::InputError
/// at file:line for a missing or unknown column, a field that is not a number, a negative
/// arrival, lengths under 1, arrivals out of order, or a model not in `models` (when given).
[[nodiscard]] std::vector<Request> read_requests_csv(const std::filesystem::path& path,
                                                     const std::vector<std::string>& models = {});

/// A uniform integer range of lengths, both ends included.
struct LengthRange {
  std::int64_t lo = 128, hi = 1024;
};

/// `count` requests arriving as a Poisson process of `rate_per_s` (exponential gaps), lengths
/// uniform in their ranges, each for one of `models` drawn uniformly (none: the run's only
/// model). The same seed gives the same requests.
[[nodiscard]] std::vector<Request> poisson_requests(double rate_per_s, int count, LengthRange input, LengthRange output,
                                                    const std::vector<std::string>& models, std::uint64_t seed);

/// `batch` requests at time 0 with the same lengths: the static batch a benchmark measures.
[[nodiscard]] std::vector<Request> static_batch(int batch, std::int64_t input_len, std::int64_t output_len,
                                                const std::string& model = {});

}  // namespace rdasim::serve
