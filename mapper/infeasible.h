// mapper::Infeasible: a well-formed request the fabric cannot hold (an op too large for its
// region, more applications than room). Not bad input, so not core::InputError: the CLI reports
// every reason and exits with status 1.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace rdasim::mapper {

class Infeasible : public std::runtime_error {
 public:
  Infeasible(const std::string& summary, std::vector<std::string> reasons)
      : std::runtime_error(summary),
        m_reasons(std::move(reasons)) {}
  /// One line per failing op or application: "op conv17 (Conv): needs ..., the region has ...".
  [[nodiscard]] const std::vector<std::string>& reasons() const noexcept { return m_reasons; }

 private:
  std::vector<std::string> m_reasons;
};

}  // namespace rdasim::mapper
