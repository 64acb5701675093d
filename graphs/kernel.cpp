// The non-template part of the kernel interface.
#include "graphs/kernel.h"

#include <cmath>

#include <fmt/format.h>

#include "core/error.h"

namespace rdasim::graphs {

template <class T>
std::vector<std::int64_t> KernelIO<T>::ints(std::size_t i) const {
  std::vector<std::int64_t> out;
  if (!has_input(i)) return out;
  out.reserve(in(i).size());
  for (T v : in(i).data) out.push_back(to_index(static_cast<double>(v)));
  return out;
}

template <class T>
void KernelIO<T>::fail(const std::string& message) const {
  throw core::InputError(core::Location("", 0, 0, m_op.name),
                         fmt::format("op '{}' ({}): {}", m_op.name, m_op.kind, message));
}

template class KernelIO<double>;
template class KernelIO<float>;

}  // namespace rdasim::graphs
