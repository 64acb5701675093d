// One sweep point, computed: the model mapped onto the point's fabric, then simulated (or, fast,
// the mapper's analytic estimate), then modelled on the GPU when the spec names one. Runs in the
// calling process, which must be a fresh worker (one SystemC elaboration per process).
#pragma once

#include <map>
#include <string>

#include "tools/sweep/spec.h"

namespace rdasim::tools::sweep {

/// Result column -> value as written in the CSV ("" where a value does not exist, such as
/// energy in the analytic method). Throws core::InputError for a bad point and
/// mapper::Infeasible when the fabric cannot hold the model.
using Values = std::map<std::string, std::string>;
[[nodiscard]] Values evaluate(const Spec& spec, const Point& point, bool fast);

/// The CSV record of a point: its identity, then status "ok" with `values`, or "error" with the
/// message and no values.
[[nodiscard]] std::vector<std::string> record(const Spec& spec, const Point& point, bool fast, const Values& values,
                                              const std::string& error);

}  // namespace rdasim::tools::sweep
