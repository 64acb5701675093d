// libFuzzer target: arbitrary bytes as an ONNX model and as an ONNX tensor. A core::InputError
// is the expected answer to bad bytes; anything else (a crash, a sanitizer report, an internal
// error, bad_alloc) is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "graphs/import/onnx_import.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    (void)rdasim::graphs::parse_onnx_model(bytes, "fuzz.onnx");
  } catch (const rdasim::core::InputError&) {
  }
  return 0;
}
